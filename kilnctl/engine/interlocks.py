"""Interlocks: what is wrong right now, checked on every sample (docs/process.md numbers).

Checkers are stateful only where a condition needs history (failure to heat, stuck relay,
hold band timers, CC->CV). They return {alarm code: message} for every active condition;
the run hands that to AlarmBook.sync and carries out the alarms' safe actions.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from drivers.protocols import RectifierReading, RegulationMode, TemperatureReading
from kilnctl.engine.schedule import DONE, HOLD, RAMP, FiringSchedule


@dataclass(frozen=True)
class KilnLimits:
    """Kiln interlock thresholds; defaults from docs/process.md (controller diagnostics)."""

    trip_c: float | None = None
    """Absolute over-temperature trip (profile trip_c, else the kiln's max temperature)."""
    deviation_c: float = 28.0
    hold_band_c: float = 28.0
    hold_band_s: float = 18.0
    door_grace_s: float = 180.0
    """Below the hold band (door opened to load) is tolerated this much longer."""
    fth_window_s: float = 22.5 * 60
    fth_min_rise_c_per_h: float = 7.0
    full_demand_pct: float = 99.0
    stuck_window_s: float = 60.0
    """PV history judged for a stuck relay (output at 0 all along)."""
    stuck_min_s: float = 20.0
    """The rise is judged once this much output-0 history is there (the noise of a few
    samples must not look like a rise)."""
    stuck_settle_s: float = 90.0
    """A kiln whose heat was just cut (a pause at the PV, the end of a ramp) goes on rising
    for tens of seconds while its thermocouple catches up with the chamber (thermal lag):
    with the PV near its setpoint, a rise counts only once the output has been 0 this long.
    A kiln already `deviation_c` above its setpoint with the output at 0 is no lag: there
    the rise counts after stuck_min_s."""
    stuck_rise_c: float = 3.0
    """A rise this large within stuck_window_s at output 0 is heat nobody commanded: ten
    times the thermocouple noise (σ 0.3 °C); a kiln at 850 °C on a welded relay still
    climbs ~7 °C a minute (simulator, docs/process.md calibration)."""
    stuck_output_pct: float = 0.5
    stuck_recall_s: float = 900.0
    """With the output at 0 the kiln can only come back up to what it already was: a door
    shut after the heat was cut lets the chamber reheat from the walls (+20 °C within two
    minutes on the simulated kiln after a door-open abort at 230 °C), but never above the PV
    read when the heat went off. So, within stuck_reheat_s of the lowest PV, a rise counts
    as a stuck relay only once the PV is above every output-0 reading of the last
    stuck_recall_s before the judged window (a door left open longer than this and then
    shut is judged on the rise alone)."""
    stuck_reheat_s: float = 180.0
    """How long after its lowest PV a kiln with no heat may go on reheating from its walls
    (the door shut): the simulated kiln's reheat is over within ~130 s, its rise over the
    minute that ends 180 s after the lowest PV is under 1.5 °C. Past this, a rise below the
    ceiling counts too: a relay welded while the kiln cools is found within this time even
    when it has not climbed back to where the kiln was."""
    door_window_s: float = 10.0
    """A door or lid opening is judged on the PV fall over this window."""
    door_drop_c: float = 8.0
    """PV falling this much within door_window_s while heating (48 °C/min) is an open door:
    a shut kiln at 790 °C with the power off cools ~4 °C/min; an open door at 790 °C loses
    ~2 °C/s."""
    door_output_pct: float = 50.0
    """The fall counts only while the working output is at least this."""
    door_shut_rise_c: float = 3.0
    """PV rising this much within door_window_s again: the door was shut."""
    stall_window_s: float = 60.0
    """Heat going in, PV not following: at full output (ramping up, PV below its setpoint)
    the PV's rise over the latest stall_window_s is compared with its rise over the one
    before. A door opened low in a max-rate ramp stalls the PV instead of dropping it (at
    250 °C the open door takes about what the elements give). A shut kiln at full output
    slows down smoothly as its losses grow (simulated kiln, 0-20 kg of load, any start:
    at least 5 °C per minute up to its top temperature)."""
    stall_min_rise_c: float = 4.0
    """The earlier window must show the kiln heating at least this much (°C per window)."""
    stall_max_rise_c: float = 2.0
    """The latest window rose at most this much (°C per window) ..."""
    stall_ratio: float = 0.25
    """... and at most this fraction of the earlier window's rise: the rate collapsed."""
    stall_shut_ratio: float = 0.5
    """The door counts as shut again once the PV rises, over a stall window, at least this
    fraction of what it rose before the stall (a heavy load comes back too slowly for the
    3 °C in 10 s of door_shut_rise_c)."""
    pv_min_c: float = -50.0
    pv_max_c: float = 1600.0
    """PV outside [pv_min_c, pv_max_c] is a broken thermocouple, not a temperature."""
    material_max_c: float | None = None
    """Highest temperature the lot's material may see (e.g. ~350 °C for zinc alloy)."""
    remote_sp_fail_s: float = 5.0
    """The controller may flag "remote SP fail" this long (a few periods: a keep-alive
    write arriving just after its timeout) before the run holds."""


KILN_CODES = (
    "door_open",
    "door_open_long",
    "over_temperature",
    "deviation_high",
    "hold_band",
    "failure_to_heat",
    "tc_break",
    "stuck_relay",
    "hold_warn",
    "over_fire",
    "material_limit",
    "controller_manual",
    "remote_sp_fail",
    "remote_sp_fallback",
    "pv_over_range",
    "controller_alarm",
)


class _Window:
    """PV history while a condition holds; emptied when it stops holding."""

    def __init__(self) -> None:
        self.points: deque[tuple[float, float]] = deque()
        self.since: float | None = None
        """When the condition began to hold (the first point since the last reset)."""

    def add(self, t: float, pv: float, window_s: float) -> float | None:
        """Record; returns the PV change over the window once it spans window_s."""
        if self.since is None:
            self.since = t
        self.points.append((t, pv))
        while len(self.points) > 1 and t - self.points[1][0] >= window_s:
            self.points.popleft()
        t0, pv0 = self.points[0]
        return pv - pv0 if t - t0 >= window_s else None

    def reset(self) -> None:
        self.points.clear()
        self.since = None


class _IdleWindow(_Window):
    """Output-0 history for the stuck-relay rule: the judged window, plus the PV readings
    of the last `recall_s` for the ceiling a kiln without heat can come back to."""

    def __init__(self) -> None:
        super().__init__()
        self.recalled: deque[tuple[float, float]] = deque()

    def add_recalled(self, t: float, pv: float, recall_s: float) -> None:
        """Record (t s, PV °C), forgetting readings older than recall_s."""
        self.recalled.append((t, pv))
        while self.recalled and t - self.recalled[0][0] > recall_s:
            self.recalled.popleft()

    def ceiling(self, before_t: float) -> float | None:
        """Highest PV (°C) recalled before `before_t` s, or None with no such reading."""
        return max((pv for ti, pv in self.recalled if ti < before_t), default=None)

    def lowest_t(self) -> float | None:
        """When (s) the lowest PV recalled was read, or None with nothing recalled."""
        return min(self.recalled, key=lambda point: point[1], default=(None, 0.0))[0]

    def reset(self) -> None:
        super().reset()
        self.recalled.clear()


class KilnInterlocks:
    """Checks one kiln's reading against its schedule.

    `remote_sp`: the controller regulates to the setpoint kilnctl streams (setpoint mode).
    In direct mode kilnctl itself puts the controller in manual to write the output, and
    streams no setpoint, so neither the manual nor the remote-SP-fail flag means anything.
    """

    def __init__(self, limits: KilnLimits, *, remote_sp: bool = True) -> None:
        self.limits = limits
        self.remote_sp = remote_sp
        self._heating = _Window()
        self._idle = _IdleWindow()
        self._door = _Window()
        self._full = _Window()  # PV at full output while heating, over two stall windows
        self._minute = _Window()  # PV over one stall window, always
        self._door_open_since: float | None = None
        self._door_why = ""  # what showed the door open
        self._door_rate = 0.0  # rise per stall window before a stall (0: seen by a fall)
        self._below_since: float | None = None
        self._above_since: float | None = None
        self._sp_fail_since: float | None = None

    def check(
        self, t: float, reading: TemperatureReading, schedule: FiringSchedule
    ) -> dict[str, str]:
        lim = self.limits
        found: dict[str, str] = {}
        pv = reading.pv_c
        self._check_status(t, reading, found)
        if reading.sensor_break or not self._pv_in_range(pv):
            found["tc_break"] = f"sensor break (PV reads {pv:.1f} °C)"
            return found  # nothing else can be judged without a temperature
        if reading.over_range:
            found["pv_over_range"] = (
                f"PV beyond the controller's input range (reads {pv:.1f} °C): "
                "true temperature unknown"
            )
            return found  # the reading is not the kiln's temperature
        if lim.trip_c is not None and pv > lim.trip_c:
            found["over_temperature"] = f"PV {pv:.1f} °C > trip {lim.trip_c:.1f} °C"
        if lim.material_max_c is not None and pv > lim.material_max_c:
            found["material_limit"] = f"PV {pv:.1f} °C > {lim.material_max_c:.1f} °C for this lot"
        st = schedule.state
        seg = schedule.segment
        free_cooling = st.phase == RAMP and seg.rate_c_per_h is None and not schedule.heating
        if st.phase != DONE and not free_cooling and pv > st.sp_c + lim.deviation_c:
            found["deviation_high"] = (
                f"PV {pv:.1f} °C > setpoint {st.sp_c:.1f} + {lim.deviation_c:.0f} °C"
            )
        self._check_hold(t, pv, schedule, found)
        self._check_door(t, reading, schedule, found)
        self._check_heating(t, reading, schedule, found, "deviation_high" in found)
        if "stuck_relay" in found:  # the cause first: heat off cannot help a welded relay
            found = {"stuck_relay": found.pop("stuck_relay"), **found}
        return found

    def _pv_in_range(self, pv: float) -> bool:
        """Outside [pv_min_c, pv_max_c] the PV is a broken thermocouple's, not a temperature."""
        return math.isfinite(pv) and self.limits.pv_min_c <= pv <= self.limits.pv_max_c

    def reading_usable(self, reading: TemperatureReading) -> bool:
        """May this reading's PV move the schedule and feed the PID? Not with a sensor
        break, an over-range PV, a PV outside the sensor's range, or (setpoint mode) the
        controller flagging that it does not follow the streamed remote setpoint; the
        run then treats it as a missed reading, and `check` raises its alarm."""
        if reading.sensor_break or reading.over_range or not self._pv_in_range(reading.pv_c):
            return False
        return not (self.remote_sp and reading.remote_sp_fail)
    @property
    def door_open(self) -> bool:
        """A door or lid opening was detected and the PV has not recovered yet."""
        return self._door_open_since is not None

    def _check_door(
        self,
        t: float,
        reading: TemperatureReading,
        schedule: FiringSchedule,
        found: dict[str, str],
    ) -> None:
        """A sudden PV fall while the elements heat hard is the door or lid open: no heat
        loss of a shut kiln falls that fast. Low in a ramp an open door stalls the PV
        instead (`_heat_not_following`). The door counts as open until the PV rises
        again (the heat gets ahead of the losses once it is shut)."""
        lim = self.limits
        pv = reading.pv_c
        self._door.add(t, pv, lim.door_window_s)
        minute = self._minute.add(t, pv, lim.stall_window_s)
        points = self._door.points
        change = pv - points[0][1]
        stalled = self._heat_not_following(t, reading, schedule)
        if self._door_open_since is None:
            if reading.output_pct >= lim.door_output_pct and -change >= lim.door_drop_c:
                self._door_open_since, self._door_rate = t, 0.0
                self._door_why = (
                    f"PV fell {-change:.1f} °C in {t - points[0][0]:.0f} s while heating"
                )
            elif stalled is not None:
                earlier, latest = stalled
                self._door_open_since, self._door_rate = t, earlier
                self._door_why = (
                    f"PV rose {latest:.1f} °C in the last {lim.stall_window_s:.0f} s at full "
                    f"output, after {earlier:.1f} °C in the {lim.stall_window_s:.0f} s before"
                )
        elif change >= lim.door_shut_rise_c or (
            self._door_rate > 0
            and minute is not None
            and minute >= max(lim.stall_max_rise_c, lim.stall_shut_ratio * self._door_rate)
        ):
            self._door_open_since = None
            self._full.reset()
        if self._door_open_since is None:
            return
        open_s = t - self._door_open_since
        found["door_open"] = (
            f"{self._door_why}: door or lid open {open_s:.0f} s, or the elements all "
            f"stopped at once (PV {pv:.1f} °C)"
        )
        if open_s > lim.door_grace_s:
            found["door_open_long"] = (
                f"open {open_s:.0f} s, over the door grace of {lim.door_grace_s:.0f} s: "
                "heat off; shut it"
            )

    def _heat_not_following(
        self, t: float, reading: TemperatureReading, schedule: FiringSchedule
    ) -> tuple[float, float] | None:
        """(rise over the earlier, over the latest stall window) when the PV stopped
        following full heat: the rise collapsed from a clear heating rate to almost
        nothing. Judged only with both windows at full output, heating, the PV below its
        setpoint by door_drop_c or more: the thermal lag at a ramp's start makes the rate
        grow, not collapse."""
        lim = self.limits
        pv = reading.pv_c
        heating_hard = (
            schedule.heating
            and reading.output_pct >= lim.full_demand_pct
            and schedule.state.sp_c - pv >= lim.door_drop_c
        )
        if not heating_hard:
            self._full.reset()
            return None
        w = lim.stall_window_s
        if self._full.add(t, pv, 2 * w) is None:
            return None
        points = self._full.points
        t0, pv0 = points[0]
        pv_mid = next(p for tp, p in points if tp >= t0 + w)
        earlier, latest = pv_mid - pv0, pv - pv_mid
        if (
            earlier >= lim.stall_min_rise_c
            and latest <= lim.stall_max_rise_c
            and latest <= lim.stall_ratio * earlier
        ):
            return earlier, latest
        return None

    def _check_status(self, t: float, reading: TemperatureReading, found: dict[str, str]) -> None:
        """The controller's own status flags."""
        if reading.alarm:
            found["controller_alarm"] = "the controller's own alarm is on (see its panel)"
        if not self.remote_sp:
            return
        if reading.manual:
            found["controller_manual"] = (
                f"output {reading.output_pct:.0f} % set by hand: kilnctl no longer controls "
                "the heat and cannot switch it off; put the controller back in automatic, "
                "or switch the kiln off there"
            )
        if reading.remote_sp_fail:
            found["remote_sp_fallback"] = (
                f"regulating to its local setpoint {reading.sp_c:.1f} °C: the remote "
                "setpoint was not refreshed within the controller's timeout"
            )
            self._sp_fail_since = t if self._sp_fail_since is None else self._sp_fail_since
            if t - self._sp_fail_since > self.limits.remote_sp_fail_s:
                found["remote_sp_fail"] = (
                    f"not following the streamed setpoint for {t - self._sp_fail_since:.0f} s "
                    f"(regulating to {reading.sp_c:.1f} °C)"
                )
        else:
            self._sp_fail_since = None

    def _check_hold(
        self, t: float, pv: float, schedule: FiringSchedule, found: dict[str, str]
    ) -> None:
        lim = self.limits
        st = schedule.state
        seg = schedule.segment
        if st.phase != HOLD or st.paused:
            self._below_since = self._above_since = None
            return
        if pv < seg.target_c - lim.hold_band_c:
            self._below_since = t if self._below_since is None else self._below_since
            if t - self._below_since > lim.hold_band_s + lim.door_grace_s:
                found["hold_band"] = f"PV {pv:.1f} °C below hold {seg.target_c:.0f} °C"
        else:
            self._below_since = None
        if pv > seg.target_c + lim.hold_band_c:
            self._above_since = t if self._above_since is None else self._above_since
            if t - self._above_since > lim.hold_band_s:
                found["hold_band"] = f"PV {pv:.1f} °C above hold {seg.target_c:.0f} °C"
        else:
            self._above_since = None
        if seg.max_hold_s is not None and st.hold_wall_s > seg.max_hold_s:
            found["over_fire"] = f"{st.hold_wall_s:.0f} s at temperature > {seg.max_hold_s:.0f} s"
        elif seg.warn_hold_s is not None and st.hold_wall_s > seg.warn_hold_s:
            found["hold_warn"] = f"{st.hold_wall_s:.0f} s at temperature > {seg.warn_hold_s:.0f} s"

    def _check_heating(
        self,
        t: float,
        reading: TemperatureReading,
        schedule: FiringSchedule,
        found: dict[str, str],
        far_above_sp: bool = False,
    ) -> None:
        lim = self.limits
        pv = reading.pv_c
        if self.door_open:  # heat pours out of the door: no measure of the elements
            self._heating.reset()
        elif schedule.heating and reading.output_pct >= lim.full_demand_pct:
            rise = self._heating.add(t, pv, lim.fth_window_s)
            min_rise = lim.fth_min_rise_c_per_h * lim.fth_window_s / 3600.0
            if rise is not None and rise < min_rise:
                found["failure_to_heat"] = (
                    f"{_rose_or_fell(rise)} in {lim.fth_window_s / 60:.1f} min at full power"
                )
        else:
            self._heating.reset()
        stuck = stuck_relay_rise(self._idle, t, pv, reading.output_pct, lim, far_above_sp)
        if stuck is not None:
            found["stuck_relay"] = stuck


def _rose_or_fell(change_c: float) -> str:
    """"rose 3.0 °C" / "fell 76.0 °C": a fall is never worded as a negative rise."""
    return f"{'rose' if change_c >= 0 else 'fell'} {abs(change_c):.1f} °C"


def stuck_relay_rise(
    idle: _IdleWindow,
    t: float,
    pv: float,
    output_pct: float,
    lim: KilnLimits,
    far_above_sp: bool = False,
) -> str | None:
    """Why the heat looks stuck on (PV rising with the output at 0 for stuck_min_s or
    more), or None. `idle` keeps the output-0 history between calls; shared by a run's
    interlocks and the between-runs watch.

    Not a stuck relay: the thermal lag of a kiln whose heat was just cut (stuck_settle_s),
    nor a chamber reheating from its walls once the door is shut (below the ceiling of
    the recalled readings, `KilnLimits.stuck_recall_s`, for stuck_reheat_s after the
    lowest PV)."""
    if output_pct > lim.stuck_output_pct:
        idle.reset()
        return None
    idle.add(t, pv, lim.stuck_window_s)
    idle.add_recalled(t, pv, lim.stuck_recall_s)
    t0, pv0 = idle.points[0]
    rise = pv - pv0
    off_s = t - (idle.since if idle.since is not None else t)
    settled = far_above_sp or off_s >= lim.stuck_settle_s  # past the thermal lag
    ceiling, lowest_t = idle.ceiling(t0), idle.lowest_t()
    reheating = lowest_t is not None and t - lowest_t < lim.stuck_reheat_s
    if reheating and ceiling is not None and pv <= ceiling:
        return None  # back up to where it was with no heat: the walls, not the elements
    if settled and t - t0 >= lim.stuck_min_s and rise >= lim.stuck_rise_c:
        return f"{_rose_or_fell(rise)} in {t - t0:.0f} s with output 0 %"
    return None


def stuck_relay_judged(idle: _IdleWindow, t: float, lim: KilnLimits) -> bool:
    """Has `idle` enough output-0 history at `t` for `stuck_relay_rise` to say "no rise"
    (past the thermal lag, and stuck_min_s of readings)? Before that, no rise found says
    nothing about the relay."""
    if idle.since is None or not idle.points:
        return False
    return t - idle.since >= lim.stuck_settle_s and t - idle.points[0][0] >= lim.stuck_min_s


@dataclass(frozen=True)
class TankLimits:
    """Rectifier/tank interlock thresholds."""

    max_current_a: float | None = None
    max_voltage_v: float | None = None
    over_current_frac: float = 0.10
    over_current_margin_a: float = 0.5
    over_voltage_margin_v: float = 0.5
    open_circuit_v: float = 1.0
    open_circuit_frac: float = 0.05
    under_current_frac: float = 0.10
    """In CV this far below the current setpoint from the start: never reached CC."""
    settle_s: float = 3.0
    """After output on or a current change, transients are not judged for this long."""


TANK_CODES = (
    "over_current",
    "over_voltage",
    "open_circuit",
    "cc_cv_change",
    "rectifier_over_temperature",
    "bath_out_of_band",
)


class TankInterlocks:
    """Checks one rectifier (and its bath) during an electro step."""

    def __init__(self, limits: TankLimits) -> None:
        self.limits = limits
        self._seen_cc = False

    def new_step(self) -> None:
        self._seen_cc = False

    def check(
        self,
        reading: RectifierReading,
        *,
        amps_sp: float,
        volts_limit: float | None,
        settled: bool,
        bath_c: float | None = None,
        bath_band: tuple[float, float] | None = None,
    ) -> dict[str, str]:
        lim = self.limits
        found: dict[str, str] = {}
        ceiling = amps_sp * (1 + lim.over_current_frac) + lim.over_current_margin_a
        if lim.max_current_a is not None:
            ceiling = min(ceiling, lim.max_current_a + lim.over_current_margin_a)
        if reading.over_current_trip or (reading.output_on and reading.amps > ceiling):
            found["over_current"] = f"{reading.amps:.2f} A > {ceiling:.2f} A"
        v_ceiling = math.inf
        for limit in (volts_limit, lim.max_voltage_v):
            if limit is not None:
                v_ceiling = min(v_ceiling, limit + lim.over_voltage_margin_v)
        if reading.over_voltage_trip or reading.volts > v_ceiling:
            found["over_voltage"] = f"{reading.volts:.2f} V > {v_ceiling:.2f} V"
        if reading.over_temperature:
            found["rectifier_over_temperature"] = "over-temperature flag set"
        if reading.output_on and settled and amps_sp > 0:
            no_current = reading.amps < amps_sp * lim.open_circuit_frac
            if reading.volts >= lim.open_circuit_v and no_current:
                found["open_circuit"] = f"{reading.volts:.2f} V but {reading.amps:.2f} A"
            if reading.mode == RegulationMode.CC:
                self._seen_cc = True
            elif self._seen_cc:
                found["cc_cv_change"] = f"CC -> CV at {reading.volts:.2f} V"
            elif reading.amps < amps_sp * (1 - lim.under_current_frac):
                # Never reached constant current: the voltage limit is too low for this
                # load, or a contact is poor. The deposit will come out thin.
                found["cc_cv_change"] = (
                    f"in CV at {reading.volts:.2f} V: {reading.amps:.2f} A, "
                    f"below the {amps_sp:.2f} A setpoint"
                )
        if bath_c is not None and bath_band is not None:
            low, high = bath_band
            if not low <= bath_c <= high:
                found["bath_out_of_band"] = f"bath {bath_c:.1f} °C outside {low:.0f}-{high:.0f} °C"
        return found
