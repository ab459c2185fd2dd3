"""Eurotherm 3216 (3200 series) in setpoint mode, Modbus RTU/TCP (manual HA028651 §15.5).

kilnctl selects the remote setpoint (L-R 276 = 1), then streams the travelling setpoint
into Rm.SP (26). L-R is read before every Rm.SP write and re-asserted when it is not 1: a
controller power-cycled, or switched to local at its panel, would otherwise regulate to its
local TG.SP while kilnctl (and safe()) wrote a remote setpoint nobody uses. TG.SP (2)
lives in EEPROM (~100k writes) and is never streamed.
Readings use the full-resolution IEEE float region (0x8000 + 2*addr, high word first),
so they do not depend on the display's decimal-point setting; integer writes do, hence
the `decimals` option (850.0 °C with one decimal is 8500).
"""

from __future__ import annotations

from drivers.codec import DataType, Register, RegisterBlock
from drivers.errors import ModbusExceptionError
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
A_M = 273  # auto/manual, 1 = manual
AC_ALL = 274  # write: acknowledge all alarms
L_R = 276  # local/remote setpoint select, 1 = remote

READINGS = RegisterBlock((_float("pv", PV_IN), _float("wrk_op", WRK_OP), _float("wkg_sp", WKG_SP)))
STATUS = Register("stat", STAT)
LOCAL_REMOTE = Register("L-R", L_R)
AUTO_MANUAL = Register("A-M", A_M)

# StAt bits
ALARM_BITS = 0x000F  # b0-b3 alarms 1-4
MANUAL_BIT = 1 << 4
SENSOR_BREAK_BIT = 1 << 5
OVER_RANGE_BIT = 1 << 10
REMOTE_SP_FAIL_BIT = 1 << 14

SAFE_SETPOINT_C = 0.0


class Eurotherm3216:
    """TemperatureController for a Eurotherm 3216 driven through its remote setpoint."""

    def __init__(self, name: str, link: ModbusLink, *, decimals: int = 1) -> None:
        self.name = name
        self.link = link
        self.health = link.health
        scale = 10.0**decimals
        self._remote_sp = Register("Rm.SP", RM_SP, DataType.INT16, scale)
        self._manual_op = Register("MAN.OP", MAN_OP, DataType.INT16, 10.0)  # % with one decimal
        self._manual_selected = False
        self._safe = SafeAction(self._make_safe)

    async def read(self) -> TemperatureReading:
        values = await read_block(self.link, READINGS)
        stat = int(await read_register(self.link, STATUS))
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

    async def start(self) -> None:
        """Select the remote (comms) setpoint: L-R = 1, read back."""
        await write_confirmed(self.link, LOCAL_REMOTE, 1)

    async def acknowledge_alarms(self) -> None:
        """AC.ALL: acknowledge the controller's latched alarms (acknowledged in kilnctl)."""
        await self.link.write_register(AC_ALL, 1)

    async def set_setpoint(self, sp_c: float) -> None:
        """Stream the travelling setpoint into Rm.SP (selecting remote SP first whenever
        L-R is not remote, and back to automatic if set_output had switched to manual)."""
        # A read costs no EEPROM wear; L-R is only written when it has to change.
        if int(await read_register(self.link, LOCAL_REMOTE)) != 1:
            await self.start()
        if self._manual_selected:
            await write_confirmed(self.link, AUTO_MANUAL, 0)
            self._manual_selected = False
        await write_confirmed(self.link, self._remote_sp, sp_c)

    async def set_output(self, pct: float) -> None:
        """Manual output: A-M = 1, then MAN.OP. For direct (software PID) control."""
        if not 0.0 <= pct <= 100.0:
            raise ValueError(f"output must be 0..100 %, got {pct}")
        if not self._manual_selected:
            await write_confirmed(self.link, AUTO_MANUAL, 1)
            self._manual_selected = True
        await write_confirmed(self.link, self._manual_op, pct)

    async def safe(self) -> None:
        """Heat off: manual output 0 if in manual (chosen here or at the panel), then
        automatic on the remote setpoint at 0 °C."""
        await self._safe()

    async def _make_safe(self) -> None:
        # Ask the controller: someone at the panel may have switched it to manual, where a
        # setpoint of 0 °C alone would leave the manual output heating.
        if self._manual_selected or await self._in_manual():
            self._manual_selected = True
            # Output 0 first: it takes effect at once, whatever the setpoint path does.
            await write_confirmed(self.link, self._manual_op, 0.0)
        await self.set_setpoint(SAFE_SETPOINT_C)

    async def _in_manual(self) -> bool:
        try:
            return int(await read_register(self.link, AUTO_MANUAL)) == 1
        except ModbusExceptionError:
            # A-M is a 2000-series address (DEVICES.md): a unit without it refuses the
            # read; heat-off must not depend on it, so go on with the setpoint path.
            return False

    async def close(self) -> None:
        self.link.close()
