"""PID for direct mode (software control writing SSR duty), simple-pid style.

Time is passed in (`update(sp, pv, t)`), so tests and the virtual clock drive it exactly.
Derivative acts on the measurement (no kick when the setpoint moves); the integral is
clamped so the output stays within limits (anti-windup); a feed-forward term proportional
to the ramp rate supplies the extra power a ramp needs before any error builds up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PidGains:
    """Gains in %-output per °C (kp), per °C·s (ki), per °C/s (kd); kff in % per °C/h of
    ramp rate; bias_pct is a static output that holds the kiln near typical temperatures.

    Defaults suit the 1.8 kW / 5.8 kJ/K enamelling kiln of docs/process.md (30 s thermocouple
    lag): kff ≈ heat capacity / power, i.e. the extra output a ramp needs
    (bench/bench_control_quality.py: RMS 0.55 °C on ramps, overshoot < 1.3 °C)."""

    kp: float = 6.0
    ki: float = 0.01
    kd: float = 60.0
    kff: float = 0.13
    bias_pct: float = 0.0


class Pid:
    """One loop: output % = bias + kp·e + ∫ki·e dt − kd·dpv/dt + kff·rate, within limits."""

    def __init__(self, gains: PidGains, out_min: float = 0.0, out_max: float = 100.0) -> None:
        if out_min >= out_max:
            raise ValueError(f"output limits reversed: {out_min} >= {out_max}")
        self.gains = gains
        self.out_min = out_min
        self.out_max = out_max
        self.integral = 0.0
        self._last_t: float | None = None
        self._last_pv: float | None = None
        self.output = 0.0

    def reset(self) -> None:
        """Forget history (after a pause, a comms gap, or a mode change)."""
        self.integral = 0.0
        self._last_t = None
        self._last_pv = None

    def update(self, sp: float, pv: float, t: float, rate_c_per_h: float = 0.0) -> float:
        """New output for the reading pv at time t, setpoint sp and feed-forward rate."""
        g = self.gains
        error = sp - pv
        dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
        d_pv = 0.0
        if dt > 0.0 and self._last_pv is not None:
            d_pv = (pv - self._last_pv) / dt
        fixed = g.bias_pct + g.kp * error - g.kd * d_pv + g.kff * rate_c_per_h
        # Anti-windup by conditional integration: do not integrate further into saturation.
        candidate = self.integral + g.ki * error * dt
        unclamped = fixed + candidate
        saturating = (unclamped > self.out_max and error > 0) or (
            unclamped < self.out_min and error < 0
        )
        if not saturating:
            self.integral = min(max(candidate, -self.out_max), self.out_max)
        out = min(max(fixed + self.integral, self.out_min), self.out_max)
        self._last_t = t
        self._last_pv = pv
        self.output = out
        return out
