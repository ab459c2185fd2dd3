"""Omron E5CC (E5_C family) kiln controller in Modbus two-byte mode, as manual H175 reads.

Addresses: 0x2000 PV, 0x2001 status, 0x2002 internal (ramped) SP, 0x2003 heater current
monitor (no CT fitted: 0), 0x2004 MV heating ×10, 0x2005 MV cooling ×10 (0), 0x2103 SP
(read/write), 0x2406 status 2; operation command 0x0000 (FC06, write only): high byte code,
low byte data — 00 communications writing (00 off, 01 on), 01 run/stop (00 run, 01 stop),
09 auto/manual (00 auto, 01 manual). Temperatures are signed and carry `decimals` places
(the K thermocouple's -200..1300 °C range has none, the default).

Choices (verify against a unit; the drivers mirror them):

* Until command 00/01 (comms writing ON) arrives, writes to 0x2103 answer exception 3
  (the manual's "operation error"); so do out-of-range values and unknown command codes.
* 0x2001 status: b6 input error (sensor break: PV reads the range high limit, 1300 °C,
  output 0), b8 heating output on, b12 alarm 1 (PV above `alarm1_c`).
* 0x2406 status 2: b8 stopped (1 = STOP), b10 manual, b14 comms writing enabled.
* Unknown addresses, and reads of 0x0000, answer exception 2.
"""

from __future__ import annotations

from typing import Any

from simulators.device import SlaveException
from simulators.devices.kiln_device import ControllerDevice
from simulators.devices.registers import check_range, int16_word, word_int16

OPERATION_COMMAND = 0x0000
PV = 0x2000
STATUS = 0x2001
INTERNAL_SP = 0x2002
HEATER_CURRENT = 0x2003
MV_HEATING = 0x2004
MV_COOLING = 0x2005
SP = 0x2103
STATUS2 = 0x2406

CMD_COMMS_WRITING = 0x00
CMD_RUN_STOP = 0x01
CMD_AUTO_MANUAL = 0x09

ST_INPUT_ERROR = 1 << 6
ST_HEATING_ON = 1 << 8
ST_ALARM1 = 1 << 12
ST2_STOP = 1 << 8
ST2_MANUAL = 1 << 10
ST2_COMMS_WRITING = 1 << 14


class OmronE5CC(ControllerDevice):
    """A simulated Omron E5CC on a simulated kiln."""

    RANGE_HI_C = 1300.0

    def __init__(
        self,
        unit: int = 1,
        *,
        decimals: int = 0,
        sp_ramp_c_per_min: float = 0.0,
        **controller_args: Any,
    ) -> None:
        """`controller_args`: time_fn, seed, params, gains, range_lo_c, range_hi_c
        (-200 / 1300 °C, type K), alarm1_c and KilnParams fields (see ControllerDevice)."""
        super().__init__(unit, **controller_args)
        self.scale = 10.0**decimals
        self.comms_writing = False
        self.sp_c = self.kiln.chamber_c
        self.loop.set_rate(sp_ramp_c_per_min / 60.0)

    def status_word(self) -> int:
        """0x2001 status (low word) now."""
        pv = self.kiln.measured_c()
        word = 0
        if pv is None:
            word |= ST_INPUT_ERROR
        elif pv > self.alarm1_c:
            word |= ST_ALARM1
        if self.loop.output_pct > 0:
            word |= ST_HEATING_ON
        return word

    def status2_word(self) -> int:
        """0x2406 status 2 now."""
        word = 0 if self.loop.running else ST2_STOP
        if self.loop.manual:
            word |= ST2_MANUAL
        if self.comms_writing:
            word |= ST2_COMMS_WRITING
        return word

    def _read_word(self, address: int) -> int:
        loop = self.loop
        if address == PV:
            return int16_word(self.pv_c(), self.scale)
        if address == STATUS:
            return self.status_word()
        if address == INTERNAL_SP:
            return int16_word(loop.working_sp_c, self.scale)
        if address in (HEATER_CURRENT, MV_COOLING):
            return 0
        if address == MV_HEATING:
            return int16_word(loop.output_pct, 10)
        if address == SP:
            return int16_word(self.sp_c, self.scale)
        if address == STATUS2:
            return self.status2_word()
        raise SlaveException(2)

    def write_register(self, address: int, value: int) -> None:
        if address == OPERATION_COMMAND:
            self._sync()
            self._command(value >> 8, value & 0xFF)
        elif address == SP:
            if not self.comms_writing:
                raise SlaveException(3)
            sp = check_range(word_int16(value) / self.scale, self.range_lo_c, self.range_hi_c)
            self._sync()
            self.sp_c = sp
            self.loop.set_target(sp)
        elif address in (PV, STATUS, INTERNAL_SP, HEATER_CURRENT, MV_HEATING, MV_COOLING, STATUS2):
            raise SlaveException(3)
        else:
            raise SlaveException(2)

    def _command(self, code: int, data: int) -> None:
        if data not in (0, 1):
            raise SlaveException(3)
        if code == CMD_COMMS_WRITING:
            self.comms_writing = data == 1
        elif not self.comms_writing:
            raise SlaveException(3)
        elif code == CMD_RUN_STOP:
            self.loop.set_running(data == 0)
        elif code == CMD_AUTO_MANUAL:
            self.loop.set_manual(data == 1)
        else:
            raise SlaveException(3)
