"""Omron E5CC / E5EC (E5_C family), Modbus RTU or behind a TCP gateway, two-byte mode.

Source: H175, E5_C Digital Temperature Controllers Communications Manual: §4-1-3 error
codes, §4-4-3 operation commands (address 0x0000, high byte the command code, low byte its
related information), §5-1 variable area (two-byte addresses), §5-2 status bits; the
two-byte addresses of the status halves (0x2406 low, 0x2407 high 16 bits) and of the
decimal point monitor (0x2410) as community E5_C register maps transcribe §5-1.

- Resolution: PV and setpoints are integers with the decimal point left out, at the
  resolution of the controller's input type (K thermocouple -200..1300 °C: none; -20.0..
  500.0 °C: one). It is read from the decimal point monitor (0x2410) at the first contact,
  again after a communication failure, and after the controller was in setup area 1 (where
  the input type is changed), never assumed.
- Writing: the controller refuses writes (exception 04, operation error) until operation
  command 00/01 turns communications writing on. Before streaming setpoints the driver
  sends communications writing ON, write mode RAM (04/01: setpoints then go to RAM only,
  not to non-volatile memory at every write) and RUN (01/00), and confirms all three in
  the status word; it does so again whenever the status shows one lost (power cycle,
  panel) or a write answers 04.
- Heat off (`safe()`): communications writing ON, automatic (09/00: in manual the
  controller outputs its manual MV whatever the setpoint, and the manual MV wins over
  STOP), setpoint 0 °C, then STOP (01/01: output at the MV at stop, 0 % by default);
  confirmed by reading back the setpoint and the status (auto, stopped).
- The controller wants >= 2 ms between a response and the next command: the RTU bus
  default gap (>= 2 ms) covers it. Serial settings: see `serial_settings`.
"""

from __future__ import annotations

import dataclasses

from drivers.address import DeviceAddress
from drivers.codec import DataType, Register, RegisterBlock
from drivers.errors import ConfigError, DeviceError, ModbusExceptionError, WriteNotConfirmed
from drivers.protocols import TemperatureReading
from drivers.register_io import read_block, read_register, write_confirmed
from drivers.safe_state import SafeAction
from drivers.transport.modbus_bus import ModbusLink

OPERATION_COMMAND = 0x0000  # high byte = command code, low byte = related information
PV = 0x2000  # process value, signed
STATUS = 0x2001  # status, low 16 bits
INTERNAL_SP = 0x2002  # internal (ramped) setpoint
MV_HEAT = 0x2004  # heating manipulated variable, % ×10
SETPOINT = 0x2103  # setpoint (SP)
STATUS_HIGH = 0x2407  # status, high 16 bits (status bits 16-31)
DECIMAL_POINT = 0x2410  # decimal point monitor: decimals of PV and SP (0..3)


def command(code: int, information: int) -> int:
    """The word written to 0x0000 for operation command `code` (H175 §4-4-3)."""
    return code << 8 | information


CMD_COMMS_WRITING_ON = command(0x00, 0x01)
CMD_RUN = command(0x01, 0x00)
CMD_STOP = command(0x01, 0x01)
CMD_RAM_WRITE_MODE = command(0x04, 0x01)
CMD_AUTOMATIC = command(0x09, 0x00)

OPERATION_ERROR = 4
"""Exception code of a write the controller refuses in its present state (H175 §4-1-3),
e.g. communications writing OFF."""

# Status, low 16 bits (0x2001)
INPUT_ERROR_BIT = 1 << 6
ALARM_BITS = (1 << 12) | (1 << 13) | (1 << 14)  # alarms 1-3
# Status, high 16 bits (0x2407): status bit n is bit n - 16 here
RAM_WRITE_MODE_BIT = 1 << (20 - 16)
SETUP_AREA_1_BIT = 1 << (22 - 16)
STOP_BIT = 1 << (24 - 16)
COMMS_WRITING_BIT = 1 << (25 - 16)
MANUAL_BIT = 1 << (26 - 16)

SAFE_SETPOINT_C = 0.0

_STATUS_HIGH = Register("status (high word)", STATUS_HIGH)
_DECIMAL_POINT = Register("decimal point monitor", DECIMAL_POINT)
_SAFE_SETPOINT = Register("SP", SETPOINT, DataType.INT16)  # written as 0 only


def _scaled_registers(decimals: int) -> tuple[RegisterBlock, Register]:
    """The reading block (PV, status, internal SP, MV) and the setpoint at `decimals`."""
    scale = 10.0**decimals
    readings = RegisterBlock(
        (
            Register("pv", PV, DataType.INT16, scale),
            Register("status", STATUS),
            Register("internal_sp", INTERNAL_SP, DataType.INT16, scale),
            Register("mv", MV_HEAT, DataType.INT16, 10.0),
        )
    )
    return readings, Register("SP", SETPOINT, DataType.INT16, scale)


def serial_settings(address: DeviceAddress, name: str) -> DeviceAddress:
    """The line settings H175 allows for Modbus: 8 data bits, and even or odd parity with
    1 stop bit or no parity with 2. Unset, parity is the factory even and the stop bits
    follow the parity. ConfigError for a combination the controller does not take."""
    if address.scheme != "modbus-rtu":
        return address
    given = address.given
    where = f"{name} ({address.url})"
    if "bytesize" in given and address.bytesize != 8:
        raise ConfigError(f"{where}: the E5CC speaks Modbus with 8 data bits (bytesize=8)")
    parity = address.parity if "parity" in given else "E"
    stopbits = 2 if parity == "N" else 1
    if "stopbits" in given and address.stopbits != stopbits:
        raise ConfigError(
            f"{where}: the E5CC takes stopbits={stopbits} with parity={parity} "
            "(Modbus: 1 stop bit with even or odd parity, 2 with none)"
        )
    return dataclasses.replace(address, parity=parity, stopbits=stopbits, bytesize=8)


class OmronE5cc:
    """TemperatureController for an Omron E5CC in setpoint mode."""

    def __init__(self, name: str, link: ModbusLink) -> None:
        self.name = name
        self.link = link
        self.health = link.health
        self.decimals: int | None = None
        """The controller's resolution as last read from 0x2410 (None: not read yet)."""
        self._readings, self._setpoint = _scaled_registers(0)  # replaced once learned
        self._writing_ready = False
        self._safe = SafeAction(self._make_safe)

    # -- resolution --------------------------------------------------------------------------

    async def _learn_resolution(self) -> None:
        if self.decimals is not None:
            return
        decimals = int(await read_register(self.link, _DECIMAL_POINT))
        if not 0 <= decimals <= 3:
            raise DeviceError(
                self.name,
                self.link.address_text,
                f"decimal point monitor (0x{DECIMAL_POINT:04X}) reads {decimals}, not 0..3",
            )
        self._readings, self._setpoint = _scaled_registers(decimals)
        self.decimals = decimals

    def _forget(self) -> None:
        """Learn the resolution and prepare writing again (the controller may have been
        power-cycled, reconfigured or swapped)."""
        self.decimals = None
        self._writing_ready = False

    # -- reading -----------------------------------------------------------------------------

    async def read(self) -> TemperatureReading:
        try:
            await self._learn_resolution()
            values = await read_block(self.link, self._readings)
            high = await self._status_high()
        except DeviceError:
            self._forget()
            raise
        status = int(values["status"])
        if high & SETUP_AREA_1_BIT:
            self.decimals = None  # the input type (and its resolution) may be changing
        if not (high & COMMS_WRITING_BIT and high & RAM_WRITE_MODE_BIT):
            self._writing_ready = False
        return TemperatureReading(
            pv_c=values["pv"],
            sp_c=values["internal_sp"],
            output_pct=values["mv"],
            sensor_break=bool(status & INPUT_ERROR_BIT),
            manual=bool(high & MANUAL_BIT),
            alarm=bool(status & ALARM_BITS),
        )

    async def _status_high(self) -> int:
        return int(await read_register(self.link, _STATUS_HIGH))

    # -- writing -----------------------------------------------------------------------------

    async def _command(self, word: int) -> None:
        """An operation command (FC06 to 0x0000, echo checked by the transport)."""
        await self.link.write_register(OPERATION_COMMAND, word)

    async def enable_writing(self) -> None:
        """Prepare setpoint streaming: communications writing ON, RAM write mode, RUN;
        confirmed in the status (WriteNotConfirmed otherwise)."""
        await self._learn_resolution()
        for word in (CMD_COMMS_WRITING_ON, CMD_RAM_WRITE_MODE, CMD_RUN):
            await self._command(word)
        high = await self._status_high()
        wanted = COMMS_WRITING_BIT | RAM_WRITE_MODE_BIT
        if high & (wanted | STOP_BIT) != wanted:
            raise self._not_confirmed(
                "comms writing ON, RAM write mode, RUN", high, "b25=1 b20=1 b24=0"
            )
        self._writing_ready = True

    def _not_confirmed(self, what: str, high: int, wanted: str) -> WriteNotConfirmed:
        error = WriteNotConfirmed(
            self.name,
            self.link.address_text,
            f"{what}: status high word (0x{STATUS_HIGH:04X}) reads 0x{high:04X}, wanted {wanted}",
        )
        self.link.health.last_error = str(error)
        return error

    async def set_setpoint(self, sp_c: float) -> None:
        """Write the setpoint (0x2103, RAM write mode) and read it back."""
        if not self._writing_ready:
            await self.enable_writing()
        try:
            await write_confirmed(self.link, self._setpoint, sp_c)
        except ModbusExceptionError as exc:
            if exc.code != OPERATION_ERROR:
                raise
            # Comms writing went off (power cycle, panel): prepare again, try once more.
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
        """Heat off, in automatic or manual: automatic, setpoint 0 °C, STOP; read back."""
        await self._safe()

    async def _make_safe(self) -> None:
        # 0 °C is 0 at any resolution: heat-off does not wait for the decimal point.
        await self._command(CMD_COMMS_WRITING_ON)
        await self._command(CMD_AUTOMATIC)
        await write_confirmed(self.link, _SAFE_SETPOINT, SAFE_SETPOINT_C)
        await self._command(CMD_STOP)
        self._writing_ready = False  # the next firing must RUN again
        high = await self._status_high()
        if high & (MANUAL_BIT | STOP_BIT) != STOP_BIT:
            raise self._not_confirmed("heat off (automatic, STOP)", high, "b26=0 b24=1")

    async def close(self) -> None:
        self.link.close()
