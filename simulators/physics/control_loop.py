"""A simulated temperature controller's loop: ramped working setpoint, PID, manual mode and
safe output on sensor break, sampling a KilnModel-type plant at a fixed period.

Shared by the Eurotherm 3216, Omron E5CC and io-module-free in-process controllers, and by
the plating-tank heater (whose bath is also a KilnModel with bath parameters).
"""

from __future__ import annotations

from collections.abc import Callable

from simulators.physics.controller_pid import PID, PIDGains
from simulators.physics.kiln import KilnModel

MAX_STREAM_INTERVAL_S = 30.0
"""Setpoint changes further apart than this are steps, not a streamed ramp."""


class ControlLoop:
    """The controller side of one heated plant.

    Every `period_s` of simulated time it ramps the working setpoint towards the target at
    `rate_c_per_s` (0 = jump), reads the thermocouple and sets the plant's output: 0 on a
    sensor break (as real controllers do: heat off is the safe state), the manual output in
    manual mode, else PID + setpoint-rate feed-forward. Between samples the plant runs with
    the last output. `ff_pct_per_c_per_s` is the output needed per °C/s of ramp (heat
    capacity / element power × 100), applied to the rate the working setpoint moves at
    (ramped here or streamed by a master); it lets the simulated controller track ramps
    and stop at holds the way a well-tuned real one does; 0 gives a plain PID.
    """

    def __init__(
        self,
        plant: KilnModel,
        time_fn: Callable[[], float],
        gains: PIDGains | None = None,
        *,
        period_s: float = 1.0,
        ff_pct_per_c_per_s: float | None = None,
    ) -> None:
        self.plant = plant
        self._time_fn = time_fn
        self.pid = PID(gains)
        self.period_s = period_s
        p = plant.params
        self.ff_pct_per_c_per_s = (
            100.0 * p.heat_capacity_j_per_k / p.power_w
            if ff_pct_per_c_per_s is None
            else ff_pct_per_c_per_s
        )
        start = plant.chamber_c
        self.target_sp_c = start
        """Setpoint the working setpoint ramps towards."""
        self.working_sp_c = start
        """Ramped setpoint the PID regulates to."""
        self.rate_c_per_s = 0.0
        """Setpoint rate limit (0 = off: the working setpoint jumps)."""
        self.manual = False
        self.manual_output_pct = 0.0
        self.output_pct = 0.0
        """Output the controller demands (what it would show as WRK.OP / MV)."""
        self.running = True
        """False = stopped (Omron STOP): output 0 (the MV at stop), no control; a manual
        output still wins."""
        self.sensor_break = False
        self._next_sample = plant.t
        # Setpoint-rate estimate for the feed-forward, from the working setpoint's changes,
        # whether the controller ramps it or a master streams it (every 1 s or every 5 s).
        self._ff_rate_c_per_s = 0.0
        self._last_change_sp = start
        self._last_change_t = plant.t
        self._change_interval_s = period_s

    # -- commands (each first brings the loop up to now) ----------------------------------

    def set_target(self, sp_c: float) -> None:
        """New target setpoint; the working setpoint ramps to it at the rate limit."""
        self.sync()
        self.target_sp_c = sp_c
        if self.rate_c_per_s <= 0:
            self.working_sp_c = sp_c

    def set_rate(self, rate_c_per_s: float) -> None:
        """Setpoint rate limit, °C/s (0 = off)."""
        self.sync()
        self.rate_c_per_s = max(0.0, rate_c_per_s)

    def set_manual(self, manual: bool, output_pct: float | None = None) -> None:
        """Switch auto/manual bumplessly; optionally give the manual output."""
        self.sync()
        if manual and not self.manual:
            self.manual_output_pct = self.output_pct
        if not manual and self.manual:
            self.pid.reset(self.output_pct)
            # The working setpoint restarts from the PV, as controllers do on mode change.
            pv = self.plant.measured_c()
            if pv is not None and self.rate_c_per_s > 0:
                self.working_sp_c = pv
        self.manual = manual
        if output_pct is not None:
            self.manual_output_pct = min(100.0, max(0.0, output_pct))

    def set_running(self, running: bool) -> None:
        """Run (control) or stop (output 0)."""
        self.sync()
        if running and not self.running:
            self.pid.reset(0.0)
        self.running = running

    # -- integration ----------------------------------------------------------------------

    def sync(self) -> None:
        """Bring the loop and its plant up to the time function's now."""
        self.advance_to(self._time_fn())

    def advance_to(self, t: float) -> None:
        """Run control samples and plant physics up to simulated time t."""
        period = self.period_s
        while self._next_sample <= t:
            self.plant.advance_to(self._next_sample)
            self._sample(self._next_sample, period)
            self._next_sample += period
        self.plant.advance_to(t)

    def _sample(self, now: float, dt_s: float) -> None:
        if self.rate_c_per_s > 0 and self.working_sp_c != self.target_sp_c:
            step = self.rate_c_per_s * dt_s
            delta = self.target_sp_c - self.working_sp_c
            self.working_sp_c = (
                self.target_sp_c
                if abs(delta) <= step
                else self.working_sp_c + step * (1.0 if delta > 0 else -1.0)
            )
        pv = self.plant.measured_c()
        self.sensor_break = pv is None
        if pv is None:
            out = 0.0
        elif self.manual:
            # The manual MV wins over STOP (MV priority: manual > at stop > at PV error).
            out = self.manual_output_pct
        elif not self.running:
            out = 0.0
        else:
            ff = self.ff_pct_per_c_per_s * self._setpoint_rate(now)
            out = self.pid.update(self.working_sp_c, pv, dt_s, min(100.0, max(-100.0, ff)))
        self.output_pct = out
        self.plant.power_frac = out / 100.0

    def _setpoint_rate(self, now: float) -> float:
        """°C/s the working setpoint is moving at: the last change over the time since the
        change before; 0 once changes stop coming, and for isolated steps."""
        wsp = self.working_sp_c
        if wsp != self._last_change_sp:
            interval = now - self._last_change_t
            self._change_interval_s = interval
            self._ff_rate_c_per_s = (
                (wsp - self._last_change_sp) / interval
                if 0 < interval <= MAX_STREAM_INTERVAL_S
                else 0.0
            )
            self._last_change_sp = wsp
            self._last_change_t = now
        elif now - self._last_change_t > 1.5 * self._change_interval_s:
            self._ff_rate_c_per_s = 0.0
        return self._ff_rate_c_per_s

    # -- readings -------------------------------------------------------------------------

    def pv_c(self) -> float | None:
        """Thermocouple reading now (None on sensor break)."""
        self.sync()
        return self.plant.measured_c()
