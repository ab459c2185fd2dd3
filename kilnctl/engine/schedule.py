"""The travelling setpoint of a firing profile: a pure state machine advanced by (t, pv).

No clock and no I/O: `advance(t, pv)` moves the setpoint along the segments and returns it.
Rules (docs/process.md, kiln-controller practice):

- a ramp moves the setpoint from where the previous segment ended towards the target at
  `rate_c_per_h`; a "max" rate (None) jumps the setpoint to the target (full power) and the
  ramp ends when the PV gets within `reach_band_c` of it;
- catch-up: while the PV lags the setpoint by more than `catchup_band_c` (below it when
  heating, above it when cooling) the ramp waits, so the kiln is never asked to chase a
  setpoint it cannot follow;
- guaranteed soak: with a `soak_band_c`, hold time counts only while |pv - target| <= band;
- seek start: begin where the kiln already is, skipping the ramp portions below the PV;
- pause freezes the schedule; an operator's pause during a ramp also holds the kiln where
  it is: the setpoint becomes the PV at the pause (never further towards the target), so
  a "max" ramp stops heating at full power while paused; after an outage (`continue_at`)
  the schedule goes on from where it was, the outage counted neither as ramp nor as soak;
- a cooling segment ends early when the kiln stops cooling: while the schedule waits for
  the PV to fall (a free-cooling "max" ramp not yet at its target, a catch-up wait on a
  cooling ramp, or a soak with the PV above its band after cooling) and the PV falls less
  than `stall_fall_c` in `stall_window_s`, the segment ends with a note (a target at or
  below room temperature is never reached); a free-cooling ramp also ends after
  `free_cool_limit_s` when that is set;
- skip moves to the next segment from the current setpoint (so the setpoint never jumps);
  extend adds time to the current (or coming) hold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

RAMP = "ramp"
HOLD = "hold"
DONE = "done"
STALL_SMOOTHING_S = 60.0
"""Time constant of the PV smoothing for the stopped-cooling rule: thermocouple noise
(σ 0.3 °C) would otherwise reset its window with a 1 °C dip now and then."""


@dataclass(frozen=True)
class ScheduleSegment:
    """The part of a recipe Segment the schedule needs (canonical units)."""

    rate_c_per_h: float | None
    target_c: float
    hold_s: float = 0.0
    soak_band_c: float | None = None
    warn_hold_s: float | None = None
    max_hold_s: float | None = None

    @classmethod
    def from_recipe(cls, segment: Any) -> ScheduleSegment:
        """Copy from a kilnctl.recipes.models.Segment (or anything with those attributes)."""
        return cls(
            rate_c_per_h=segment.rate_c_per_h,
            target_c=float(segment.target_c),
            hold_s=float(getattr(segment, "hold_s", 0.0) or 0.0),
            soak_band_c=getattr(segment, "soak_band_c", None),
            warn_hold_s=getattr(segment, "warn_hold_s", None),
            max_hold_s=getattr(segment, "max_hold_s", None),
        )


@dataclass
class ScheduleState:
    """Everything needed to continue a schedule (stored in journal checkpoints)."""

    index: int = 0
    phase: str = RAMP
    sp_c: float = 20.0
    ramp_start_c: float = 20.0
    hold_elapsed_s: float = 0.0
    """Soak time counted towards the hold (only inside the soak band)."""
    hold_wall_s: float = 0.0
    """Time spent in the hold phase, counted or not (for warn/max-hold limits)."""
    extra_hold_s: float = 0.0
    paused: bool = False
    waiting: bool = False
    """Catch-up: the ramp is waiting for the PV."""
    t: float | None = None
    cool_wait_s: float = 0.0
    """Time this segment has waited for the PV to fall (free cooling, catch-up, soak)."""
    cool_ref_s: float = 0.0
    """cool_wait_s when the PV last fell `stall_fall_c` below cool_ref_c."""
    cool_ref_c: float | None = None
    """Smoothed PV at cool_ref_s (None: not waiting for the PV to fall)."""
    cool_pv_c: float = 0.0
    """The PV smoothed over STALL_SMOOTHING_S (thermocouple noise must not pass for a fall)."""


class FiringSchedule:
    """Travelling setpoint over a list of segments."""

    def __init__(
        self,
        segments: Iterable[ScheduleSegment],
        *,
        catchup_band_c: float | None = 15.0,
        reach_band_c: float = 2.0,
        max_temp_c: float | None = None,
        state: ScheduleState | None = None,
        stall_fall_c: float = 1.0,
        stall_window_s: float = 1800.0,
        free_cool_limit_s: float | None = None,
    ) -> None:
        self.segments: Sequence[ScheduleSegment] = tuple(segments)
        if not self.segments:
            raise ValueError("a firing schedule needs at least one segment")
        self.catchup_band_c = catchup_band_c
        self.reach_band_c = reach_band_c
        self.max_temp_c = max_temp_c
        self.state = state or ScheduleState()
        self.stall_fall_c = stall_fall_c
        self.stall_window_s = stall_window_s
        self.free_cool_limit_s = free_cool_limit_s
        self._cool_waiting = False
        self.notes: list[str] = []
        """Why segments ended early (the kiln stopped cooling), oldest first; the run
        takes them with take_notes() and reports them as notices."""

    @classmethod
    def from_profile(cls, profile: Any, **options: Any) -> FiringSchedule:
        """Build from a FiringProfile (segments, max_temp_c)."""
        segments = [ScheduleSegment.from_recipe(s) for s in profile.segments]
        options.setdefault("max_temp_c", getattr(profile, "max_temp_c", None))
        return cls(segments, **options)

    # ------------------------------------------------------------------ queries

    @property
    def done(self) -> bool:
        return self.state.phase == DONE

    @property
    def sp_c(self) -> float:
        return self.state.sp_c

    @property
    def segment(self) -> ScheduleSegment:
        """The current segment (the last one once done)."""
        return self.segments[min(self.state.index, len(self.segments) - 1)]

    @property
    def heating(self) -> bool:
        """True while ramping up (the segment's target is above where its ramp began)."""
        return self.state.phase == RAMP and self.segment.target_c > self.state.ramp_start_c

    @property
    def rate_c_per_h(self) -> float:
        """Signed rate of the travelling setpoint right now (feed-forward); 0 when not moving."""
        st = self.state
        seg = self.segment
        if st.phase != RAMP or st.paused or st.waiting or seg.rate_c_per_h is None:
            return 0.0
        return math.copysign(seg.rate_c_per_h, seg.target_c - st.ramp_start_c)

    def remaining_s(self, max_rate_c_per_h: float = 999.0) -> float:
        """Estimated time to the end, assuming the kiln follows (max rate taken as given)."""
        plan = self.plan(0.0, max_rate_c_per_h)
        return max(0.0, plan[-1][0]) if plan else 0.0

    def plan(self, t: float, max_rate_c_per_h: float = 999.0) -> list[tuple[float, float]]:
        """The planned setpoint from time `t` (now) to the end: the vertices (time, SP °C)
        of the travelling setpoint if the kiln follows, as remaining_s() reckons it (a
        max-rate ramp at `max_rate_c_per_h`); [] once done."""
        st = self.state
        if st.phase == DONE:
            return []
        points = [(t, st.sp_c)]
        start = st.sp_c
        for i in range(st.index, len(self.segments)):
            seg = self.segments[i]
            if i > st.index or st.phase == RAMP:
                rate = seg.rate_c_per_h or max_rate_c_per_h
                t += abs(seg.target_c - start) / rate * 3600.0
                points.append((t, seg.target_c))
            hold = seg.hold_s + (st.extra_hold_s if i == st.index else 0.0)
            hold -= st.hold_elapsed_s if i == st.index else 0.0
            if hold > 0:
                t += hold
                points.append((t, seg.target_c))
            start = seg.target_c
        return points

    # ------------------------------------------------------------------ commands

    def start(
        self, t: float, pv_c: float, *, seek: bool = True, from_c: float | None = None
    ) -> None:
        """Begin at time t with the kiln at pv_c. With `seek`, leading segments that end
        below the PV and have no hold are skipped; the first ramp starts from the PV.
        `from_c`: the kiln is already held at this setpoint (taken over from a previous
        run): seek and the first ramp start there instead, so the setpoint does not dip
        to a PV that is low for a moment (door open to load)."""
        start_c = pv_c if from_c is None else from_c
        index = 0
        if seek:
            while (
                index < len(self.segments) - 1
                and self.segments[index].target_c <= start_c
                and self.segments[index].hold_s == 0.0
            ):
                index += 1
        self.state = ScheduleState(index=index, phase=RAMP, sp_c=start_c, ramp_start_c=start_c, t=t)
        self._clamp()

    def pause(self, hold_at_c: float | None = None) -> None:
        """Freeze the schedule. With `hold_at_c` (the PV when an operator pauses) a ramp
        also holds there: the setpoint moves back to where the kiln is, never on towards
        the target (a "max" ramp's setpoint is its target: the kiln would go on heating
        at full power). A hold keeps its target. Only the first call of a pause counts."""
        st = self.state
        if st.paused:
            return
        st.paused = True
        if hold_at_c is not None and st.phase == RAMP:
            heating = self.segment.target_c >= st.ramp_start_c
            st.sp_c = min(st.sp_c, hold_at_c) if heating else max(st.sp_c, hold_at_c)
            self._clamp()

    def take_notes(self) -> list[str]:
        """The notes since the last call (see `notes`)."""
        notes, self.notes = self.notes, []
        return notes

    def resume(self) -> None:
        self.state.paused = False

    def skip(self) -> None:
        """Go to the next segment from the current setpoint (no setpoint jump)."""
        if self.state.phase != DONE:
            self._next_segment()

    def extend(self, seconds: float) -> bool:
        """Add seconds to the current (or coming) hold; False when the schedule is done."""
        if self.state.phase == DONE:
            return False
        self.state.extra_hold_s += seconds
        return True

    # ------------------------------------------------------------------ advance

    def advance(self, t: float, pv_c: float | None, *, catch_up: bool = True) -> float:
        """Move the schedule to time t given the PV (None = unknown: no catch-up, soak
        time counted); returns the travelling setpoint."""
        st = self.state
        if st.t is None:
            st.t = t
        dt = max(0.0, t - st.t)
        st.t = t
        if st.paused or st.phase == DONE:
            return st.sp_c
        st.waiting = False
        self._cool_waiting = False
        while st.phase != DONE:
            seg = self.segments[st.index]
            if st.phase == RAMP:
                dt = self._ramp(seg, dt, pv_c, catch_up)
                if st.phase == RAMP:
                    break
            else:
                dt = self._hold(seg, dt, pv_c)
                if st.phase == HOLD:
                    break
        if not self._cool_waiting:
            st.cool_ref_c = None
        self._clamp()
        return st.sp_c

    def _ramp(self, seg: ScheduleSegment, dt: float, pv: float | None, catch_up: bool) -> float:
        st = self.state
        heating = seg.target_c >= st.ramp_start_c
        if seg.rate_c_per_h is None:
            st.sp_c = seg.target_c
            if pv is None:
                reached = True
            elif heating:
                reached = pv >= seg.target_c - self.reach_band_c
            else:
                reached = pv <= seg.target_c + self.reach_band_c
            if reached:
                st.phase = HOLD
            elif not heating and pv is not None:
                self._cooling_stalled(seg, dt, pv, free=True)
            # when within dt the PV got there is unknown: the hold starts now
            return 0.0
        if catch_up and pv is not None and self.catchup_band_c is not None:
            lag = (st.sp_c - pv) if heating else (pv - st.sp_c)
            if lag > self.catchup_band_c:
                st.waiting = True
                if not heating:
                    self._cooling_stalled(seg, dt, pv)
                return 0.0
        speed = seg.rate_c_per_h / 3600.0
        distance = abs(seg.target_c - st.sp_c)
        if speed <= 0.0:
            return 0.0
        if speed * dt >= distance - 1e-9:
            st.sp_c = seg.target_c
            st.phase = HOLD
            return max(0.0, dt - distance / speed)
        st.sp_c += math.copysign(speed * dt, seg.target_c - st.sp_c)
        return 0.0

    def _hold(self, seg: ScheduleSegment, dt: float, pv: float | None) -> float:
        st = self.state
        total = seg.hold_s + st.extra_hold_s
        in_band = pv is None or seg.soak_band_c is None or abs(pv - seg.target_c) <= seg.soak_band_c
        used = min(dt, max(0.0, total - st.hold_elapsed_s)) if in_band else dt
        if in_band:
            st.hold_elapsed_s += used
        st.hold_wall_s += used
        if not in_band and pv is not None and seg.target_c < pv and seg.target_c < st.ramp_start_c:
            # a soak after cooling, the PV still above its band: waiting for it to fall
            self._cooling_stalled(seg, dt, pv)
            return 0.0
        if in_band and st.hold_elapsed_s >= total - 1e-9:
            self._next_segment()
            return dt - used
        return 0.0

    def _cooling_stalled(
        self, seg: ScheduleSegment, dt: float, pv: float, *, free: bool = False
    ) -> bool:
        """The schedule waits for the PV to fall this period: end the segment (with a
        note) once the PV fell less than stall_fall_c in stall_window_s, or, for free
        cooling (`free`), once free_cool_limit_s has passed. True when it ended."""
        st = self.state
        self._cool_waiting = True
        if st.cool_ref_c is None:  # a new wait: its window starts now
            st.cool_wait_s = st.cool_ref_s = 0.0
            st.cool_ref_c = st.cool_pv_c = pv
        st.cool_wait_s += dt
        st.cool_pv_c += (pv - st.cool_pv_c) * min(1.0, dt / STALL_SMOOTHING_S)
        if st.cool_pv_c <= st.cool_ref_c - self.stall_fall_c:
            st.cool_ref_c, st.cool_ref_s = st.cool_pv_c, st.cool_wait_s
        if st.cool_wait_s - st.cool_ref_s >= self.stall_window_s:
            why = (
                f"kiln stopped cooling at {pv:.0f} °C, above the {seg.target_c:g} °C target "
                f"(fell less than {self.stall_fall_c:g} °C in {self.stall_window_s / 60:.0f} "
                "min)"
            )
        elif free and self.free_cool_limit_s is not None and (
            st.cool_wait_s >= self.free_cool_limit_s
        ):
            why = (
                f"free cooling ended at {pv:.0f} °C after its time limit of "
                f"{self.free_cool_limit_s / 60:.0f} min, above the {seg.target_c:g} °C target"
            )
        else:
            return False
        self.notes.append(f"segment {st.index + 1}: {why}: segment ended")
        # the next segment starts where the kiln is, not at the unreached target
        st.sp_c = max(st.sp_c, pv)
        self._next_segment()
        return True

    def _next_segment(self) -> None:
        st = self.state
        st.index += 1
        st.cool_ref_c = None
        st.hold_elapsed_s = 0.0
        st.hold_wall_s = 0.0
        st.extra_hold_s = 0.0
        st.waiting = False
        st.ramp_start_c = st.sp_c
        if st.index >= len(self.segments):
            st.index = len(self.segments) - 1
            st.phase = DONE
        else:
            st.phase = RAMP

    def _clamp(self) -> None:
        if self.max_temp_c is not None and self.state.sp_c > self.max_temp_c:
            self.state.sp_c = self.max_temp_c

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        """Checkpoint form of the state."""
        return dict(vars(self.state))  # flat dataclass: cheaper than asdict

    def restore(self, data: dict[str, Any]) -> None:
        """Continue from a checkpointed state."""
        self.state = ScheduleState(**data)

    def continue_at(self, t: float) -> None:
        """Go on at time t from the state as it is (restored after an outage): the time
        since the last advance is not run through, so the setpoint goes on from the one
        last sent, and a hold counts no soak for the time the kiln was not controlled."""
        self.state.t = t
