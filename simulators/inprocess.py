"""In-process simulated devices for dry runs on the engine's virtual clock.

They satisfy drivers.protocols.TemperatureController / Rectifier structurally (same async
methods, readings with the same field names) without importing drivers: simulators stand
alone. Physics integrate lazily to `time_fn()` on each call, so a 10-hour firing at 1 s
ticks costs a few microseconds of physics per tick. Faults are injected with inject/clear
as on the wire-level devices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simulators.physics.control_loop import ControlLoop
from simulators.physics.controller_pid import PIDGains
from simulators.physics.faults import FaultAccess
from simulators.physics.kiln import KilnModel, KilnParams
from simulators.physics.plating import PlatingCell, PlatingParams, default_bath_params

SENSOR_BREAK_PV_C = 1372.0
"""PV a controller shows on a sensor break (type K range limit), as the Eurotherm does."""

BATH_GAINS = PIDGains(kp=40.0, ti_s=1200.0, td_s=0.0)
"""Tank-heater tuning: a 260 kJ/K bath is slow, so high gain and long integral time."""


@dataclass(frozen=True)
class SimTemperatureReading:
    """Same fields as drivers.protocols.TemperatureReading."""

    pv_c: float
    sp_c: float
    output_pct: float
    sensor_break: bool = False
    manual: bool = False
    remote_sp_fail: bool = False
    over_range: bool = False
    alarm: bool = False


@dataclass(frozen=True)
class SimRectifierReading:
    """Same fields as drivers.protocols.RectifierReading (mode is the string "CC"/"CV")."""

    volts: float
    amps: float
    mode: str
    output_on: bool
    amp_hours: float | None = None
    volts_setpoint: float | None = None
    amps_setpoint: float | None = None
    over_voltage_trip: bool = False
    over_current_trip: bool = False
    over_temperature: bool = False
    fault: bool = False


class _SimController(FaultAccess):
    """A temperature controller running its own PID on a thermal plant: a new KilnModel of
    `params` (or the class's default parameters), or the bath of a plating `cell` (which the
    controller then steps, so a SimRectifier on the same cell sees its temperature);
    faults: tc_open, element_failure, stuck_relay."""

    def __init__(
        self,
        name: str,
        time_fn: Callable[[], float],
        params: KilnParams | None = None,
        seed: int = 0,
        gains: PIDGains | None = None,
        *,
        cell: PlatingCell | None = None,
    ) -> None:
        if cell is not None:
            self.plant = cell.bath
        else:
            self.plant = KilnModel(params or self._default_params(), time_fn, seed)
        super().__init__(self.plant)
        self.name = name
        self.loop = ControlLoop(self.plant, time_fn, gains or self._default_gains())
        if cell is not None:
            cell.advance_bath = self.loop.advance_to

    @staticmethod
    def _default_params() -> KilnParams:
        return KilnParams()

    @staticmethod
    def _default_gains() -> PIDGains | None:
        return None  # the controller's own defaults

    def _sync(self) -> None:
        self.loop.sync()

    async def read(self) -> SimTemperatureReading:
        """PV, working setpoint, output and status now."""
        loop = self.loop
        pv = loop.pv_c()
        return SimTemperatureReading(
            pv_c=SENSOR_BREAK_PV_C if pv is None else pv,
            sp_c=loop.working_sp_c,
            output_pct=loop.output_pct,
            sensor_break=pv is None,
            manual=loop.manual,
        )

    async def set_setpoint(self, sp_c: float) -> None:
        """Setpoint mode: the controller's PID regulates to sp_c (leaves manual)."""
        if self.loop.manual:
            self.loop.set_manual(False)
        self.loop.set_target(sp_c)

    async def set_output(self, pct: float) -> None:
        """Direct mode: fixed output % (the controller's PID stands aside)."""
        self.loop.set_manual(True, pct)

    async def safe(self) -> None:
        """Heat off: automatic with a 0 °C setpoint, so the output is 0."""
        self.loop.set_manual(False)
        self.loop.set_target(0.0)

    async def close(self) -> None:
        """Nothing to release."""


class SimKilnController(_SimController):
    """A simulated kiln with its temperature controller:
    `SimKilnController(name, time_fn, params=None, seed=0, gains=None)`. In direct mode it
    stands for an I/O module whose output watchdog is armed (a dry run has no crash for
    it to catch)."""

    watchdog_timeout_s = 5.0
    watchdog_armed = False

    async def arm_watchdog(self) -> None:
        self.watchdog_armed = True

    def set_door(self, open_: bool) -> None:
        """Open or shut the kiln door."""
        self._sync()
        self.plant.set_door(open_)


class SimBathHeater(_SimController):
    """The heater controller of a plating tank: `SimBathHeater(name, time_fn, params=None,
    seed=0, gains=None, *, cell=None)`; pass the tank's `cell` to share its bath with a
    SimRectifier (bath temperature changes the bath's resistance)."""

    @staticmethod
    def _default_params() -> KilnParams:
        return default_bath_params()

    @staticmethod
    def _default_gains() -> PIDGains | None:
        return PIDGains(**vars(BATH_GAINS))


class SimRectifier(FaultAccess):
    """A simulated plating rectifier driving a PlatingCell; faults: open_circuit,
    over_temperature."""

    def __init__(
        self,
        name: str,
        time_fn: Callable[[], float],
        params: PlatingParams | None = None,
        seed: int = 0,
        cell: PlatingCell | None = None,
    ) -> None:
        self.name = name
        self.cell = cell or PlatingCell(params, time_fn, seed)
        super().__init__(self.cell)

    async def read(self) -> SimRectifierReading:
        """Output volts/amps, CC/CV, output state, amp-hours and trip flags now."""
        cell = self.cell
        op = cell.read()
        return SimRectifierReading(
            volts=op.volts,
            amps=op.amps,
            mode=op.mode,
            output_on=cell.output_on,
            amp_hours=cell.amp_hours,
            volts_setpoint=cell.voltage_limit_v,
            amps_setpoint=cell.current_setpoint_a,
            over_voltage_trip=cell.trip == "OVP",
            over_current_trip=cell.trip == "OCP",
            over_temperature=cell.over_temperature,
            fault=cell.over_temperature,
        )

    async def set_current(self, amps: float) -> None:
        """Current setpoint (ValueError beyond the rectifier's rating)."""
        self.cell.set_current(amps)

    async def set_voltage_limit(self, volts: float) -> None:
        """Voltage compliance limit (ValueError beyond the rating)."""
        self.cell.set_voltage_limit(volts)

    async def enable(self) -> None:
        """Output on."""
        self.cell.enable()

    async def disable(self) -> None:
        """Output off."""
        self.cell.disable()

    async def safe(self) -> None:
        """Output off, current setpoint 0."""
        self.cell.disable()
        self.cell.set_current(0.0)

    async def close(self) -> None:
        """Nothing to release."""


class SimContactor:
    """The mains contactor feeding a simulated kiln's elements: `SimContactor(name, kiln)`.
    Opening it stops the heat whatever the kiln's relay does (the cure for stuck_relay)."""

    def __init__(self, name: str, kiln: SimKilnController) -> None:
        self.name = name
        self.kiln = kiln
        self.opened = 0
        """How often it was opened (tests)."""

    async def open(self) -> None:
        """Contactor off: no power reaches the elements."""
        self.opened += 1
        self.kiln.plant.set_contactor(False)

    async def is_closed(self) -> bool:
        """Read back: True while power reaches the elements."""
        return self.kiln.plant.contactor_closed

    async def close(self) -> None:
        """Nothing to release (the contactor stays as it is)."""
