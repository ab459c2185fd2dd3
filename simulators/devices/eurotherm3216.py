"""Eurotherm 3216 (3200 series) kiln controller, as its manual HA028651 §15 reads.

Sources: HA028651 Issue 7 §15.5 "Parameter Modbus Addresses" (addresses 1-25, StAt 75 bits);
the Series 2000 communications handbook HA026230 §5.1 (reads of unconfigured parameters
answer an undefined value) and §7.5 (time parameters are 32-bit integer milliseconds in the
IEEE area); the community minimalmodbus 3200 driver (eurotherm3200.py: SP1 24, SP2 25, error
39, L-R 276, ramp units 531 = 0 per minute / 1 per hour / 2 per second, time parameters read
as a long at 0x8000 + 2·addr in ms) and a minimalmodbus 3216 script reading SP.HI 111 and
SP.LO 112 with the display's decimals.

Integer registers follow the controller's configured resolution (`decimals`: 0 whole
degrees, 1 tenths as shipped, 2 hundredths): 850.0 °C reads 8500 with one decimal, 850 with
none. Every parameter is mirrored at 0x8000 + 2·addr, high word first: IEEE float32 for
values, a 32-bit integer number of milliseconds for time parameters (Ti 8, Td 9). The
controller runs its own PID on a KilnModel with a setpoint rate limit.

Choices where the sources leave room (the drivers mirror them):

* Parameters in the PV's units follow `decimals` (PV, setpoints, alarms, SP.HI/SP.LO, LOC.T,
  error, SP.RAT); outputs (%) and PB keep one decimal, Ti/Td are whole seconds.
* SP.RAT (35) is per RAMP.U (531: 0 minute as shipped, 1 hour, 2 second); 0 = off.
* Setpoints (TG.SP, SP1, SP2, Rm.SP) outside SP.LO..SP.HI (112/111) are refused with
  exception 3, not clamped. Active setpoint: Rm.SP + LOC.T (27) when L-R (276) = 1, else
  TG.SP (2), which is SP1 or SP2 as SP.SEL (15) picks.
* Remote setpoint timeout: in remote, no Rm.SP write for `remote_sp_timeout_s` (5 s, as
  third-party summaries of HA028651 give it; counted in real time on a sped-up plant, as
  the unit's comms watchdog counts its own clock: `timebase.comms_timeout`) and the
  controller falls back
  to its local setpoint (TG.SP) and sets StAt b14 (remote SP fail); L-R stays 1, and the
  next Rm.SP write returns it to the remote setpoint and clears b14.
* StAt (75): b0 alarm 1 (PV above A1, latched until AC.ALL (274) once PV is back under),
  b4 manual, b5 sensor break (PV then reads the range high limit, 1372.0 °C for type K,
  and the output is 0), b10 PV over-range (true PV above the range by more than 5 % of the
  span, as the manual defines it), b14 remote SP fail.
* A block read across addresses the unit lacks answers 0 for them (the handbook's
  "undefined value"); a read touching none of its parameters answers exception 2.
  Writes to read-only parameters and out-of-range values answer exception 3; unknown
  addresses exception 2. FC06 into the IEEE region answers exception 3 (a value needs both
  its registers, FC16).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulators.device import SlaveException
from simulators.devices.kiln_device import ControllerDevice
from simulators.devices.registers import (
    check_range,
    float32_words,
    int16_word,
    uint32_words,
    word_int16,
    words_float32,
)
from simulators.timebase import comms_timeout

FLOAT_BASE = 0x8000

PV_IN = 1
TG_SP = 2
MAN_OP = 3
WRK_OP = 4
WKG_SP = 5
PB = 6
CTRL_A = 7
TI = 8
TD = 9
A1 = 13
A2 = 14
SP_SEL = 15
T_STAT = 23
SP1 = 24
SP2 = 25
RM_SP = 26
LOC_T = 27
OP_HI = 30
OP_LO = 31
SP_RAT = 35
ERROR = 39
STAT = 75
SP_HI = 111
SP_LO = 112
A_M = 273
AC_ALL = 274
L_R = 276
RAMP_U = 531

ST_ALARM1 = 1 << 0
ST_MANUAL = 1 << 4
ST_SENSOR_BREAK = 1 << 5
ST_OVER_RANGE = 1 << 10
ST_REMOTE_SP_FAIL = 1 << 14

OVER_RANGE_SPAN = 0.05
"""StAt b10: PV over-range "by > 5% of span" (HA028651 §15.5, address 75)."""
RAMP_UNIT_S = (60.0, 3600.0, 1.0)
"""Seconds per RAMP.U unit: 0 minute, 1 hour, 2 second."""


@dataclass(frozen=True)
class _Param:
    kind: str
    """"temp" (PV units: follows the decimal point), "pct1" (one decimal), "time" (whole
    seconds; ms in the IEEE area), "int" (plain integer)."""
    writable: bool


PARAMS: dict[int, _Param] = {
    PV_IN: _Param("temp", False),
    TG_SP: _Param("temp", True),
    MAN_OP: _Param("pct1", True),
    WRK_OP: _Param("pct1", False),
    WKG_SP: _Param("temp", False),
    PB: _Param("pct1", True),
    CTRL_A: _Param("int", True),
    TI: _Param("time", True),
    TD: _Param("time", True),
    A1: _Param("temp", True),
    A2: _Param("temp", True),
    SP_SEL: _Param("int", True),
    T_STAT: _Param("int", True),
    SP1: _Param("temp", True),
    SP2: _Param("temp", True),
    RM_SP: _Param("temp", True),
    LOC_T: _Param("temp", True),
    OP_HI: _Param("pct1", True),
    OP_LO: _Param("pct1", True),
    SP_RAT: _Param("temp", True),
    ERROR: _Param("temp", False),
    STAT: _Param("int", False),
    SP_HI: _Param("temp", True),
    SP_LO: _Param("temp", True),
    A_M: _Param("int", True),
    AC_ALL: _Param("int", True),
    L_R: _Param("int", True),
    RAMP_U: _Param("int", True),
}
"""The parameters this simulation answers, by Modbus address."""


class Eurotherm3216(ControllerDevice):
    """A simulated Eurotherm 3216 on a simulated kiln."""

    def __init__(
        self,
        unit: int = 1,
        *,
        decimals: int = 1,
        remote_sp_timeout_s: float = 5.0,
        sp_hi_c: float | None = None,
        sp_lo_c: float | None = None,
        **controller_args: Any,
    ) -> None:
        """`decimals`: the configured resolution (0, 1 or 2 places); `sp_hi_c`/`sp_lo_c`:
        setpoint limits SP.HI/SP.LO (default the input range); `controller_args`: time_fn,
        seed, params, gains, range_lo_c, range_hi_c (-200 / 1372 °C, type K), alarm1_c and
        KilnParams fields (see ControllerDevice). ValueError for decimals outside 0..2."""
        super().__init__(unit, **controller_args)
        if decimals not in (0, 1, 2):
            raise ValueError(f"decimals must be 0, 1 or 2, got {decimals!r}")
        self.scale = 10.0**decimals
        self.remote_sp_timeout_s = remote_sp_timeout_s
        self.sp_hi_c = self.range_hi_c if sp_hi_c is None else sp_hi_c
        self.sp_lo_c = self.range_lo_c if sp_lo_c is None else sp_lo_c
        start = min(self.sp_hi_c, max(self.sp_lo_c, self.kiln.chamber_c))
        self.sp_c = [start, start]  # SP1, SP2; TG.SP is the one SP.SEL picks
        self.sp_sel = 0
        self.rm_sp_c = start
        self.local_trim_c = 0.0
        self.remote = False
        self.fallback = False
        """Remote selected, but the remote setpoint timed out: regulating to TG.SP."""
        self.alarm2_c = 0.0
        self.t_stat = 0
        self.direct_acting = 0
        self.sp_rate = 0.0
        self.ramp_units = 0
        self._alarm1_latched = False
        self._last_remote_write = self.time_fn()
        self.loop.set_target(start)

    # -- derived state --------------------------------------------------------------------

    @property
    def tg_sp_c(self) -> float:
        """TG.SP: the local setpoint in use (SP1 or SP2)."""
        return self.sp_c[self.sp_sel]

    def _true_pv(self) -> float | None:
        return self.kiln.measured_c()

    def _active_sp(self) -> float:
        if self.remote and not self.fallback:
            return self.rm_sp_c + self.local_trim_c
        return self.tg_sp_c

    def _sync(self) -> None:
        # The remote setpoint times out at a definite instant: run the loop up to it on the
        # remote setpoint, then on the local one (reads may come long after).
        deadline = self._last_remote_write + comms_timeout(self.time_fn, self.remote_sp_timeout_s)
        if self.remote and not self.fallback and self.time_fn() > deadline:
            self.loop.advance_to(deadline)
            self.fallback = True
            self.loop.target_sp_c = self.tg_sp_c
            if self.loop.rate_c_per_s <= 0:
                self.loop.working_sp_c = self.tg_sp_c
        super()._sync()

    def status_word(self) -> int:
        """StAt (75) as the controller reports it now."""
        pv = self._true_pv()
        word = 0
        if pv is not None and pv > self.alarm1_c:
            self._alarm1_latched = True
        if self._alarm1_latched:
            word |= ST_ALARM1
        if self.loop.manual:
            word |= ST_MANUAL
        if pv is None:
            word |= ST_SENSOR_BREAK
        elif pv > self.range_hi_c + OVER_RANGE_SPAN * (self.range_hi_c - self.range_lo_c):
            word |= ST_OVER_RANGE
        if self.fallback:
            word |= ST_REMOTE_SP_FAIL
        return word

    def _value(self, address: int) -> float:
        loop = self.loop
        gains = loop.pid.gains
        getters: dict[int, Callable[[], float]] = {
            PV_IN: self.pv_c,
            TG_SP: lambda: self.tg_sp_c,
            MAN_OP: lambda: loop.manual_output_pct,
            WRK_OP: lambda: loop.output_pct,
            WKG_SP: lambda: loop.working_sp_c,
            PB: lambda: 100.0 / gains.kp,
            CTRL_A: lambda: self.direct_acting,
            TI: lambda: gains.ti_s,
            TD: lambda: gains.td_s,
            A1: lambda: self.alarm1_c,
            A2: lambda: self.alarm2_c,
            SP_SEL: lambda: self.sp_sel,
            T_STAT: lambda: self.t_stat,
            SP1: lambda: self.sp_c[0],
            SP2: lambda: self.sp_c[1],
            RM_SP: lambda: self.rm_sp_c,
            LOC_T: lambda: self.local_trim_c,
            OP_HI: lambda: gains.out_max_pct,
            OP_LO: lambda: gains.out_min_pct,
            SP_RAT: lambda: self.sp_rate,
            ERROR: lambda: self.pv_c() - loop.working_sp_c,
            STAT: lambda: self.status_word(),
            SP_HI: lambda: self.sp_hi_c,
            SP_LO: lambda: self.sp_lo_c,
            A_M: lambda: 1.0 if loop.manual else 0.0,
            AC_ALL: lambda: 0.0,
            L_R: lambda: 1.0 if self.remote else 0.0,
            RAMP_U: lambda: self.ramp_units,
        }
        return getters[address]()

    def _int_scale(self, spec: _Param) -> float:
        return {"temp": self.scale, "pct1": 10.0}.get(spec.kind, 1.0)

    # -- register access ------------------------------------------------------------------

    def read_holding(self, address: int, count: int) -> list[int]:
        span = range(address, address + count)
        if address < FLOAT_BASE and not any(a in PARAMS for a in span):
            raise SlaveException(2)
        return super().read_holding(address, count)

    def _read_word(self, address: int) -> int:
        if address >= FLOAT_BASE:
            param, half = divmod(address - FLOAT_BASE, 2)
            spec = PARAMS.get(param)
            if spec is None:
                raise SlaveException(2)
            if spec.kind == "time":
                return uint32_words(self._value(param), 1000.0)[half]
            return float32_words(self._value(param))[half]
        spec = PARAMS.get(address)
        if spec is None:
            return 0  # inside a block read: the handbook's "undefined value"
        if address == STAT:
            return self.status_word() & 0xFFFF
        return int16_word(self._value(address), self._int_scale(spec))

    def write_register(self, address: int, value: int) -> None:
        if address >= FLOAT_BASE:
            # A float needs both its registers (FC16); a lone word is refused.
            raise SlaveException(3 if (address - FLOAT_BASE) // 2 in PARAMS else 2)
        spec = PARAMS.get(address)
        if spec is None:
            raise SlaveException(2)
        self._sync()
        self._set(address, word_int16(value) / self._int_scale(spec))

    def write_registers(self, address: int, values: list[int]) -> None:
        if address < FLOAT_BASE:
            super().write_registers(address, values)
            return
        offset = address - FLOAT_BASE
        if offset % 2 or len(values) % 2:
            raise SlaveException(3)
        params = [offset // 2 + i for i in range(len(values) // 2)]
        if any(p not in PARAMS for p in params):
            raise SlaveException(2)
        self._sync()
        for i, param in enumerate(params):
            hi, lo = values[2 * i], values[2 * i + 1]
            if PARAMS[param].kind == "time":
                self._set(param, ((hi << 16) | lo) / 1000.0)
            else:
                self._set(param, words_float32(hi, lo))

    def _setpoint(self, value: float) -> float:
        return check_range(value, self.sp_lo_c, self.sp_hi_c)

    def _set(self, address: int, value: float) -> None:
        if not PARAMS[address].writable or math.isnan(value):
            raise SlaveException(3)
        loop = self.loop
        gains = loop.pid.gains
        if address == TG_SP:
            self.sp_c[self.sp_sel] = self._setpoint(value)
        elif address in (SP1, SP2):
            self.sp_c[address - SP1] = self._setpoint(value)
        elif address == SP_SEL:
            self.sp_sel = int(check_range(value, 0, 1))
        elif address == RM_SP:
            self.rm_sp_c = self._setpoint(value)
            self._last_remote_write = self.kiln.t
            self.fallback = False
        elif address == LOC_T:
            self.local_trim_c = check_range(value, -self.range_hi_c, self.range_hi_c)
        elif address == L_R:
            remote = check_range(value, 0, 1) >= 0.5
            if remote and not self.remote:
                self._last_remote_write = self.kiln.t
            self.remote = remote
            self.fallback = False
        elif address == SP_HI:
            self.sp_hi_c = check_range(value, self.sp_lo_c, self.range_hi_c)
        elif address == SP_LO:
            self.sp_lo_c = check_range(value, self.range_lo_c, self.sp_hi_c)
        elif address == MAN_OP:
            check_range(value, gains.out_min_pct, gains.out_max_pct)
            loop.manual_output_pct = value
        elif address == A_M:
            loop.set_manual(check_range(value, 0, 1) >= 0.5)
        elif address == PB:
            gains.kp = 100.0 / check_range(value, 0.1, 9999.9)
        elif address == CTRL_A:
            # Direct acting (1) would cool a kiln: accepted and reported, not simulated.
            self.direct_acting = int(check_range(value, 0, 1))
        elif address == TI:
            gains.ti_s = check_range(value, 0, 9999)
        elif address == TD:
            gains.td_s = check_range(value, 0, 9999)
        elif address == OP_HI:
            gains.out_max_pct = check_range(value, gains.out_min_pct, 100.0)
        elif address == OP_LO:
            gains.out_min_pct = check_range(value, 0.0, gains.out_max_pct)
        elif address == SP_RAT:
            self.sp_rate = check_range(value, 0, 3000.0)
        elif address == RAMP_U:
            self.ramp_units = int(check_range(value, 0, 2))
        elif address == A1:
            self.alarm1_c = check_range(value, self.range_lo_c, self.range_hi_c)
        elif address == A2:
            self.alarm2_c = check_range(value, self.range_lo_c, self.range_hi_c)
        elif address == T_STAT:
            self.t_stat = int(check_range(value, 0, 3))
        elif address == AC_ALL:
            pv = self._true_pv()
            if pv is None or pv <= self.alarm1_c:
                self._alarm1_latched = False
        loop.set_rate(self.sp_rate / RAMP_UNIT_S[self.ramp_units])
        loop.set_target(self._active_sp())
