"""Eurotherm 3216 (3200 series) in setpoint mode, Modbus RTU/TCP (manual HA028651 §15).

kilnctl selects the remote setpoint (L-R 276 = 1), then streams the travelling setpoint
into Rm.SP (26). TG.SP (2) lives in EEPROM (~100k writes) and is never streamed.

Resolution is learned, never assumed: integer registers carry the controller's configured
decimal point (850.0 °C is 8500 with one decimal, 850 with none), so at connect (the first
setpoint or safe write, and the first after the unit stopped answering) the driver reads
SP.HI/SP.LO (111/112) and PV (1) both as integers and as their IEEE floats (0x8000 +
2*addr, high word first) and keeps the one decimal count that makes them agree. A
configured `decimals` that disagrees is refused by name. Readings use the IEEE floats, so
they never depend on it.

SP.LO/SP.HI are the controller's setpoint limits: a setpoint outside them is refused by the
unit (not clamped), so safe() writes the lowest allowed setpoint, max(0 °C, SP.LO), and a
setpoint outside the limits is refused here with both values named. Nobody refreshes Rm.SP
after a run, and the unit falls back to its local setpoint when its remote-setpoint timeout
runs out: safe() therefore also brings TG.SP down to the safe setpoint when it is above it
(an EEPROM write, once per safe state at most), so the fallback lands on heat-off too.

L-R is not read before every Rm.SP write (one extra transaction per kiln per period): it is
checked at connect, every `lr_check_s` seconds of the injected clock, and after any sign of
trouble (a failed request; StAt b14 remote SP fail or b4 manual in a reading; a working
setpoint away from the last Rm.SP written, as after a switch to local), and re-asserted
when it is not 1: a controller power-cycled or switched to local at its panel
would otherwise regulate to TG.SP while kilnctl wrote a remote setpoint nobody uses.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from drivers.codec import DataType, Register, RegisterBlock
from drivers.errors import ConfigError, DeviceError, ModbusExceptionError
from drivers.protocols import TemperatureReading
from drivers.register_io import read_block, read_register, write_confirmed
from drivers.safe_state import SafeAction
from drivers.transport.modbus_bus import ModbusLink

FLOAT_BASE = 0x8000


def _float(name: str, addr: int) -> Register:
    return Register(name, FLOAT_BASE + 2 * addr, DataType.FLOAT32)


# Manual table (integer addresses) and the float twins read for full resolution.
PV_IN = 1  # process value
TG_SP = 2  # target setpoint: EEPROM, never streamed
MAN_OP = 3  # manual output %
WRK_OP = 4  # working output %
WKG_SP = 5  # working (ramped) setpoint
RM_SP = 26  # remote (comms) setpoint
STAT = 75  # status word
SP_HI = 111  # setpoint high limit
SP_LO = 112  # setpoint low limit
A_M = 273  # auto/manual, 1 = manual
AC_ALL = 274  # write: acknowledge all alarms
L_R = 276  # local/remote setpoint select, 1 = remote

READINGS = RegisterBlock((_float("pv", PV_IN), _float("wrk_op", WRK_OP), _float("wkg_sp", WKG_SP)))
STATUS = Register("stat", STAT)
LOCAL_REMOTE = Register("L-R", L_R)
AUTO_MANUAL = Register("A-M", A_M)
PV_WORD = Register("PV.IN", PV_IN, DataType.INT16)
PV_FLOAT = _float("PV.IN", PV_IN)
LIMIT_WORDS = RegisterBlock(
    (Register("SP.HI", SP_HI, DataType.INT16), Register("SP.LO", SP_LO, DataType.INT16))
)
LIMIT_FLOATS = RegisterBlock((_float("SP.HI", SP_HI), _float("SP.LO", SP_LO)))

# StAt bits
ALARM_BITS = 0x000F  # b0-b3 alarms 1-4
MANUAL_BIT = 1 << 4
SENSOR_BREAK_BIT = 1 << 5
OVER_RANGE_BIT = 1 << 10
REMOTE_SP_FAIL_BIT = 1 << 14

SAFE_SETPOINT_C = 0.0
"""Heat-off setpoint, raised to SP.LO when the controller's limit is above it."""
LR_CHECK_S = 30.0
"""Default seconds between L-R checks when nothing looks wrong."""
DECIMAL_CHOICES = (0, 1, 2)
"""Resolutions a 3200 can be configured to (nnnn, nnn.n, nn.nn)."""
INT16_MAX, INT16_MIN = 32767, -32768
PV_AGREEMENT_C = 1.0
"""Integer and float PV are two reads apart: they may differ by this much (noise)."""
WSP_AGREEMENT_C = 0.5
"""WKG.SP further than this from the last Rm.SP written is a sign of trouble (the unit may
regulate to its local setpoint); a set SP.RAT or LOC.T only costs an L-R read per write."""

T = TypeVar("T")


@dataclass(frozen=True)
class Learned:
    """What the driver read from the controller at connect."""

    decimals: int
    sp_hi_c: float
    sp_lo_c: float


def _agreeing(word: float, value: float, tolerance_c: float) -> set[int]:
    """Decimal counts d for which integer `word` reads as `value` (within tolerance). A
    saturated word (the int16 limits) agrees with every d that would overflow."""
    if word in (INT16_MAX, INT16_MIN):
        return {d for d in DECIMAL_CHOICES if value * 10**d * word / abs(word) >= INT16_MAX}
    return {d for d in DECIMAL_CHOICES if abs(word / 10**d - value) <= tolerance_c + 0.5 / 10**d}


def learn_decimals(pairs: list[tuple[float, float, float]]) -> set[int]:
    """The decimal counts every (integer word, float value, tolerance °C) pair agrees on."""
    found = set(DECIMAL_CHOICES)
    for word, value, tolerance in pairs:
        found &= _agreeing(word, value, tolerance)
    return found


class Eurotherm3216:
    """TemperatureController for a Eurotherm 3216 driven through its remote setpoint.

    `decimals`: the resolution the plant config expects (None: take the controller's);
    `lr_check_s`: seconds between L-R checks while all is well; `time_fn`: the clock those
    seconds are counted on (monotonic by default; tests inject theirs)."""

    def __init__(
        self,
        name: str,
        link: ModbusLink,
        *,
        decimals: int | None = None,
        lr_check_s: float = LR_CHECK_S,
        time_fn: Callable[[], float] = time.monotonic,
    ) -> None:
        if decimals is not None and decimals not in DECIMAL_CHOICES:
            raise ConfigError(f"{name}: decimals must be 0, 1 or 2, got {decimals!r}")
        if lr_check_s < 0:
            raise ConfigError(f"{name}: lr_check_s must be >= 0, got {lr_check_s!r}")
        self.name = name
        self.link = link
        self.health = link.health
        self.decimals = decimals
        self.lr_check_s = lr_check_s
        self.time_fn = time_fn
        self.learned: Learned | None = None
        self._remote_sp = Register("Rm.SP", RM_SP, DataType.INT16)
        self._manual_op = Register("MAN.OP", MAN_OP, DataType.INT16, 10.0)  # % with one decimal
        self._manual_selected = False
        self._lr_due = True
        """L-R must be checked before the next Rm.SP write (connect, or trouble seen)."""
        self._lr_checked_at = -float("inf")
        self._last_rm_sp: float | None = None
        self._safe = SafeAction(self._make_safe)

    async def _watch(self, operation: Awaitable[T]) -> T:
        """Run a request; any failure is a sign of trouble: L-R is checked next write. A unit
        that stopped answering may come back reconfigured: it is learned again too."""
        try:
            return await operation
        except DeviceError as exc:
            self._lr_due = True
            if not isinstance(exc, ModbusExceptionError):
                self.learned = None
            raise

    async def read(self) -> TemperatureReading:
        values = await self._watch(read_block(self.link, READINGS))
        stat = int(await self._watch(read_register(self.link, STATUS)))
        if stat & (REMOTE_SP_FAIL_BIT | MANUAL_BIT) or (
            self._last_rm_sp is not None
            and abs(values["wkg_sp"] - self._last_rm_sp) > WSP_AGREEMENT_C
        ):
            self._lr_due = True
        return TemperatureReading(
            pv_c=values["pv"],
            sp_c=values["wkg_sp"],
            output_pct=values["wrk_op"],
            sensor_break=bool(stat & SENSOR_BREAK_BIT),
            manual=bool(stat & MANUAL_BIT),
            remote_sp_fail=bool(stat & REMOTE_SP_FAIL_BIT),
            over_range=bool(stat & OVER_RANGE_BIT),
            alarm=bool(stat & ALARM_BITS),
        )

    async def connect(self) -> Learned:
        """Learn the controller's resolution and setpoint limits (once; 4 reads).

        DeviceError when it does not answer or its words fit no resolution."""
        if self.learned is None:
            self.learned = await self._watch(self._learn())
        return self.learned

    async def _learn(self) -> Learned:
        words = await read_block(self.link, LIMIT_WORDS)
        floats = await read_block(self.link, LIMIT_FLOATS)
        pv_word = await read_register(self.link, PV_WORD)
        pv = await read_register(self.link, PV_FLOAT)
        found = learn_decimals(
            [
                (words["SP.HI"], floats["SP.HI"], 0.0),
                (words["SP.LO"], floats["SP.LO"], 0.0),
                (pv_word, pv, PV_AGREEMENT_C),
            ]
        )
        if len(found) != 1:
            raise DeviceError(
                self.name,
                self.link.address_text,
                "cannot tell the controller's decimal point: SP.HI reads "
                f"{words['SP.HI']:g} as an integer and {floats['SP.HI']:g} as a float, SP.LO "
                f"{words['SP.LO']:g} / {floats['SP.LO']:g}, PV {pv_word:g} / {pv:g}",
            )
        return Learned(found.pop(), floats["SP.HI"], floats["SP.LO"])

    def _checked(self, learned: Learned) -> Learned:
        if self.decimals is not None and self.decimals != learned.decimals:
            raise ConfigError(
                f"{self.name} ({self.link.address_text}): the controller shows "
                f"{learned.decimals} decimal place(s) but the plant config says decimals = "
                f"{self.decimals}; a setpoint written with the wrong one is read "
                f"{10 ** abs(self.decimals - learned.decimals)}× off. Set decimals = "
                f"{learned.decimals} (or remove it), or change the controller's resolution"
            )
        return learned

    async def start(self) -> None:
        """Connect, then select the remote (comms) setpoint: L-R = 1, read back."""
        self._checked(await self.connect())
        await self._watch(write_confirmed(self.link, LOCAL_REMOTE, 1))
        self._lr_due, self._lr_checked_at = False, self.time_fn()

    async def acknowledge_alarms(self) -> None:
        """AC.ALL: acknowledge the controller's latched alarms (acknowledged in kilnctl)."""
        await self._watch(self.link.write_register(AC_ALL, 1))

    async def set_setpoint(self, sp_c: float) -> None:
        """Stream the travelling setpoint into Rm.SP (checking L-R first when due, and back
        to automatic if set_output had switched to manual).

        ConfigError when the plant config's decimals disagree with the controller, or
        `sp_c` is outside the controller's SP.LO..SP.HI."""
        learned = self._checked(await self.connect())
        if not learned.sp_lo_c <= sp_c <= learned.sp_hi_c:
            raise ConfigError(
                f"{self.name} ({self.link.address_text}): setpoint {sp_c:g} °C is outside "
                f"the controller's limits SP.LO {learned.sp_lo_c:g} .. SP.HI "
                f"{learned.sp_hi_c:g} °C (it would refuse it)"
            )
        await self._write_setpoint(learned, sp_c)

    async def _write_setpoint(self, learned: Learned, sp_c: float) -> None:
        now = self.time_fn()
        if self._lr_due or now - self._lr_checked_at >= self.lr_check_s:
            # A read costs no EEPROM wear; L-R is only written when it has to change.
            if int(await self._watch(read_register(self.link, LOCAL_REMOTE))) != 1:
                await self._watch(write_confirmed(self.link, LOCAL_REMOTE, 1))
            self._lr_due, self._lr_checked_at = False, now
        if self._manual_selected:
            await self._watch(write_confirmed(self.link, AUTO_MANUAL, 0))
            self._manual_selected = False
        register = Register("Rm.SP", RM_SP, DataType.INT16, 10.0**learned.decimals)
        await self._watch(write_confirmed(self.link, register, sp_c))
        self._last_rm_sp = register.decode(register.encode(sp_c))

    async def set_output(self, pct: float) -> None:
        """Manual output: A-M = 1, then MAN.OP. For direct (software PID) control."""
        if not 0.0 <= pct <= 100.0:
            raise ValueError(f"output must be 0..100 %, got {pct}")
        if not self._manual_selected:
            await self._watch(write_confirmed(self.link, AUTO_MANUAL, 1))
            self._manual_selected = True
        await self._watch(write_confirmed(self.link, self._manual_op, pct))

    async def safe(self) -> None:
        """Heat off: manual output 0 if in manual (chosen here or at the panel), then
        automatic on the remote setpoint at max(0 °C, SP.LO), L-R checked first, and the
        local setpoint (TG.SP) no higher, for when the remote setpoint times out."""
        await self._safe()

    async def _make_safe(self) -> None:
        # Ask the controller: someone at the panel may have switched it to manual, where a
        # setpoint alone would leave the manual output heating.
        if self._manual_selected or await self._in_manual():
            self._manual_selected = True
            # Output 0 first: it takes effect at once, whatever the setpoint path does.
            await self._watch(write_confirmed(self.link, self._manual_op, 0.0))
        # Heat-off uses the controller's own resolution even when the config disagrees
        # (that mismatch refuses setpoints, never the safe state).
        learned = await self.connect()
        self._lr_due = True  # the safe state never relies on a cached L-R
        safe_sp = max(SAFE_SETPOINT_C, learned.sp_lo_c)
        await self._write_setpoint(learned, safe_sp)
        # The remote setpoint times out a few seconds after the last write: the local
        # setpoint it falls back to must be safe as well.
        local_sp = Register("TG.SP", TG_SP, DataType.INT16, 10.0**learned.decimals)
        if await self._watch(read_register(self.link, local_sp)) > safe_sp:
            await self._watch(write_confirmed(self.link, local_sp, safe_sp))

    async def _in_manual(self) -> bool:
        try:
            return int(await self._watch(read_register(self.link, AUTO_MANUAL))) == 1
        except ModbusExceptionError:
            # A-M is a 2000-series address: a unit without it refuses the read; heat-off
            # must not depend on it, so go on with the setpoint path.
            return False

    async def close(self) -> None:
        self.link.close()
