"""Estimates for `kilnctl show`: firing duration, setpoint trajectory and energy; plating
time, amp-hours and thickness. Planning figures, not predictions: `kilnctl simulate` runs
the real engine against a simulated kiln for those.

Assumptions (docs/process.md simulator calibration, stated so a reader can judge the numbers):
- a "max" heating ramp climbs at FULL_POWER_RATE_C_PER_H (a 1.8 kW kiln reaches 790 °C from
  20 °C in 30–60 min: ≈ 1000 °C/h);
- a "max" cooling segment is free cooling, Newtonian towards AMBIENT_C with time constant
  COOLING_TAU_H (790 -> 500 °C in ~1 h with the door shut);
- elements are on 100 % of a "max" heating ramp; holding takes HOLD_DUTY_AT_790 at 790 °C,
  in proportion to (T - ambient) elsewhere; a controlled ramp adds rate/full-power-rate
  on top of the holding duty; cooling takes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kilnctl.recipes import faraday
from kilnctl.recipes.models import FiringProfile, PlatingRecipe, PlatingStep

AMBIENT_C = 20.0
FULL_POWER_RATE_C_PER_H = 1000.0
COOLING_TAU_H = 1.0 / math.log((790.0 - AMBIENT_C) / (500.0 - AMBIENT_C))  # ≈ 2.1 h
HOLD_DUTY_AT_790 = 0.5  # docs/process.md: holds 790 °C at roughly 40–60 % output
DEFAULT_KILN_KW = 1.8  # docs/process.md: 1.8 kW, 120 V / 15 A class enamelling kiln
# Free cooling never quite reaches ambient; stop the estimate this far above it.
_COOLING_FLOOR_MARGIN_C = 5.0


@dataclass(frozen=True)
class SegmentEstimate:
    """Planned times of one segment and the element on-time it needs."""

    start_c: float
    ramp_s: float
    hold_s: float
    on_time_s: float

    @property
    def total_s(self) -> float:
        """Ramp plus hold."""
        return self.ramp_s + self.hold_s


@dataclass(frozen=True)
class FiringEstimate:
    """Estimated schedule of a firing profile."""

    segments: list[SegmentEstimate]
    trajectory: list[tuple[float, float]]  # (t s, setpoint °C)
    power_kw: float

    @property
    def duration_s(self) -> float:
        """Whole schedule."""
        return sum(s.total_s for s in self.segments)

    @property
    def on_time_s(self) -> float:
        """Element on-time (full-power equivalent)."""
        return sum(s.on_time_s for s in self.segments)

    @property
    def energy_kwh(self) -> float:
        """kW × estimated on-time."""
        return self.power_kw * self.on_time_s / 3600.0


def _hold_duty(temp_c: float) -> float:
    return min(1.0, max(0.0, HOLD_DUTY_AT_790 * (temp_c - AMBIENT_C) / (790.0 - AMBIENT_C)))


def _cooling_hours(start_c: float, target_c: float) -> float:
    floor = AMBIENT_C + _COOLING_FLOOR_MARGIN_C
    start, target = max(start_c, floor), max(target_c, floor)
    if target >= start:
        return 0.0
    return COOLING_TAU_H * math.log((start - AMBIENT_C) / (target - AMBIENT_C))


def estimate_firing(
    profile: FiringProfile, start_c: float = AMBIENT_C, power_kw: float = DEFAULT_KILN_KW
) -> FiringEstimate:
    """Times, setpoint trajectory and energy of `profile` starting from `start_c`."""
    segments: list[SegmentEstimate] = []
    trajectory: list[tuple[float, float]] = [(0.0, start_c)]
    t = 0.0
    current = start_c
    for seg in profile.segments:
        delta = seg.target_c - current
        mean_c = (seg.target_c + current) / 2.0
        if delta >= 0:
            rate = seg.rate_c_per_h or FULL_POWER_RATE_C_PER_H
            ramp_h = delta / rate
            duty = (
                1.0
                if seg.rate_c_per_h is None
                else min(1.0, _hold_duty(mean_c) + rate / FULL_POWER_RATE_C_PER_H)
            )
            on_h = ramp_h * duty
            trajectory.append((t + ramp_h * 3600.0, seg.target_c))
        elif seg.rate_c_per_h is None:
            ramp_h = _cooling_hours(current, seg.target_c)
            on_h = 0.0
            # Sample the exponential so the plot shows the curve, not a chord.
            for i in range(1, 9):
                frac = i / 8
                temp = AMBIENT_C + (max(current, AMBIENT_C + 1) - AMBIENT_C) * math.exp(
                    -frac * ramp_h / COOLING_TAU_H
                )
                trajectory.append((t + frac * ramp_h * 3600.0, max(temp, seg.target_c)))
        else:
            # A controlled cool can go no faster than free cooling.
            ramp_h = max(-delta / seg.rate_c_per_h, _cooling_hours(current, seg.target_c))
            on_h = ramp_h * max(
                0.0, _hold_duty(mean_c) - seg.rate_c_per_h / FULL_POWER_RATE_C_PER_H
            )
            trajectory.append((t + ramp_h * 3600.0, seg.target_c))
        ramp_s = ramp_h * 3600.0
        hold_on_s = seg.hold_s * _hold_duty(seg.target_c)
        segments.append(SegmentEstimate(current, ramp_s, seg.hold_s, on_h * 3600.0 + hold_on_s))
        t += ramp_s
        if seg.hold_s > 0:
            t += seg.hold_s
            trajectory.append((t, seg.target_c))
        current = seg.target_c
    return FiringEstimate(segments, trajectory, power_kw)


@dataclass(frozen=True)
class StepEstimate:
    """Planned figures of one plating step (None where the lot area is needed but unknown)."""

    duration_s: float | None
    current_a: float | None
    amp_hours: float | None
    thickness_um: float | None


def estimate_step(step: PlatingStep, area_dm2: float | None) -> StepEstimate:
    """Time, current, amp-hours and thickness of one step for a lot of `area_dm2`.

    A soft start ramps linearly from 0, so it passes half the charge of its duration; the
    step's time includes it."""
    if step.kind == "timed":
        return StepEstimate(step.duration_s, None, None, None)
    end = step.end
    if end is None:  # the model forbids this for electro steps; keep mypy and readers honest
        return StepEstimate(None, None, None, None)
    # Work per dm² when the step is given as a density: time and thickness then do not
    # depend on the area, only current and amp-hours do.
    per_dm2 = step.current_density_a_dm2 is not None
    amps = step.current_density_a_dm2 if per_dm2 else step.current_a
    assert amps is not None
    area_for_faraday = 1.0 if per_dm2 else area_dm2
    lost_s = min(step.soft_start_s, end.time_s or step.soft_start_s) / 2.0
    charge: float | None
    if end.time_s is not None:
        seconds: float | None = end.time_s
        charge = amps * (end.time_s - lost_s) / 3600.0
    elif end.amp_hours is not None:
        total_ah = end.amp_hours
        if per_dm2:
            if area_dm2 is None:
                return StepEstimate(None, None, total_ah, None)
            total_ah = end.amp_hours / area_dm2
        charge = total_ah
        seconds = faraday.seconds_for(total_ah, amps) + lost_s
    else:
        assert end.thickness_um is not None and step.deposit is not None
        if area_for_faraday is None:
            return StepEstimate(None, None, None, end.thickness_um)
        charge = faraday.amp_hours_for(
            step.deposit, end.thickness_um, area_for_faraday, step.efficiency
        )
        seconds = faraday.seconds_for(charge, amps) + lost_s
    thickness: float | None = None
    if end.thickness_um is not None:
        thickness = end.thickness_um
    elif step.deposit is not None and area_for_faraday is not None:
        thickness = faraday.thickness_um(step.deposit, charge, area_for_faraday, step.efficiency)
    if per_dm2:
        scale = area_dm2
        current = None if scale is None else amps * scale
        charge = None if scale is None else charge * scale
    else:
        current = amps
    return StepEstimate(seconds, current, charge, thickness)


def plating_duration_s(recipe: PlatingRecipe, area_dm2: float | None) -> float | None:
    """Planned seconds of a whole plating recipe for a lot of `area_dm2` (the sum of
    estimate_step's times); None when a step's time is not known without the area."""
    parts = [estimate_step(s, area_dm2).duration_s for s in recipe.steps]
    return None if any(p is None for p in parts) else sum(p or 0.0 for p in parts)
