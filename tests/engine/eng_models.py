"""Small in-process device models for the engine tests (until/besides simulators.inprocess):
a kiln whose PV follows the setpoint at a limited rate (or a thermal model in direct mode),
a constant-current rectifier, a bath heater; each with injectable faults."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from drivers.errors import DeviceTimeout, FrameError
from drivers.protocols import RectifierReading, RegulationMode, TemperatureReading


class TinyKiln:
    """Setpoint mode: PV moves towards the setpoint at up to heat_c_per_h / cool_c_per_h.
    Direct mode (after set_output): dT/dt = gain·out% − loss·(T − ambient); its output
    watchdog (of an I/O module) counts how often it was armed."""

    watchdog_timeout_s: float | None = 5.0
    watchdog_armed = 0

    async def arm_watchdog(self) -> None:
        self.watchdog_armed += 1

    def __init__(
        self,
        name: str,
        time_fn: Callable[[], float],
        pv_c: float = 20.0,
        heat_c_per_h: float = 3000.0,
        cool_c_per_h: float = 400.0,
    ) -> None:
        self.name = name
        self.time_fn = time_fn
        self.pv = pv_c
        self.sp = pv_c
        self.out = 0.0
        self.heat = heat_c_per_h
        self.cool = cool_c_per_h
        self.direct = False
        self.faults: set[str] = set()
        self.safe_calls = 0
        self.setpoints: list[float] = []
        self._t = time_fn()
        self.flags: set[str] = set()
        """Status flags the controller reports (TemperatureReading's manual,
        remote_sp_fail, over_range, alarm), set by the test."""

    def inject(self, fault: str) -> None:
        self.faults.add(fault)

    def clear(self) -> None:
        self.faults.clear()

    def set_pv(self, pv_c: float) -> None:
        """Put the kiln at pv_c now (door opened, power cut, ...)."""
        self._t = self.time_fn()
        self.pv = pv_c

    def _integrate(self) -> None:
        now = self.time_fn()
        dt = now - self._t
        self._t = now
        if dt <= 0:
            return
        if "stuck_relay" in self.faults:
            self.out = 0.0
            self.pv += self.heat / 3600 * dt
            return
        if self.direct:
            power = 0.0 if "element_failure" in self.faults else self.out
            self.pv += (0.5 * power - 0.03 * (self.pv - 20.0)) / 60.0 * dt
            return
        if self.sp > self.pv:
            self.out = 100.0 if self.sp - self.pv > 1.0 else 50.0
            if "element_failure" not in self.faults:
                self.pv = min(self.sp, self.pv + self.heat / 3600 * dt)
        else:
            self.out = 0.0
            self.pv = max(self.sp, self.pv - self.cool / 3600 * dt)

    async def read(self) -> TemperatureReading:
        if "no_response" in self.faults:
            raise DeviceTimeout(self.name, "inprocess://", "no answer")
        self._integrate()
        broken = "tc_open" in self.faults
        return TemperatureReading(
            pv_c=9999.0 if broken else self.pv,
            sp_c=self.sp,
            output_pct=self.out,
            sensor_break=broken,
            manual="manual" in self.flags,
            remote_sp_fail="remote_sp_fail" in self.flags,
            over_range="over_range" in self.flags,
            alarm="alarm" in self.flags,
        )

    async def set_setpoint(self, sp_c: float) -> None:
        if "no_response" in self.faults:
            raise DeviceTimeout(self.name, "inprocess://", "no answer")
        self._integrate()
        self.sp = sp_c
        self.setpoints.append(sp_c)

    async def set_output(self, pct: float) -> None:
        self._integrate()
        self.direct = True
        self.out = pct

    async def safe(self) -> None:
        self._integrate()
        self.safe_calls += 1
        self.sp = 0.0
        self.out = 0.0

    async def close(self) -> None:
        pass

    @property
    def is_safe(self) -> bool:
        return self.safe_calls > 0 and self.out == 0.0 and self.sp <= 20.0


class TinyRectifier:
    """Ideal CC supply into a cell of `ohms` plus a 1.5 V decomposition voltage."""

    def __init__(self, name: str, time_fn: Callable[[], float], ohms: float = 0.1) -> None:
        self.name = name
        self.time_fn = time_fn
        self.ohms = ohms
        self.amps_sp = 0.0
        self.volts_limit = 12.0
        self.on = False
        self.faults: set[str] = set()
        self.safe_calls = 0
        self.failing_commands = 0
        """This many set_voltage_limit / set_current / enable calls fail (a flaky line: the
        reply is garbled after the command reached the device)..."""
        self.commands_before_failing = 0
        """... after the first this many succeed."""
        self.failed_commands = 0

    def inject(self, fault: str) -> None:
        self.faults.add(fault)

    def clear(self) -> None:
        self.faults.clear()

    def _command(self) -> None:
        if self.commands_before_failing > 0:
            self.commands_before_failing -= 1
        elif self.failing_commands > 0:
            self.failing_commands -= 1
            self.failed_commands += 1
            raise FrameError(self.name, "inprocess://", "bad CRC in the reply")

    async def read(self) -> RectifierReading:
        if "no_response" in self.faults:
            raise DeviceTimeout(self.name, "inprocess://", "no answer")
        if not self.on:
            return RectifierReading(0.0, 0.0, RegulationMode.CC, False)
        if "open_circuit" in self.faults:
            return RectifierReading(self.volts_limit, 0.0, RegulationMode.CV, True)
        volts = 1.5 + self.amps_sp * self.ohms
        amps = self.amps_sp
        mode = RegulationMode.CC
        if volts > self.volts_limit:
            volts, amps, mode = (
                self.volts_limit,
                (self.volts_limit - 1.5) / self.ohms,
                RegulationMode.CV,
            )
        if "over_current" in self.faults:
            amps *= 1.5
        return RectifierReading(
            volts, amps, mode, True, over_temperature="over_temperature" in self.faults
        )

    async def set_current(self, amps: float) -> None:
        self.amps_sp = amps
        self._command()

    async def set_voltage_limit(self, volts: float) -> None:
        self.volts_limit = volts
        self._command()

    async def enable(self) -> None:
        self.on = True
        self._command()

    async def disable(self) -> None:
        self.on = False

    async def safe(self) -> None:
        self.safe_calls += 1
        self.on = False
        self.amps_sp = 0.0

    async def close(self) -> None:
        pass

    @property
    def is_safe(self) -> bool:
        return self.safe_calls > 0 and not self.on


class TinyHeater(TinyKiln):
    """A bath heater reading a fixed temperature."""

    def __init__(self, name: str, time_fn: Callable[[], float], bath_c: float) -> None:
        super().__init__(name, time_fn, pv_c=bath_c, heat_c_per_h=0.0, cool_c_per_h=0.0)
        self.sp = bath_c


def plant(
    kilns: dict[str, dict[str, Any]] | None = None, tanks: dict[str, dict[str, Any]] | None = None
) -> SimpleNamespace:
    """A plant-config stand-in with the attributes the engine reads."""
    return SimpleNamespace(
        kilns={
            k: SimpleNamespace(**{"mode": "setpoint", "max_temp_c": 1000.0, **v})
            for k, v in (kilns or {}).items()
        },
        tanks={
            k: SimpleNamespace(
                **{"heater": None, "max_current_a": 100.0, "max_voltage_v": 12.0, **v}
            )
            for k, v in (tanks or {}).items()
        },
    )
