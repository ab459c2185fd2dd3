"""A Modbus I/O module wired to a kiln for "direct" software control: one thermocouple
input and one SSR output driven by a time-proportioning duty register.

| addr | meaning | access |
|---|---|---|
| 0 | thermocouple temperature, °C ×10, signed (32767 while the TC is open) | R |
| 1 | input status: b0 open thermocouple | R |
| 10 | SSR duty, ‰ of full power (0..1000) | R/W |
| 20 | mains contactor output: 1 closed (power on), 0 open | R/W |

Anything else answers exception 2; writes to 0/1, duties outside 0..1000 and contactor
values other than 0/1 exception 3.
The module has no PID: the duty is the element power fraction (stuck_relay / element_failure
faults override it in the kiln model).
"""

from __future__ import annotations

from simulators.device import SlaveException
from simulators.devices.kiln_device import KilnDevice
from simulators.devices.registers import check_range, int16_word

TEMPERATURE = 0
STATUS = 1
DUTY = 10
CONTACTOR = 20

ST_TC_OPEN = 1 << 0
OPEN_TC_READING = 0x7FFF
"""What the temperature register reads with the thermocouple open (over-scale)."""


class IOModule(KilnDevice):
    """A simulated thermocouple-in / SSR-out module on a simulated kiln."""

    def _read_word(self, address: int) -> int:
        if address == TEMPERATURE:
            pv = self.kiln.measured_c()
            return OPEN_TC_READING if pv is None else int16_word(pv, 10)
        if address == STATUS:
            return ST_TC_OPEN if self.kiln.tc_open else 0
        if address == DUTY:
            return round(self.kiln.power_frac * 1000)
        if address == CONTACTOR:
            return int(self.kiln.contactor_closed)
        raise SlaveException(2)

    def write_register(self, address: int, value: int) -> None:
        if address == DUTY:
            self.kiln.set_power(check_range(value, 0, 1000) / 1000.0)
        elif address == CONTACTOR:
            self.kiln.set_contactor(bool(check_range(value, 0, 1)))
        elif address in (TEMPERATURE, STATUS):
            raise SlaveException(3)
        else:
            raise SlaveException(2)
