"""What the engine may ask of a device: small async Protocols, not device classes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from drivers import link_log
from drivers.errors import DeviceError


@dataclass(frozen=True)
class TemperatureReading:
    """One poll of a temperature controller (kiln or tank heater)."""

    pv_c: float
    """Process value (measured temperature), °C."""
    sp_c: float
    """Working setpoint the controller is regulating to, °C."""
    output_pct: float
    """Heating output, 0-100 %."""
    sensor_break: bool = False
    manual: bool = False
    remote_sp_fail: bool = False
    over_range: bool = False
    alarm: bool = False


class RegulationMode(StrEnum):
    CC = "CC"
    CV = "CV"


@dataclass(frozen=True)
class RectifierReading:
    """One poll of a plating rectifier or bench supply."""

    volts: float
    amps: float
    mode: RegulationMode
    output_on: bool
    amp_hours: float | None = None
    """Device's own amp-hour counter, where it has one."""
    volts_setpoint: float | None = None
    amps_setpoint: float | None = None
    over_voltage_trip: bool = False
    over_current_trip: bool = False
    over_temperature: bool = False
    fault: bool = False


@dataclass
class DeviceHealth:
    """Per-device communication statistics, kept by the transport/driver."""

    requests: int = 0
    errors: int = 0
    last_error: str | None = None
    last_latency_s: float | None = None
    consecutive_errors: int = 0

    @property
    def ok(self) -> bool:
        return self.consecutive_errors == 0

    def succeeded(self, device: str, address: str, latency_s: float | None = None) -> None:
        """Count an answered request (latency in s); logs "back" after failures."""
        if self.consecutive_errors:
            link_log.back(device, address, self.consecutive_errors)
        self.consecutive_errors = 0
        if latency_s is not None:
            self.last_latency_s = latency_s

    def failed(self, error: DeviceError) -> None:
        """Count a failed request; logs "lost" at the first of a run of failures."""
        if not self.consecutive_errors:
            link_log.lost(error)
        self.errors += 1
        self.consecutive_errors += 1
        self.last_error = str(error)


@runtime_checkable
class TemperatureController(Protocol):
    """A kiln or tank-heater controller. Setpoint mode uses set_setpoint; direct mode
    uses set_output (software PID)."""

    name: str

    async def read(self) -> TemperatureReading: ...

    async def set_setpoint(self, sp_c: float) -> None: ...

    async def set_output(self, pct: float) -> None: ...

    async def safe(self) -> None:
        """Heat off: setpoint to a safe value / output 0. Must not raise on a dead line
        more than once; callers call it in `finally`."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class Rectifier(Protocol):
    """A constant-current plating rectifier with a voltage compliance limit."""

    name: str

    async def read(self) -> RectifierReading: ...

    async def set_current(self, amps: float) -> None: ...

    async def set_voltage_limit(self, volts: float) -> None: ...

    async def enable(self) -> None: ...

    async def disable(self) -> None: ...

    async def safe(self) -> None:
        """Output off, current setpoint 0."""
        ...

    async def close(self) -> None: ...
