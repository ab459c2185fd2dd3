"""Eurotherm 3216 (3200 series) kiln controller, as its manual HA028651 §15.5 reads.

Integer registers carry one decimal for temperatures, outputs and PB (850.0 °C reads 8500,
signed int16); every parameter is mirrored as an IEEE float32 at 0x8000 + 2·addr, high word
first. The controller runs its own PID on a KilnModel with a setpoint rate limit.

Choices where the manual leaves room (the drivers mirror them):

* SP.RAT (35) is in °C per **minute**, one decimal (0 = off); the working setpoint WKG.SP
  ramps to the active setpoint at that rate.
* Active setpoint: Rm.SP (26) when L-R (276) = 1, else TG.SP (2).
* StAt (75): b0 alarm 1 (PV above A1, latched until AC.ALL (274) once PV is back under),
  b4 manual, b5 sensor break (PV then reads the range high limit, 1372.0 °C for type K,
  and the output is 0), b10 PV over-range (true PV above the range), b14 remote SP fail:
  in remote, no Rm.SP write for `remote_sp_timeout_s` (default 10 s of simulated time); the
  controller keeps regulating to the last remote setpoint and the bit clears on the next
  write.
* Writes to read-only parameters (PV.IN, WRK.OP, WKG.SP, StAt) and out-of-range values
  answer exception 3; unknown addresses answer exception 2. FC06 into the float region
  answers exception 3 (a float needs both its registers, FC16).
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
    word_int16,
    words_float32,
)

FLOAT_BASE = 0x8000

PV_IN = 1
TG_SP = 2
MAN_OP = 3
WRK_OP = 4
WKG_SP = 5
PB = 6
TI = 8
TD = 9
A1 = 13
A2 = 14
T_STAT = 23
RM_SP = 26
OP_HI = 30
OP_LO = 31
SP_RAT = 35
STAT = 75
A_M = 273
AC_ALL = 274
L_R = 276

ST_ALARM1 = 1 << 0
ST_MANUAL = 1 << 4
ST_SENSOR_BREAK = 1 << 5
ST_OVER_RANGE = 1 << 10
ST_REMOTE_SP_FAIL = 1 << 14


@dataclass(frozen=True)
class _Param:
    scale: float
    """Integer register = value × scale (10 for one displayed decimal)."""
    writable: bool


PARAMS: dict[int, _Param] = {
    PV_IN: _Param(10, False),
    TG_SP: _Param(10, True),
    MAN_OP: _Param(10, True),
    WRK_OP: _Param(10, False),
    WKG_SP: _Param(10, False),
    PB: _Param(10, True),
    TI: _Param(1, True),
    TD: _Param(1, True),
    A1: _Param(10, True),
    A2: _Param(10, True),
    T_STAT: _Param(1, True),
    RM_SP: _Param(10, True),
    OP_HI: _Param(10, True),
    OP_LO: _Param(10, True),
    SP_RAT: _Param(10, True),
    STAT: _Param(1, False),
    A_M: _Param(1, True),
    AC_ALL: _Param(1, True),
    L_R: _Param(1, True),
}
"""The parameters this simulation answers, by Modbus address."""


class Eurotherm3216(ControllerDevice):
    """A simulated Eurotherm 3216 on a simulated kiln."""

    def __init__(
        self, unit: int = 1, *, remote_sp_timeout_s: float = 10.0, **controller_args: Any
    ) -> None:
        """`controller_args`: time_fn, seed, params, gains, range_lo_c, range_hi_c
        (-200 / 1372 °C, type K), alarm1_c and KilnParams fields (see ControllerDevice)."""
        super().__init__(unit, **controller_args)
        self.remote_sp_timeout_s = remote_sp_timeout_s
        start = self.kiln.chamber_c
        self.tg_sp_c = start
        self.rm_sp_c = start
        self.remote = False
        self.alarm2_c = 0.0
        self.t_stat = 0
        self.sp_rate_c_per_min = 0.0
        self._alarm1_latched = False
        self._last_remote_write = self.time_fn()

    # -- derived state --------------------------------------------------------------------

    def _true_pv(self) -> float | None:
        return self.kiln.measured_c()

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
        elif pv > self.range_hi_c:
            word |= ST_OVER_RANGE
        if self.remote and self.kiln.t - self._last_remote_write > self.remote_sp_timeout_s:
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
            TI: lambda: gains.ti_s,
            TD: lambda: gains.td_s,
            A1: lambda: self.alarm1_c,
            A2: lambda: self.alarm2_c,
            T_STAT: lambda: self.t_stat,
            RM_SP: lambda: self.rm_sp_c,
            OP_HI: lambda: gains.out_max_pct,
            OP_LO: lambda: gains.out_min_pct,
            SP_RAT: lambda: self.sp_rate_c_per_min,
            STAT: lambda: self.status_word(),
            A_M: lambda: 1.0 if loop.manual else 0.0,
            AC_ALL: lambda: 0.0,
            L_R: lambda: 1.0 if self.remote else 0.0,
        }
        return getters[address]()

    # -- register access ------------------------------------------------------------------

    def _read_word(self, address: int) -> int:
        if address >= FLOAT_BASE:
            param, half = divmod(address - FLOAT_BASE, 2)
            if param not in PARAMS:
                raise SlaveException(2)
            return float32_words(self._value(param))[half]
        spec = PARAMS.get(address)
        if spec is None:
            raise SlaveException(2)
        if address == STAT:
            return self.status_word() & 0xFFFF
        return int16_word(self._value(address), spec.scale)

    def write_register(self, address: int, value: int) -> None:
        if address >= FLOAT_BASE:
            # A float needs both its registers (FC16); a lone word is refused.
            raise SlaveException(3 if (address - FLOAT_BASE) // 2 in PARAMS else 2)
        spec = PARAMS.get(address)
        if spec is None:
            raise SlaveException(2)
        self._sync()
        self._set(address, word_int16(value) / spec.scale)

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
            self._set(param, words_float32(values[2 * i], values[2 * i + 1]))

    def _set(self, address: int, value: float) -> None:
        if not PARAMS[address].writable or math.isnan(value):
            raise SlaveException(3)
        loop = self.loop
        gains = loop.pid.gains
        if address == TG_SP:
            self.tg_sp_c = check_range(value, self.range_lo_c, self.range_hi_c)
        elif address == RM_SP:
            self.rm_sp_c = check_range(value, self.range_lo_c, self.range_hi_c)
            self._last_remote_write = self.kiln.t
        elif address == L_R:
            remote = check_range(value, 0, 1) >= 0.5
            if remote and not self.remote:
                self._last_remote_write = self.kiln.t
            self.remote = remote
        elif address == MAN_OP:
            check_range(value, gains.out_min_pct, gains.out_max_pct)
            loop.manual_output_pct = value
        elif address == A_M:
            loop.set_manual(check_range(value, 0, 1) >= 0.5)
        elif address == PB:
            gains.kp = 100.0 / check_range(value, 0.1, 9999.9)
        elif address == TI:
            gains.ti_s = check_range(value, 0, 9999)
        elif address == TD:
            gains.td_s = check_range(value, 0, 9999)
        elif address == OP_HI:
            gains.out_max_pct = check_range(value, gains.out_min_pct, 100.0)
        elif address == OP_LO:
            gains.out_min_pct = check_range(value, 0.0, gains.out_max_pct)
        elif address == SP_RAT:
            self.sp_rate_c_per_min = check_range(value, 0, 3000.0)
            loop.set_rate(self.sp_rate_c_per_min / 60.0)
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
        loop.set_target(self.rm_sp_c if self.remote else self.tg_sp_c)
