"""Lumped thermal model of a small electric enamelling kiln, integrated lazily in sub-steps.

Two thermal nodes. The hot face (chamber air, the brick's hot face, the shelf surface and
the load) has a small heat capacity; the elements heat it, it loses heat to the room by
conduction through the insulation (linear in T - ambient) and by a radiation-like term
(linear in T⁴ - T_ambient⁴, which is what makes the kiln top out near 1000-1050 °C), and
through the open door. It exchanges heat with the brick mass node (the bulk of the heat
capacity) behind it. The thermocouple sees the hot face through a first-order lag, plus
Gaussian noise. With the door open the hot face cools fast while the brick mass hardly
moves; shut, the mass and the elements bring the hot face back within a couple of minutes,
as real kilns do. In steady state no heat flows between the nodes, so the hold output and
top temperature are those of one node with the losses of the hot face.

Calibration (defaults, against docs/process.md "Kilns", the simulated kiln; checked by
tests/simulators/test_sim_kiln.py):

* 1.8 kW elements, empty kiln heat capacity 5.8 kJ/K (chamber ~20x20x15 cm of
  lightweight brick, shelf and furniture), of which 0.6 kJ/K is the hot face, coupled to
  the brick mass by 25 W/K;
* losses G·ΔT + K·(T⁴ - Ta⁴) with G = 0.30 W/K, K = 5.0e-10 W/K⁴ give ~0.87 kW at 790 °C
  (holds at ~48 % output) and balance the 1.8 kW at ~1042 °C (top temperature);
* heat-up 20 -> 790 °C at full power: ~50 min (the brick mass then ~35 °C behind);
  cooling 790 -> 500 °C door shut: ~55 min;
* thermocouple lag 30 s, noise σ 0.3 °C;
* door open adds 6 W/K (radiation out of the opening and air exchange, ~4.6 kW at
  790 °C): holding 790 °C under the ControlLoop's default PID, opening the door for 30 /
  60 / 90 s drops the PV by ~50 / ~87 / ~111 °C and the PV is back within 5 °C of the
  setpoint ~64 / ~89 / ~119 s after the door shuts, overshooting < 3 °C;
* loaded pins add mass × specific heat (copper 385 J/(kg·K)) to the hot face: 1 kg adds
  385 J/K (and slows the door recovery: ~106 s after a 60 s opening).
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
    """Physical parameters of a kiln; defaults are the 1.8 kW enamelling kiln of docs/process.md."""

    power_w: float = 1800.0
    """Element power at 100 % output."""
    ambient_c: float = 20.0
    """Room temperature, and the kiln's starting temperature unless initial_c is given."""
    chamber_heat_capacity_j_per_k: float = 5800.0
    """Heat capacity of the empty kiln (walls' hot face, shelf, furniture), both nodes."""
    hot_face_heat_capacity_j_per_k: float = 600.0
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
    door_open_conductance_w_per_k: float = 6.0
    """Extra loss from the hot face to ambient while the door is open."""
    tc_time_constant_s: float = 30.0
    """First-order lag of the thermocouple behind the hot face (chamber air)."""
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
    """A heated hot face on a brick mass (two thermal nodes; one for a bath) with a lagging,
    noisy thermocouple; time comes from `time_fn`.

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
        """Hot-face node (chamber air, hot face, load) temperature, °C: what the
        thermocouple sees."""
        self.mass_c = start
        """Brick mass node temperature, °C."""
        self.tc_c = start
        """Thermocouple junction temperature (lagged hot face), °C, before noise."""
        self.power_frac = 0.0
        """Commanded heating output 0..1 (what the controller asks, not what heats).
        `set_power` applies a new value from now; assigning the attribute applies it from
        the model's own time `t` (what a loop that steps the model itself does)."""
        self.door_open = False
        self.contactor_closed = True
        """The mains contactor feeding the elements: open, no element heats, whatever the
        relay (the one cure for a stuck_relay)."""
        self.faults = FaultSet(KILN_FAULTS)
        self._noise_c = self._rng.gauss(0.0, p.tc_noise_c) if p.tc_noise_c > 0 else 0.0
        # Constants, precomputed: the hot path is one step per simulated second.
        self._c_face = p.hot_face_heat_capacity_j_per_k + p.load_heat_capacity_j_per_k
        c_mass = p.chamber_heat_capacity_j_per_k - p.hot_face_heat_capacity_j_per_k
        self._c_mass = c_mass
        self._one_node = c_mass <= 0.0
        """No brick mass (a bath): mass_c just follows the one node."""
        self._coupling = 0.0 if self._one_node else p.hot_face_coupling_w_per_k
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
        """Power the elements actually deliver, after the contactor and the
        element_failure / stuck_relay faults."""
        if not self.contactor_closed:
            return 0.0
        faults = self.faults.active
        if faults:
            if "element_failure" in faults:
                return 0.0
            if "stuck_relay" in faults:
                return self.params.power_w
        return self.params.power_w * self.power_frac

    def set_contactor(self, closed: bool) -> None:
        """Close or open the mains contactor from now on."""
        self.sync()
        self.contactor_closed = closed

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
        # Backward Euler on the linear terms (conduction, door, hot face <-> mass: a 2x2
        # linear system, solved exactly, so the exchanged heat balances), the
        # radiation-like term explicit: stable at any step, however small the hot face.
        p = self.params
        face = self.chamber_c
        tk = face + KELVIN
        tk2 = tk * tk
        to_ambient = p.conductance_w_per_k
        if self.door_open:
            to_ambient += p.door_open_conductance_w_per_k
        face_c_dt = self._c_face / dt
        a = face_c_dt + to_ambient + self._coupling
        b = (
            face_c_dt * face
            + self.heater_power_w
            - p.radiation_w_per_k4 * (tk2 * tk2 - self._ambient_k4)
            + to_ambient * p.ambient_c
        )
        if self._one_node:
            face = b / a
            self.mass_c = face
        else:
            h = self._coupling
            mass_c_dt = self._c_mass / dt
            m = mass_c_dt + h
            mass_b = mass_c_dt * self.mass_c
            det = a * m - h * h
            face = (b * m + h * mass_b) / det
            self.mass_c = (a * mass_b + h * b) / det
        self.chamber_c = face
        self.tc_c += tc_alpha * (face - self.tc_c)
        if p.tc_noise_c > 0:
            self._noise_c = self._rng.gauss(0.0, p.tc_noise_c)
