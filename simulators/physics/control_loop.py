"""A simulated temperature controller's loop: ramped working setpoint, PID, manual mode and
safe output on sensor break, sampling a KilnModel-type plant at a fixed period.

Shared by the Eurotherm 3216, Omron E5CC and io-module-free in-process controllers, and by
the plating-tank heater (whose bath is also a KilnModel with bath parameters).
"""

from __future__ import annotations

from collections.abc import Callable

from simulators.physics.controller_pid import PID, PIDGains
from simulators.physics.kiln import KilnModel


class ControlLoop:
    """The controller side of one heated plant.

    Every `period_s` of simulated time it ramps the working setpoint towards the target at
    `rate_c_per_s` (0 = jump), reads the thermocouple and sets the plant's output: 0 on a
    sensor break (as real controllers do: heat off is the safe state), the manual output in
    manual mode, else PID + setpoint-rate feed-forward. Between samples the plant runs with
    the last output. `ff_pct_per_c_per_s` is the output needed per °C/s of ramp (heat
    capacity / element power × 100); it lets the simulated controller track ramps the way a
    well-tuned real one does; 0 gives a plain PID.
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
        """False = stopped (Omron STOP): output 0, no control."""
        self.sensor_break = False
        self._next_sample = plant.t

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
            self._sample(period)
            self._next_sample += period
        self.plant.advance_to(t)

    def _sample(self, dt_s: float) -> None:
        last_wsp = self.working_sp_c
        if self.rate_c_per_s > 0 and self.working_sp_c != self.target_sp_c:
            step = self.rate_c_per_s * dt_s
            delta = self.target_sp_c - self.working_sp_c
            self.working_sp_c = (
                self.target_sp_c if abs(delta) <= step else self.working_sp_c + step * (
                    1.0 if delta > 0 else -1.0
                )
            )
        pv = self.plant.measured_c()
        self.sensor_break = pv is None
        if pv is None or not self.running:
            out = 0.0
        elif self.manual:
            out = self.manual_output_pct
        else:
            ff = self.ff_pct_per_c_per_s * (self.working_sp_c - last_wsp) / dt_s
            out = self.pid.update(self.working_sp_c, pv, dt_s, min(100.0, max(-100.0, ff)))
        self.output_pct = out
        self.plant.power_frac = out / 100.0

    # -- readings -------------------------------------------------------------------------

    def pv_c(self) -> float | None:
        """Thermocouple reading now (None on sensor break)."""
        self.sync()
        return self.plant.measured_c()
