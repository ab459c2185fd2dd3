"""Lumped thermal model of a small electric enamelling kiln, integrated lazily in sub-steps.

One thermal node (chamber walls + furniture + load) heated by the elements and losing heat
by conduction through the insulation (linear in T - ambient) and by a radiation-like term
(linear in T⁴ - T_ambient⁴), which is what makes the kiln top out near 1000-1050 °C. The
thermocouple is a first-order lag behind the chamber plus Gaussian noise. Opening the door
adds a large extra conductance to ambient.

Calibration (defaults, against PROCESS.md "Simulator calibration targets"; checked by
tests/simulators/test_sim_kiln.py):

* 1.8 kW elements, empty kiln heat capacity 5.8 kJ/K (chamber ~20x20x15 cm of
  lightweight brick, shelf and furniture);
* losses G·ΔT + K·(T⁴ - Ta⁴) with G = 0.30 W/K, K = 5.0e-10 W/K⁴ give ~0.87 kW at 790 °C
  (holds at ~48 % output) and balance the 1.8 kW at ~1042 °C (top temperature);
* heat-up 20 -> 790 °C at full power: ~51 min; cooling 790 -> 500 °C door shut: ~55 min;
* thermocouple lag 30 s, noise σ 0.3 °C;
* door open adds 8 W/K: a one-minute load at 790 °C drops the chamber ~60 °C (the
  lagging thermocouple ~35 °C) and it recovers in ~6 min at full power; real kilns recover
  in 1-3 min because mostly the air and hot faces cool, which one node cannot separate;
* loaded pins add mass × specific heat (copper 385 J/(kg·K)): 1 kg adds 385 J/K.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from simulators.physics.faults import FaultSet

KELVIN = 273.15

KILN_FAULTS = ("tc_open", "element_failure", "stuck_relay")
"""Device faults a kiln (or any heated plant built on KilnModel) accepts."""


@dataclass(frozen=True)
class KilnParams:
    """Physical parameters of a kiln; defaults are the 1.8 kW enamelling kiln of PROCESS.md."""

    power_w: float = 1800.0
    """Element power at 100 % output."""
    ambient_c: float = 20.0
    """Room temperature, and the kiln's starting temperature unless initial_c is given."""
    chamber_heat_capacity_j_per_k: float = 5800.0
    """Heat capacity of the empty kiln (walls' hot face, shelf, furniture), both nodes."""
    hot_face_heat_capacity_j_per_k: float = 400.0
    """The part of the chamber heat capacity in the fast node the thermocouple sees: the
    chamber air, the hot face of the brick, the shelf surface. The rest is the brick mass
    node. Equal to chamber_heat_capacity_j_per_k: a one-node model."""
    hot_face_coupling_w_per_k: float = 25.0
    """Heat exchange between the hot face and the brick mass behind it, W/K."""
    load_mass_kg: float = 0.0
    """Mass of pins and trivets in the kiln."""
    load_specific_heat_j_per_kg_k: float = 385.0
    """Specific heat of the load (copper 385, brass 380, steel trivets ~490)."""
    conductance_w_per_k: float = 0.30
    """Conduction loss through the insulation, W per K above ambient."""
    radiation_w_per_k4: float = 5.0e-10
    """Radiation-like loss coefficient on (T⁴ - Ta⁴), T in kelvin."""
    door_open_conductance_w_per_k: float = 5.0
    """Extra loss from the hot face to ambient while the door is open."""
    tc_time_constant_s: float = 30.0
    """First-order lag of the thermocouple behind the chamber."""
    tc_noise_c: float = 0.3
    """Standard deviation of the thermocouple reading noise."""
    initial_c: float | None = None
    """Starting chamber temperature (default: ambient)."""
    max_step_s: float = 1.0
    """Longest integration sub-step; the model is stable and accurate at 1 s."""

    def __post_init__(self) -> None:
        if not 0.0 < self.hot_face_heat_capacity_j_per_k <= self.chamber_heat_capacity_j_per_k:
            raise ValueError("hot_face_heat_capacity_j_per_k must be in 0..chamber capacity")

    @property
    def load_heat_capacity_j_per_k(self) -> float:
        """The load's heat capacity (it sits in the hot-face node)."""
        return self.load_mass_kg * self.load_specific_heat_j_per_kg_k

    @property
    def heat_capacity_j_per_k(self) -> float:
        """Chamber (both nodes) plus load."""
        return self.chamber_heat_capacity_j_per_k + self.load_heat_capacity_j_per_k


class KilnModel:
    """A heated thermal node with a lagging, noisy thermocouple; time comes from `time_fn`.

    Set `power_frac` (0..1) with `set_power`; `advance_to(t)` integrates up to simulated time
    t in sub-steps of at most `max_step_s`. `sync()` advances to `time_fn()`; devices call it
    on every access, so no thread or timer is needed and virtual-time runs are deterministic.
    """

    def __init__(
        self,
        params: KilnParams | None = None,
        time_fn: Callable[[], float] | None = None,
        seed: int = 0,
    ) -> None:
        self.params = p = params or KilnParams()
        self._time_fn = time_fn
        self._rng = random.Random(seed)
        self.t = time_fn() if time_fn is not None else 0.0
        start = p.ambient_c if p.initial_c is None else p.initial_c
        self.chamber_c = start
        """Chamber (and load) temperature, °C."""
        self.tc_c = start
        """Thermocouple junction temperature (lagged chamber), °C, before noise."""
        self.power_frac = 0.0
        """Commanded heating output 0..1 (what the controller asks, not what heats).
        `set_power` applies a new value from now; assigning the attribute applies it from
        the model's own time `t` (what a loop that steps the model itself does)."""
        self.door_open = False
        self.faults = FaultSet(KILN_FAULTS)
        self._noise_c = self._rng.gauss(0.0, p.tc_noise_c) if p.tc_noise_c > 0 else 0.0
        # Constants for the full-length sub-step, precomputed: the hot path is one step per
        # simulated second.
        self._inv_c = 1.0 / p.heat_capacity_j_per_k
        self._ambient_k4 = (p.ambient_c + KELVIN) ** 4
        self._alpha_full = 1.0 - math.exp(-p.max_step_s / p.tc_time_constant_s)

    # -- inputs ---------------------------------------------------------------------------

    def set_power(self, frac: float) -> None:
        """Command heating output (clamped to 0..1) from now on."""
        self.sync()
        self.power_frac = min(1.0, max(0.0, frac))

    def set_door(self, open_: bool) -> None:
        """Open or shut the door from now on."""
        self.sync()
        self.door_open = open_

    @property
    def heater_power_w(self) -> float:
        """Power the elements actually deliver, after element_failure / stuck_relay faults."""
        faults = self.faults.active
        if faults:
            if "element_failure" in faults:
                return 0.0
            if "stuck_relay" in faults:
                return self.params.power_w
        return self.params.power_w * self.power_frac

    def inject(self, fault: str) -> None:
        """Make a kiln fault active from now on (see KILN_FAULTS)."""
        self.sync()
        self.faults.inject(fault)

    def clear(self, fault: str | None = None) -> None:
        """Clear one fault, or all."""
        self.sync()
        self.faults.clear(fault)

    # -- outputs --------------------------------------------------------------------------

    @property
    def tc_open(self) -> bool:
        """The thermocouple circuit is open (no reading)."""
        return "tc_open" in self.faults.active

    def measured_c(self) -> float | None:
        """Thermocouple reading at the model's current time (None when the TC is open)."""
        if "tc_open" in self.faults.active:
            return None
        return self.tc_c + self._noise_c

    # -- integration ----------------------------------------------------------------------

    def sync(self) -> None:
        """Advance to the time function's now (no-op without a time function)."""
        if self._time_fn is not None:
            self.advance_to(self._time_fn())

    def advance_to(self, t: float) -> None:
        """Integrate from the model's time to `t` in sub-steps of at most max_step_s."""
        step = self.params.max_step_s
        while t - self.t >= step:
            self._step(step, self._alpha_full)
            self.t += step
        rest = t - self.t
        if rest > 1e-9:
            self._step(rest, 1.0 - math.exp(-rest / self.params.tc_time_constant_s))
            self.t = t

    def _step(self, dt: float, tc_alpha: float) -> None:
        p = self.params
        temp = self.chamber_c
        tk = temp + KELVIN
        tk2 = tk * tk
        loss = p.conductance_w_per_k * (temp - p.ambient_c) + p.radiation_w_per_k4 * (
            tk2 * tk2 - self._ambient_k4
        )
        if self.door_open:
            loss += p.door_open_conductance_w_per_k * (temp - p.ambient_c)
        self.chamber_c = temp + dt * (self.heater_power_w - loss) * self._inv_c
        self.tc_c += tc_alpha * (self.chamber_c - self.tc_c)
        if p.tc_noise_c > 0:
            self._noise_c = self._rng.gauss(0.0, p.tc_noise_c)
