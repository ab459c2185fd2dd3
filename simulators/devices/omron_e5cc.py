"""Omron E5CC (E5_C family) kiln controller in Modbus two-byte mode, as manual H175 reads.

Sources: H175 (E5_C Digital Temperature Controllers Communications Manual) §4-1-3 (error
codes), §4-4-3 (operation commands), §5-1 (variable area list, two-byte addresses), §5-2 /
§3-2 (status bits); the two-byte addresses of the status halves and of the decimal point
monitor as transcribed in community E5_C register maps (0x2406/0x2407, 0x2410).

Addresses (two-byte mode): 0x2000 PV, 0x2001 status (its low 16 bits), 0x2002 internal
(ramped) SP, 0x2003 heater current (no CT fitted: 0), 0x2004 MV heating ×10, 0x2005 MV
cooling ×10 (0), 0x2103 SP (read/write), 0x2402 PV and 0x2403 internal SP again, 0x2404
multi-SP number (0), 0x2406 status low 16 bits ("rightmost"), 0x2407 status high 16 bits
("leftmost"), 0x2408/0x2409 status 2 (0: no work bits, no events), 0x2410 decimal point
monitor (0 = no decimals, 1 = one: the input type's resolution).

Status, as one 32-bit word (two-byte mode reads it in halves):

* b6 input error (sensor break: PV reads the range high limit, output 0), b8 control output
  (heating) on, b12 alarm 1 (PV above `alarm1_c`);
* b20 write mode (1 = RAM write mode), b21 non-volatile memory (1 = RAM holds settings not
  yet saved), b24 RUN/STOP (1 = STOP), b25 communications writing (1 = ON), b26 auto/manual
  (1 = manual).

Operation command 0x0000 (FC06, write only), high byte code, low byte related information:
00 communications writing (00 off, 01 on), 01 RUN/STOP (00 run, 01 stop), 04 write mode (00
backup, 01 RAM), 05 save RAM data (00), 09 auto/manual (00 auto, 01 manual). 03 (AT) is not
simulated. Errors, in the manual's detection priority: unknown address 02; a wrong command
code or related information, or a value outside the setting range, 03; a write while
communications writing is OFF, 04 (operation error; command 00 itself is always accepted).

Non-volatile memory: in backup write mode every setting written over comms is also written
to non-volatile memory (counted in `nv_writes`); in RAM write mode it is not, until save RAM
data (05), a switch back to backup mode, or communications writing OFF saves it once.

Choices where the manual is silent (check on a unit): power-on write mode is backup;
writes to monitor (read-only) addresses answer 03; the manual MV wins over STOP (the user
manual's MV priority: manual MV > MV at stop > MV at PV error), so STOP alone does not end
heat in manual; reads of 0x0000 answer 02.
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
PV_MONITOR = 0x2402
INTERNAL_SP_MONITOR = 0x2403
MULTI_SP_NUMBER = 0x2404
STATUS_LOW = 0x2406
STATUS_HIGH = 0x2407
STATUS2_LOW = 0x2408
STATUS2_HIGH = 0x2409
DECIMAL_POINT = 0x2410

CMD_COMMS_WRITING = 0x00
CMD_RUN_STOP = 0x01
CMD_WRITE_MODE = 0x04
CMD_SAVE_RAM = 0x05
CMD_AUTO_MANUAL = 0x09

ST_INPUT_ERROR = 1 << 6
ST_HEATING_ON = 1 << 8
ST_ALARM1 = 1 << 12
ST_RAM_WRITE_MODE = 1 << 20
ST_RAM_UNSAVED = 1 << 21
ST_STOP = 1 << 24
ST_COMMS_WRITING = 1 << 25
ST_MANUAL = 1 << 26

_READ_ONLY = (
    PV, STATUS, INTERNAL_SP, HEATER_CURRENT, MV_HEATING, MV_COOLING, PV_MONITOR,
    INTERNAL_SP_MONITOR, MULTI_SP_NUMBER, STATUS_LOW, STATUS_HIGH, STATUS2_LOW, STATUS2_HIGH,
    DECIMAL_POINT,
)  # fmt: skip

DECIMALS = (0, 1)
"""Resolutions of the temperature input types: e.g. K -200..1300 °C (0) or -20.0..500.0 °C (1)."""


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
        """`decimals`: the input type's resolution, 0 or 1 (served at 0x2410 and applied to
        every temperature). `controller_args`: time_fn, seed, params, gains, range_lo_c,
        range_hi_c (-200 / 1300 °C, type K), alarm1_c and KilnParams fields (see
        ControllerDevice). ValueError for another `decimals`."""
        if decimals not in DECIMALS:
            raise ValueError(f"omron_e5cc: decimals must be one of {DECIMALS}, got {decimals!r}")
        super().__init__(unit, **controller_args)
        self.decimals = decimals
        self.scale = 10.0**decimals
        self.comms_writing = False
        self.ram_write_mode = False
        self.ram_unsaved = False
        self.nv_writes = 0
        """Settings written to non-volatile memory over comms (the E5CC's is rated for
        about a million writes)."""
        self.sp_c = self.kiln.chamber_c
        self.loop.set_rate(sp_ramp_c_per_min / 60.0)

    # -- the front panel (what an operator does, not comms) --------------------------------

    def panel(
        self,
        *,
        manual: bool | None = None,
        manual_output_pct: float | None = None,
        comms_writing: bool | None = None,
    ) -> None:
        """Key operations at the controller: auto/manual (and the manual MV), and the
        Communications Writing parameter (adjustment level)."""
        self._sync()
        if manual is not None:
            self.loop.set_manual(manual, manual_output_pct)
        elif manual_output_pct is not None:
            self.loop.manual_output_pct = min(100.0, max(0.0, manual_output_pct))
        if comms_writing is not None:
            self._set_comms_writing(comms_writing)

    # -- status ------------------------------------------------------------------------------

    def status_word(self) -> int:
        """The 32-bit status now (0x2001 / 0x2406 serve its low half, 0x2407 its high)."""
        pv = self.kiln.measured_c()
        word = 0
        if pv is None:
            word |= ST_INPUT_ERROR
        elif pv > self.alarm1_c:
            word |= ST_ALARM1
        if self.loop.output_pct > 0:
            word |= ST_HEATING_ON
        if self.ram_write_mode:
            word |= ST_RAM_WRITE_MODE
        if self.ram_unsaved:
            word |= ST_RAM_UNSAVED
        if not self.loop.running:
            word |= ST_STOP
        if self.comms_writing:
            word |= ST_COMMS_WRITING
        if self.loop.manual:
            word |= ST_MANUAL
        return word

    def _read_word(self, address: int) -> int:
        loop = self.loop
        if address in (PV, PV_MONITOR):
            return int16_word(self.pv_c(), self.scale)
        if address in (STATUS, STATUS_LOW):
            return self.status_word() & 0xFFFF
        if address == STATUS_HIGH:
            return self.status_word() >> 16
        if address in (INTERNAL_SP, INTERNAL_SP_MONITOR):
            return int16_word(loop.working_sp_c, self.scale)
        if address in (HEATER_CURRENT, MV_COOLING, MULTI_SP_NUMBER, STATUS2_LOW, STATUS2_HIGH):
            return 0
        if address == MV_HEATING:
            return int16_word(loop.output_pct, 10)
        if address == SP:
            return int16_word(self.sp_c, self.scale)
        if address == DECIMAL_POINT:
            return self.decimals
        raise SlaveException(2)

    # -- writes ------------------------------------------------------------------------------

    def write_register(self, address: int, value: int) -> None:
        if address == OPERATION_COMMAND:
            self._sync()
            self._command(value >> 8, value & 0xFF)
        elif address == SP:
            # Detection priority (H175 §4-1-3): a value out of range (03) before an
            # operation error (04).
            sp = check_range(word_int16(value) / self.scale, self.range_lo_c, self.range_hi_c)
            self._check_writing()
            self._sync()
            self.sp_c = sp
            self.loop.set_target(sp)
            self._setting_written()
        elif address in _READ_ONLY:
            raise SlaveException(3)
        else:
            raise SlaveException(2)

    def _check_writing(self) -> None:
        if not self.comms_writing:
            raise SlaveException(4)

    def _setting_written(self) -> None:
        if self.ram_write_mode:
            self.ram_unsaved = True
        else:
            self.nv_writes += 1

    def _save_ram(self) -> None:
        if self.ram_unsaved:
            self.nv_writes += 1
            self.ram_unsaved = False

    def _set_comms_writing(self, on: bool) -> None:
        if not on:
            self._save_ram()  # turning comms writing off saves what RAM mode held
        self.comms_writing = on

    def _command(self, code: int, data: int) -> None:
        allowed = {
            CMD_COMMS_WRITING: (0, 1),
            CMD_RUN_STOP: (0, 1),
            CMD_WRITE_MODE: (0, 1),
            CMD_SAVE_RAM: (0,),
            CMD_AUTO_MANUAL: (0, 1),
        }
        if data not in allowed.get(code, ()):
            raise SlaveException(3)
        if code == CMD_COMMS_WRITING:
            self._set_comms_writing(data == 1)
            return
        self._check_writing()
        if code == CMD_RUN_STOP:
            self.loop.set_running(data == 0)
        elif code == CMD_WRITE_MODE:
            if data == 0:
                self._save_ram()  # back to backup mode: RAM settings are written once
            self.ram_write_mode = data == 1
        elif code == CMD_SAVE_RAM:
            self._save_ram()
        else:
            self.loop.set_manual(data == 1)
