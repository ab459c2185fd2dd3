"""A Modbus I/O module wired to a kiln for "direct" software control: one thermocouple
input and one SSR output driven by a time-proportioning duty register, with a host
communication watchdog (as modules of the ADAM / ioLogik / WAGO kind have).

| addr | meaning | access |
|---|---|---|
| 0 | thermocouple temperature, °C ×10, signed (32767 while the TC is open) | R |
| 1 | status: b0 open thermocouple, b1 watchdog expired (fail-safe duty active) | R |
| 10 | SSR duty, ‰ of full power (0..1000) | R/W |
| 20 | watchdog timeout, 0.1 s (0..6000; 0 = off, the power-on value) | R/W |
| 21 | fail-safe duty taken on expiry, ‰ (0..1000; power-on 0) | R/W |
| 22 | mains contactor output: 1 closed (power on), 0 open | R/W |

Watchdog: every accepted write (FC06/FC16) restarts it; reads do not, so a monitoring
client cannot keep an abandoned output alive. With the timeout set and no write for that
long, the duty becomes the fail-safe value at the instant of expiry on the module's clock
(`expired_at`) and b1 is set; the next duty write clears b1. On a sped-up plant the
timeout counts real time, as the module's own clock does (`timebase.comms_timeout`).

Anything else answers exception 2; writes to 0/1 and values outside their range (a
contactor value other than 0/1 too) exception 3. The module has no PID: the duty is the
element power fraction (stuck_relay / element_failure faults override it in the kiln model).
"""

from __future__ import annotations

from typing import Any

from simulators.device import SlaveException
from simulators.devices.kiln_device import KilnDevice
from simulators.devices.registers import check_range, int16_word
from simulators.timebase import comms_timeout

TEMPERATURE = 0
STATUS = 1
DUTY = 10
WATCHDOG_TIMEOUT = 20
FAIL_SAFE_DUTY = 21
CONTACTOR = 22

ST_TC_OPEN = 1 << 0
ST_WATCHDOG_EXPIRED = 1 << 1
OPEN_TC_READING = 0x7FFF
"""What the temperature register reads with the thermocouple open (over-scale)."""
MAX_TIMEOUT = 6000
"""Longest watchdog timeout, 0.1 s (10 min)."""


class IOModule(KilnDevice):
    """A simulated thermocouple-in / SSR-out module on a simulated kiln."""

    def __init__(self, unit: int, **kiln_device_args: Any) -> None:
        super().__init__(unit, **kiln_device_args)
        self.watchdog_tenths = 0
        self.fail_safe_permille = 0
        self.last_write_t = self.time_fn()
        """Module time of the last accepted write (what feeds the watchdog)."""
        self.expired_at: float | None = None
        """Module time the watchdog last expired, until the next duty write."""

    def _sync(self) -> None:
        if self.watchdog_tenths and self.expired_at is None:
            deadline = self.last_write_t + comms_timeout(self.time_fn, self.watchdog_tenths / 10.0)
            if self.time_fn() >= deadline:
                # The output changes at the deadline, not at whichever access notices it.
                self.kiln.advance_to(deadline)
                self.kiln.power_frac = self.fail_safe_permille / 1000.0
                self.expired_at = deadline
        super()._sync()

    def _read_word(self, address: int) -> int:
        if address == TEMPERATURE:
            pv = self.kiln.measured_c()
            return OPEN_TC_READING if pv is None else int16_word(pv, 10)
        if address == STATUS:
            tc = ST_TC_OPEN if self.kiln.tc_open else 0
            return tc | (ST_WATCHDOG_EXPIRED if self.expired_at is not None else 0)
        if address == DUTY:
            return round(self.kiln.power_frac * 1000)
        if address == WATCHDOG_TIMEOUT:
            return self.watchdog_tenths
        if address == FAIL_SAFE_DUTY:
            return self.fail_safe_permille
        if address == CONTACTOR:
            return int(self.kiln.contactor_closed)
        raise SlaveException(2)

    def write_register(self, address: int, value: int) -> None:
        self._sync()  # an expiry due before this write happens first
        if address == DUTY:
            self.kiln.set_power(check_range(value, 0, 1000) / 1000.0)
            self.expired_at = None
        elif address == WATCHDOG_TIMEOUT:
            self.watchdog_tenths = int(check_range(value, 0, MAX_TIMEOUT))
        elif address == FAIL_SAFE_DUTY:
            self.fail_safe_permille = int(check_range(value, 0, 1000))
        elif address == CONTACTOR:
            self.kiln.set_contactor(bool(check_range(value, 0, 1)))
        elif address in (TEMPERATURE, STATUS):
            raise SlaveException(3)
        else:
            raise SlaveException(2)
        self.last_write_t = self.time_fn()
