"""A firing run on one kiln: every period read the controller, advance the schedule, run
the interlocks, command the kiln (setpoint mode: stream the travelling setpoint; direct
mode: PID -> SSR duty), emit samples and events, checkpoint. Heat off in `finally`, except
after a normal end with `keep_hot`: then the kiln stays in control for the run that takes
over (a job's standby hold, then its next firing), which gets a `HandOver`."""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field, replace
from typing import Any

from drivers.errors import DeviceError
from drivers.protocols import TemperatureController, TemperatureReading
from kilnctl.engine.alarms import Action
from kilnctl.engine.comms import CommsWatch, Link
from kilnctl.engine.contactor import Contactor, cut_power
from kilnctl.engine.interlocks import KILN_CODES, KilnInterlocks, KilnLimits
from kilnctl.engine.messages import SegmentChanged
from kilnctl.engine.output_watchdog import arm_watchdog, no_watchdog_refusal
from kilnctl.engine.pid import Pid, PidGains
from kilnctl.engine.resume import resume_refusal
from kilnctl.engine.runtime import RunAborted, RunContext
from kilnctl.engine.safekeeper import make_safe  # noqa: F401  (its old home; autotune uses it)
from kilnctl.engine.schedule import FiringSchedule
from kilnctl.recipes.models import FiringProfile

log = logging.getLogger(__name__)

SP_RESOLUTION_C = 0.01
"""Setpoint changes smaller than this are not written (a held setpoint is not re-sent)."""
SP_KEEPALIVE_S = 2.0
"""A held setpoint is re-sent this often, so the controller always has a fresh one: well
inside the Eurotherm's remote-setpoint timeout (5 s), after which it falls back to its
local setpoint and flags "remote SP fail" (b14); two periods late still leaves a margin."""


@dataclass(frozen=True)
class KilnSetup:
    """A kiln as the engine drives it (from the plant config)."""

    name: str
    controller: TemperatureController
    mode: str = "setpoint"
    """"setpoint" (the controller regulates) or "direct" (software PID writes SSR duty)."""
    max_temp_c: float | None = None
    gains: PidGains = field(default_factory=PidGains)
    allow_no_watchdog: bool = False
    """Direct mode: run even if the output has no communication watchdog."""
    contactor: Contactor | None = None
    """The kiln's mains contactor, when the plant config names one (opened on a stuck
    relay: the only action that stops a welded relay from heating)."""


@dataclass(frozen=True)
class HandOver:
    """What a run that leaves the kiln hot passes to the run taking over: its setpoint
    (the next schedule starts there: no dip) and, in direct mode, its PID (no output bump)."""

    sp_c: float
    pid: Pid | None = None
    next_step_t: float = -math.inf
    """Clock time the next control step is due: the period's rhythm goes on (a PID
    stepped twice at one instant would lose its derivative term)."""


class FiringRun:
    """Runs one FiringProfile on one kiln.

    `keep_hot`: a normal end (schedule done, or `stop()`) leaves the kiln in control at
    the last setpoint instead of safe; any other end still makes it safe.
    `take_over`: the kiln is already in control (a previous run's hand-over): the schedule
    starts from that setpoint and the PID goes on.
    `standby`: a hold between a job's firings; its resumable state goes to the
    checkpoint's "standby" part, so the job step's own state is left alone.
    """

    def __init__(
        self,
        ctx: RunContext,
        kiln: KilnSetup,
        profile: FiringProfile,
        *,
        material_max_c: float | None = None,
        keep_hot: bool = False,
        take_over: HandOver | None = None,
        standby: bool = False,
    ) -> None:
        self.ctx = ctx
        self.kiln = kiln
        self.profile = profile
        self.keep_hot = keep_hot
        self.take_over = take_over
        self.standby = standby
        s = ctx.settings
        max_temp = min(
            (v for v in (profile.max_temp_c, kiln.max_temp_c) if v is not None), default=None
        )
        self.schedule = FiringSchedule.from_profile(
            profile,
            catchup_band_c=s.catchup_band_c,
            reach_band_c=s.reach_band_c,
            max_temp_c=max_temp,
            stall_fall_c=s.cool_stall_c,
            stall_window_s=s.cool_stall_s,
            free_cool_limit_s=s.free_cool_limit_s,
        )
        # The lower of the profile's trip and the kiln's rating: a profile written for a
        # hotter kiln must not lift this kiln's trip above what it is rated for.
        trip = min((v for v in (profile.trip_c, kiln.max_temp_c) if v is not None), default=None)
        limits: KilnLimits = replace(
            s.kiln_limits,
            trip_c=trip,
            deviation_c=profile.deviation_c,
            door_grace_s=profile.door_grace_s,
            material_max_c=material_max_c,
        )
        self.interlocks = KilnInterlocks(limits, remote_sp=kiln.mode != "direct")
        self.pid: Pid | None = None
        if kiln.mode == "direct":
            handed = take_over.pid if take_over is not None else None
            self.pid = handed if handed is not None else Pid(kiln.gains)
        self.comms = CommsWatch(ctx, kiln.name)
        self.output_pct = 0.0
        self._sent_sp = -math.inf
        self._resend_at = -math.inf
        self._stopping = False
        self._next_t = -math.inf
        self.started = asyncio.Event()
        """Set once the kiln is in control (first reading taken, resume accepted)."""
        self.last_reading: TemperatureReading | None = None

    async def run(self, resume: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run to the end of the schedule (or `stop()`); returns what happened.
        Raises RunAborted."""
        ctx = self.ctx
        started = ctx.clock.now()
        ended_normally = False
        try:
            reading = await self._first_reading()
            if resume is None:
                from_c = self.take_over.sp_c if self.take_over is not None else None
                self.schedule.start(
                    ctx.now(), reading.pv_c, seek=ctx.settings.seek_start, from_c=from_c
                )
            else:
                self._resume(resume, reading.pv_c)
            self._segment_event()
            if self.pid is not None:
                await self._arm_watchdog()
            if not self.standby:
                ctx.step_state_fn = self.resume_state
            self.started.set()
            await self._loop()
            ended_normally = True
        finally:
            confirmed = True
            if not (ended_normally and self.keep_hot):
                confirmed = await ctx.make_safe(self.kiln.controller, "end of firing")
        if not confirmed:
            # the job must not go on (its next firing would fight the keeper's retries)
            raise RunAborted(
                f"{self.kiln.name}: heat off not confirmed at the end of {self.profile.name}",
                outcome="failed",
            )
        pv = self.last_reading.pv_c if self.last_reading else None
        return {
            "kiln": self.kiln.name,
            "profile": self.profile.name,
            "duration_s": ctx.clock.now() - started,
            "final_pv_c": pv,
        }

    def _resume(self, resume: dict[str, Any], pv_c: float) -> None:
        """Take the schedule back from a checkpoint and go on from the setpoint last sent
        (paused still, if the operator had paused the run); RunAborted("stopped") when the
        resume rules say no."""
        ctx = self.ctx
        sched = self.schedule
        sched.restore(resume["schedule"])
        now = ctx.now()
        last_pv = resume.get("pv_c")
        refusal = resume_refusal(
            sched, now, pv_c, ctx.settings, float(last_pv) if last_pv is not None else None
        )
        if refusal is not None:
            raise RunAborted(refusal, outcome="stopped")
        outage_s = now - (sched.state.t if sched.state.t is not None else now)
        sched.continue_at(now)
        what = "standby" if self.standby else "firing"
        where = f"{sched.sp_c:.1f} °C (PV {pv_c:.1f} °C)"
        if ctx.paused:
            message = f"{what} resumed paused at {where}, held there: press r to continue"
        else:
            message = (
                f"{what} resumed at setpoint {where}, where it was: "
                f"the {outage_s / 60:.1f} min outage is not counted"
            )
        ctx.notice(self.kiln.name, "resume", message)

    async def _first_reading(self) -> TemperatureReading:
        while True:
            self.ctx.check_abort()
            try:
                reading = await self.kiln.controller.read()
            except DeviceError as exc:
                self.comms.failed(exc)
                await self.ctx.clock.sleep(self.ctx.settings.period_s)
                continue
            self.comms.ok()
            self.last_reading = reading
            return reading

    async def _arm_watchdog(self) -> None:
        """Direct mode: arm the output's watchdog before the first output write, or
        refuse the firing (RunAborted) when it has none and the plant config does not
        allow that, when it cannot be armed, or when it would expire between two writes."""
        kiln, period = self.kiln, self.ctx.settings.period_s
        try:
            timeout = await arm_watchdog(kiln.controller)
        except DeviceError as exc:
            raise RunAborted(
                f"kiln {kiln.name}: could not arm the output watchdog: {exc}", outcome="failed"
            ) from exc
        if timeout is None:
            if not kiln.allow_no_watchdog:
                raise RunAborted(no_watchdog_refusal(kiln.name, kiln.controller), "failed")
            self.ctx.notice(
                kiln.name,
                "no_watchdog",
                "no output watchdog (allow_no_watchdog): the SSR keeps its last duty "
                "if kilnctl dies",
            )
        elif timeout < 2 * period:
            raise RunAborted(
                f"kiln {kiln.name}: the output watchdog's timeout ({timeout:g} s) is under "
                f"two control periods ({2 * period:g} s): it would expire between writes",
                outcome="failed",
            )

    def stop(self) -> None:
        """End the run normally before its next control period (the schedule stays where
        it is): how a standby is ended, hot or safe as `keep_hot` says."""
        self._stopping = True

    def hand_over(self) -> HandOver:
        """What the run taking over the kiln needs (call once this run ended hot)."""
        return HandOver(self.schedule.sp_c, self.pid, self._next_t)

    async def _loop(self) -> None:
        ctx = self.ctx
        period = ctx.settings.period_s
        next_t = ctx.clock.now()
        if self.take_over is not None and self.take_over.next_step_t > next_t:
            next_t = self.take_over.next_step_t
            await ctx.clock.sleep_until(next_t)
        while not self._stopping:
            ctx.check_abort()
            await self.step()
            if self.schedule.done:
                self._next_t = next_t + period
                return
            next_t += period
            await ctx.clock.sleep_until(next_t)
        self._next_t = next_t  # stopped before this period's step

    async def step(self) -> None:
        """One control period."""
        ctx = self.ctx
        sched = self.schedule
        if ctx.skip_requests and ctx.take_skip():
            sched.skip()
            ctx.operator("operator", "skip", f"{self.kiln.name} -> segment {sched.state.index}")
        extend = ctx.take_extend() if ctx.extend_s else 0.0
        if extend and sched.extend(extend):
            ctx.operator("operator", "extend", f"{self.kiln.name} hold +{extend:.0f} s")
        try:
            reading = await self.kiln.controller.read()
        except DeviceError as exc:
            if self.comms.failed(exc) is Link.HOLD:
                self._hold_schedule()
            return
        self.comms.ok()
        self.last_reading = reading
        before = (sched.state.index, sched.state.phase)
        alarms = ctx.alarms
        t = ctx.now()  # one time for the schedule, the interlocks and the sample
        # A reading that is not the kiln's temperature (sensor break, over-range, PV
        # outside the sensor's range, remote SP not followed) never moves the schedule:
        # it counts as a missed reading, and its alarm is raised by the interlocks below.
        usable = self.interlocks.reading_usable(reading)
        if not usable:
            sched.pause()
        elif ctx.paused:
            sched.pause(hold_at_c=reading.pv_c)  # the operator's pause holds the kiln here
        elif alarms.any_active and alarms.holds(self.kiln.name):
            sched.pause()
        else:
            sched.resume()
        sp = sched.advance(t, reading.pv_c if usable else None)
        if (sched.state.index, sched.state.phase) != before:
            self._segment_event()
        for note in sched.take_notes():
            ctx.notice(self.kiln.name, "segment_end", note)
        found = self.interlocks.check(t, reading, sched)
        if found or alarms.any_active:
            alarms.sync(self.kiln.name, found, KILN_CODES)
            stopping = alarms.stopping(self.kiln.name)
            if stopping is not None:
                reason = stopping.message
                if alarms.action_of(stopping) is Action.CUT_POWER:
                    what = await cut_power(self.kiln.contactor, f"kiln {self.kiln.name}")
                    ctx.notice(self.kiln.name, "cut_power", what)
                    reason = f"{stopping.spec.title}: {reason}; {what}"
                await ctx.make_safe(self.kiln.controller, stopping.spec.code)
                raise RunAborted(reason, outcome="aborted")
        await self._command(sp, reading)
        ctx.sample(
            self.kiln.name, {"pv_c": reading.pv_c, "sp_c": sp, "out_pct": self.output_pct}, t
        )
        ctx.maybe_checkpoint()

    def resume_state(self) -> dict[str, Any]:
        """This run's part of a checkpoint (given back to `run(resume=...)`)."""
        state: dict[str, Any] = {"kind": "firing", "schedule": self.schedule.to_dict()}
        if self.last_reading is not None:  # where a max-rate heat-up had got to
            state["pv_c"] = self.last_reading.pv_c
        return state

    async def _command(self, sp: float, reading: TemperatureReading) -> None:
        try:
            if self.pid is None:
                now = self.ctx.clock.now()
                # stream changes; re-send a held setpoint now and then as a keep-alive
                if abs(sp - self._sent_sp) >= SP_RESOLUTION_C or now >= self._resend_at:
                    await self.kiln.controller.set_setpoint(sp)
                    self._sent_sp, self._resend_at = sp, now + SP_KEEPALIVE_S
                self.output_pct = reading.output_pct
            else:
                out = self._direct_output(self.pid, sp, reading)
                await self.kiln.controller.set_output(out)
                self.output_pct = out
        except DeviceError as exc:
            if self.comms.failed(exc) is Link.HOLD:
                self._hold_schedule()

    def _direct_output(self, pid: Pid, sp: float, reading: TemperatureReading) -> float:
        """Direct mode's output %: full power on a "max" heating ramp (not while paused:
        a pause holds the PV), else the PID's; 0 with no temperature to regulate on."""
        if not self.interlocks.reading_usable(reading):
            return 0.0
        sched = self.schedule
        if sched.segment.rate_c_per_h is None and sched.heating and not sched.state.paused:
            return 100.0
        return pid.update(sp, reading.pv_c, self.ctx.clock.now(), sched.rate_c_per_h)

    def _hold_schedule(self) -> None:
        """Freeze the schedule now, so the time without readings is not run through."""
        self.schedule.pause()
        self.schedule.advance(self.ctx.now(), None)

    def _segment_event(self) -> None:
        st = self.schedule.state
        self.ctx.emit(
            SegmentChanged(
                self.ctx.run_id,
                self.ctx.now(),
                self.kiln.name,
                st.index,
                st.phase,
                self.schedule.segment.target_c,
            )
        )
