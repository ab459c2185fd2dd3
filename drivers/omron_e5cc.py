"""Omron E5CC / E5EC (E5_C family), Modbus RTU, two-byte mode (manuals H175/H186).

Writes are refused by the controller until the operation command 00 "communications
writing ON" has been sent, so the driver sends it before its first write, again when a
setpoint write is refused (a power cycle or the panel turned comms writing off), and at
every safe() (the heat-off write must not be the one refused). The
controller wants >= 2 ms between a response and the next command: the RTU bus default
gap (>= 2 ms) covers it. PV and setpoints are integers scaled by the decimal-point setting
(`decimals` option, default 0 as shipped for thermocouple inputs).
"""

from __future__ import annotations

from drivers.codec import DataType, Register, RegisterBlock
from drivers.errors import ConfigError, ModbusExceptionError
from drivers.protocols import TemperatureReading
from drivers.register_io import read_block, read_register, write_confirmed
from drivers.safe_state import SafeAction
from drivers.transport.modbus_bus import ModbusLink

OPERATION_COMMAND = 0x0000  # high byte = command code, low byte = related information
PV = 0x2000  # process value, signed
STATUS = 0x2001  # status, low word
INTERNAL_SP = 0x2002  # internal (ramped) setpoint
MV_HEAT = 0x2004  # heating manipulated variable, % ×10
SETPOINT = 0x2103  # setpoint (SP)
STATUS_2 = 0x2406  # status flags: b8 STOP, b10 manual, b14 comms writing on

CMD_COMMS_WRITING_ON = 0x0001  # command 00, data 01
# Status (low word) bits
INPUT_ERROR_BIT = 1 << 6
ALARM_BITS = (1 << 12) | (1 << 13) | (1 << 14)  # alarms 1-3
# Status 2 bits
MANUAL_BIT = 1 << 10

SAFE_SETPOINT_C = 0.0


class OmronE5cc:
    """TemperatureController for an Omron E5CC in setpoint mode."""

    def __init__(self, name: str, link: ModbusLink, *, decimals: int = 0) -> None:
        self.name = name
        self.link = link
        self.health = link.health
        scale = 10.0**decimals
        self._readings = RegisterBlock(
            (
                Register("pv", PV, DataType.INT16, scale),
                Register("status", STATUS),
                Register("internal_sp", INTERNAL_SP, DataType.INT16, scale),
                Register("mv", MV_HEAT, DataType.INT16, 10.0),
            )
        )
        self._status_2 = Register("status_2", STATUS_2)
        self._setpoint = Register("SP", SETPOINT, DataType.INT16, scale)
        self._writing_enabled = False
        self._safe = SafeAction(self._make_safe)

    async def read(self) -> TemperatureReading:
        values = await read_block(self.link, self._readings)
        status = int(values["status"])
        status_2 = int(await read_register(self.link, self._status_2))
        return TemperatureReading(
            pv_c=values["pv"],
            sp_c=values["internal_sp"],
            output_pct=values["mv"],
            sensor_break=bool(status & INPUT_ERROR_BIT),
            manual=bool(status_2 & MANUAL_BIT),
            alarm=bool(status & ALARM_BITS),
        )

    async def enable_writing(self) -> None:
        """Operation command 00: communications writing ON (echo checked)."""
        await self.link.write_register(OPERATION_COMMAND, CMD_COMMS_WRITING_ON)
        self._writing_enabled = True

    async def set_setpoint(self, sp_c: float) -> None:
        """Write the setpoint (0x2103) and read it back."""
        if not self._writing_enabled:
            await self.enable_writing()
        try:
            await write_confirmed(self.link, self._setpoint, sp_c)
        except ModbusExceptionError:
            # Comms writing may be off again (power cycle, panel): turn it on, try once more.
            await self.enable_writing()
            await write_confirmed(self.link, self._setpoint, sp_c)

    async def set_output(self, pct: float) -> None:
        """Not offered: this driver runs the E5CC in setpoint mode only (ConfigError, since
        only a plant config asking for direct mode on this controller gets here)."""
        raise ConfigError(
            f"{self.name}: omron_e5cc supports setpoint mode only; "
            'configure its kiln with mode = "setpoint"'
        )

    async def safe(self) -> None:
        """Heat off: setpoint to 0 °C."""
        await self._safe()

    async def _make_safe(self) -> None:
        await self.enable_writing()
        await write_confirmed(self.link, self._setpoint, SAFE_SETPOINT_C)

    async def close(self) -> None:
        self.link.close()
