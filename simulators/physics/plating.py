"""Electroplating cell: a CC/CV rectifier driving a bath (back-EMF + resistance), amp-hour
and watt-hour counting, and the bath's heater and temperature.

Electrical model (defaults: a ~60 L Watts nickel tank with a 100 A / 20 V rectifier):

* the cell conducts only above its decomposition voltage E0: V = E0 + I·R;
  E0 = 1.8 V, R = 0.09 Ω at 25 °C, falling with temperature by 1.5 %/°C (conductivity
  rises) -> ~4.0 V at 36 A and 58 °C, in the 3-6 V range of real nickel tanks;
* the rectifier regulates current (CC) while E0 + I_set·R is under the voltage limit, else
  it holds the voltage limit (CV) and I = (V_lim - E0) / R;
* amp-hours and watt-hours integrate the true current / power; "process time" counts
  seconds with the output on; readings carry ±0.2 % (σ) ripple noise from the seeded RNG;
* faults: `open_circuit` (rack contact open: no current, the voltage rises to the limit,
  CV) and `over_temperature` (the rectifier trips its output off and shows the flag until
  cleared; it then needs a new enable) and `output_stuck` (a shorted output stage: the
  current set when it struck flows whatever the output switch and setpoint say);
* over-voltage / over-current protection: with levels set (`set_protection`), the output
  trips off as soon as its voltage / current reaches a level, and `trip` says which
  ("OVP" / "OCP") until the next enable (which trips again at once if the cause remains).

Thermal model of the bath: a KilnModel with bath parameters (3 kW immersion heater, 60 L of
solution ≈ 260 kJ/K, 25 W/K losses to a 20 °C room, probe lag 20 s, noise σ 0.1 °C): it
reaches 58 °C from 20 °C in ~66 min and holds 58 °C at ~32 % heater output. Plating
current's Joule heat (~100 W) is neglected next to the heater.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from simulators.physics.faults import FaultSet
from simulators.physics.kiln import KilnModel, KilnParams

RECTIFIER_FAULTS = ("open_circuit", "over_temperature", "output_stuck")
"""Device faults a rectifier accepts."""


def default_bath_params() -> KilnParams:
    """Thermal parameters of a ~60 L heated plating tank (see the module docstring)."""
    return KilnParams(
        power_w=3000.0,
        ambient_c=20.0,
        chamber_heat_capacity_j_per_k=260_000.0,
        hot_face_heat_capacity_j_per_k=260_000.0,  # one well-stirred node: the solution
        conductance_w_per_k=25.0,
        radiation_w_per_k4=0.0,
        door_open_conductance_w_per_k=0.0,
        tc_time_constant_s=20.0,
        tc_noise_c=0.1,
    )


@dataclass(frozen=True)
class PlatingParams:
    """Cell and rectifier parameters."""

    decomposition_v: float = 1.8
    """E0: the cell passes no current below this voltage (back-EMF + overpotentials)."""
    bath_resistance_ohm: float = 0.09
    """Solution + contact resistance at 25 °C."""
    resistance_temp_coeff_per_c: float = 0.015
    """Conductivity rise per °C above 25 °C (R = R25 / (1 + k·(T - 25)))."""
    max_current_a: float = 100.0
    """Rectifier rating: largest current setpoint accepted."""
    max_voltage_v: float = 20.0
    """Rectifier rating: largest voltage limit accepted."""
    noise_frac: float = 0.002
    """σ of the readings' ripple noise, as a fraction of the reading."""
    ambient_c: float = 25.0
    """Air around the rectifier (its internal temperature starts here)."""
    internal_rise_c_per_w: float = 0.05
    """Internal temperature rise per watt delivered."""
    bath: KilnParams = field(default_factory=default_bath_params)
    """Bath thermal model."""
    max_step_s: float = 1.0
    """Longest integration sub-step."""


def _check_rating(what: str, value: float, rating: float, unit: str) -> None:
    if not 0.0 <= value <= rating:
        raise ValueError(f"{what} {value} {unit} outside 0..{rating} {unit}")


@dataclass(frozen=True)
class OperatingPoint:
    """What the rectifier delivers at one instant (true values, before reading noise)."""

    volts: float
    amps: float
    mode: str
    """"CC" or "CV"."""


class PlatingCell:
    """A rectifier driving a plating bath; integrates lazily to `time_fn()` like KilnModel."""

    def __init__(
        self,
        params: PlatingParams | None = None,
        time_fn: Callable[[], float] | None = None,
        seed: int = 0,
    ) -> None:
        self.params = p = params or PlatingParams()
        self._time_fn = time_fn
        self._rng = random.Random(seed)
        self.t = time_fn() if time_fn is not None else 0.0
        self.bath = KilnModel(p.bath, time_fn, seed=seed + 1)
        self.advance_bath: Callable[[float], None] = self.bath.advance_to
        """How the cell brings its bath up to a time; a heater loop replaces it with its own
        advance_to so the bath is stepped by one owner only."""
        self.current_setpoint_a = 0.0
        self.voltage_limit_v = p.max_voltage_v
        self.output_on = False
        self.faults = FaultSet(RECTIFIER_FAULTS)
        self._stuck_a = 0.0
        """Current the shorted output stage drives (output_stuck fault)."""
        self.amp_hours = 0.0
        self.watt_hours = 0.0
        self.on_time_s = 0.0
        """Seconds with the output on (a rectifier's "process time")."""
        self.ovp_v = math.inf
        """Over-voltage protection level, V (inf: off)."""
        self.ocp_a = math.inf
        """Over-current protection level, A (inf: off)."""
        self.trip: str | None = None
        """"OVP" / "OCP" once a protection has tripped the output off, until enabled."""
        self._noise_v = 0.0
        self._noise_i = 0.0

    # -- commands -------------------------------------------------------------------------

    def set_current(self, amps: float) -> None:
        """Current setpoint; ValueError outside 0..max_current_a."""
        _check_rating("current", amps, self.params.max_current_a, "A")
        self.sync()
        self.current_setpoint_a = amps
        self._protect()

    def set_voltage_limit(self, volts: float) -> None:
        """Voltage compliance limit; ValueError outside 0..max_voltage_v."""
        _check_rating("voltage", volts, self.params.max_voltage_v, "V")
        self.sync()
        self.voltage_limit_v = volts
        self._protect()

    def enable(self) -> None:
        """Output on (stays off while the over-temperature trip is active); resets an
        OVP/OCP trip, which trips again at once if its cause remains."""
        self.sync()
        self.output_on = not self.over_temperature
        self.trip = None
        self._protect()

    def disable(self) -> None:
        """Output off."""
        self.sync()
        self.output_on = False

    def inject(self, fault: str) -> None:
        """Inject a rectifier fault; over_temperature trips the output off at once."""
        self.sync()
        self.faults.inject(fault)
        if fault == "output_stuck":
            self._stuck_a = self.current_setpoint_a if self.output_on else 0.0
        if fault == "over_temperature":
            self.output_on = False
        self._protect()

    def clear(self, fault: str | None = None) -> None:
        """Clear one fault or all; a tripped output stays off until enabled again."""
        self.sync()
        self.faults.clear(fault)
        self._protect()

    def set_protection(self, ovp_v: float = math.inf, ocp_a: float = math.inf) -> None:
        """Over-voltage / over-current protection levels (inf: off), effective at once."""
        self.sync()
        self.ovp_v = ovp_v
        self.ocp_a = ocp_a
        self._protect()

    def _protect(self) -> bool:
        """Trip the output off if it reaches a protection level; True if it did."""
        if not self.output_on or self.ovp_v == self.ocp_a == math.inf:
            return False
        op = self.operating_point()
        if op.volts > 0.0 and op.volts >= self.ovp_v:
            self.trip = "OVP"
        elif op.amps > 0.0 and op.amps >= self.ocp_a:
            self.trip = "OCP"
        else:
            return False
        self.output_on = False
        return True

    # -- state ----------------------------------------------------------------------------

    @property
    def over_temperature(self) -> bool:
        """The rectifier's over-temperature trip flag."""
        return "over_temperature" in self.faults.active

    def resistance_ohm(self) -> float:
        """Bath resistance at the bath's present temperature."""
        p = self.params
        factor = 1.0 + p.resistance_temp_coeff_per_c * (self.bath.chamber_c - 25.0)
        return p.bath_resistance_ohm / max(0.2, factor)

    def operating_point(self) -> OperatingPoint:
        """True output at the model's current time (call sync() first for "now")."""
        stuck = "output_stuck" in self.faults.active
        if not (self.output_on or stuck):
            return OperatingPoint(0.0, 0.0, "CV")
        v_lim = self.voltage_limit_v
        if "open_circuit" in self.faults.active:
            return OperatingPoint(v_lim, 0.0, "CV")
        e0 = self.params.decomposition_v
        r = self.resistance_ohm()
        i_set = self._stuck_a if stuck else self.current_setpoint_a
        needed = e0 + i_set * r if i_set > 0 else min(e0, v_lim)
        if needed <= v_lim:
            return OperatingPoint(needed, i_set, "CC")
        return OperatingPoint(v_lim, max(0.0, (v_lim - e0) / r), "CV")

    def read(self) -> OperatingPoint:
        """The operating point now, with reading noise, as a meter would show it."""
        self.sync()
        op = self.operating_point()
        return OperatingPoint(
            max(0.0, op.volts * (1.0 + self._noise_v)),
            max(0.0, op.amps * (1.0 + self._noise_i)),
            op.mode,
        )

    def internal_temp_c(self) -> float:
        """Rectifier's internal temperature (shows ~85 °C while over-temperature)."""
        self.sync()
        if self.over_temperature:
            return 85.0
        op = self.operating_point()
        return self.params.ambient_c + self.params.internal_rise_c_per_w * op.volts * op.amps

    # -- integration ----------------------------------------------------------------------

    def sync(self) -> None:
        """Advance to the time function's now (no-op without a time function)."""
        if self._time_fn is not None:
            self.advance_to(self._time_fn())

    def advance_to(self, t: float) -> None:
        """Integrate counters (and the bath) up to simulated time t."""
        step = self.params.max_step_s
        while t > self.t + 1e-9:
            dt = min(step, t - self.t)
            self.advance_bath(self.t)
            self._protect()  # the bath's temperature moves the operating point
            op = self.operating_point()
            self.amp_hours += op.amps * dt / 3600.0
            self.watt_hours += op.volts * op.amps * dt / 3600.0
            if self.output_on:
                self.on_time_s += dt
            self.t += dt
        self.advance_bath(t)
        noise = self.params.noise_frac
        if noise > 0:
            self._noise_v = self._rng.gauss(0.0, noise)
            self._noise_i = self._rng.gauss(0.0, noise)
