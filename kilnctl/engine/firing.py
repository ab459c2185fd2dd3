"""A firing run on one kiln: every period read the controller, advance the schedule, run
the interlocks, command the kiln (setpoint mode: stream the travelling setpoint; direct
mode: PID -> SSR duty), emit samples and events, checkpoint. Heat off in `finally`."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from typing import Any

from drivers.errors import DeviceError
from drivers.protocols import TemperatureController, TemperatureReading
from kilnctl.engine.comms import CommsWatch, Link
from kilnctl.engine.interlocks import KILN_CODES, KilnInterlocks, KilnLimits
from kilnctl.engine.messages import SegmentChanged
from kilnctl.engine.pid import Pid, PidGains
from kilnctl.engine.resume import resume_refusal
from kilnctl.engine.runtime import RunAborted, RunContext
from kilnctl.engine.schedule import FiringSchedule
from kilnctl.recipes.models import FiringProfile

log = logging.getLogger(__name__)

SP_RESOLUTION_C = 0.01
"""Setpoint changes smaller than this are not written (a held setpoint is not re-sent)."""
SP_KEEPALIVE_S = 10.0
"""A held setpoint is re-sent this often, so the controller always has a fresh one."""


@dataclass(frozen=True)
class KilnSetup:
    """A kiln as the engine drives it (from the plant config)."""

    name: str
    controller: TemperatureController
    mode: str = "setpoint"
    """"setpoint" (the controller regulates) or "direct" (software PID writes SSR duty)."""
    max_temp_c: float | None = None
    gains: PidGains = field(default_factory=PidGains)


async def make_safe(device: Any, why: str) -> None:
    """Put a device in its safe state; a failure is logged, never masks the original error."""
    try:
        await device.safe()
    except DeviceError as exc:
        log.error("could not make %s safe (%s): %s", getattr(device, "name", device), why, exc)


class FiringRun:
    """Runs one FiringProfile on one kiln."""

    def __init__(
        self,
        ctx: RunContext,
        kiln: KilnSetup,
        profile: FiringProfile,
        *,
        material_max_c: float | None = None,
    ) -> None:
        self.ctx = ctx
        self.kiln = kiln
        self.profile = profile
        s = ctx.settings
        max_temp = min(
            (v for v in (profile.max_temp_c, kiln.max_temp_c) if v is not None), default=None
        )
        self.schedule = FiringSchedule.from_profile(
            profile,
            catchup_band_c=s.catchup_band_c,
            reach_band_c=s.reach_band_c,
            max_temp_c=max_temp,
        )
        trip = profile.trip_c if profile.trip_c is not None else kiln.max_temp_c
        limits: KilnLimits = replace(
            s.kiln_limits,
            trip_c=trip,
            deviation_c=profile.deviation_c,
            material_max_c=material_max_c,
        )
        self.interlocks = KilnInterlocks(limits)
        self.pid = Pid(kiln.gains) if kiln.mode == "direct" else None
        self.comms = CommsWatch(ctx, kiln.name)
        self.output_pct = 0.0
        self._sent_sp = -math.inf
        self._resend_at = -math.inf
        self.last_reading: TemperatureReading | None = None

    async def run(self, resume: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run to the end of the schedule; returns what happened. Raises RunAborted."""
        ctx = self.ctx
        started = ctx.clock.now()
        try:
            reading = await self._first_reading()
            if resume is None:
                self.schedule.start(ctx.now(), reading.pv_c, seek=ctx.settings.seek_start)
            else:
                self.schedule.restore(resume["schedule"])
                refusal = resume_refusal(self.schedule, ctx.now(), reading.pv_c, ctx.settings)
                if refusal is not None:
                    raise RunAborted(refusal, outcome="stopped")
                ctx.notice(
                    self.kiln.name,
                    "resume",
                    f"resumed at setpoint {self.schedule.sp_c:.1f} °C, PV {reading.pv_c:.1f} °C",
                )
            self._segment_event()
            ctx.step_state_fn = self._resume_state
            await self._loop()
        finally:
            await make_safe(self.kiln.controller, "end of firing")
        pv = self.last_reading.pv_c if self.last_reading else None
        return {
            "kiln": self.kiln.name,
            "profile": self.profile.name,
            "duration_s": ctx.clock.now() - started,
            "final_pv_c": pv,
        }

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

    async def _loop(self) -> None:
        ctx = self.ctx
        period = ctx.settings.period_s
        next_t = ctx.clock.now()
        while True:
            ctx.check_abort()
            await self.step()
            if self.schedule.done:
                return
            next_t += period
            await ctx.clock.sleep_until(next_t)

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
        hold = ctx.paused or (alarms.any_active and alarms.holds(self.kiln.name))
        if hold:
            sched.pause()
        else:
            sched.resume()
        t = ctx.now()  # one time for the schedule, the interlocks and the sample
        sp = sched.advance(t, reading.pv_c)
        if (sched.state.index, sched.state.phase) != before:
            self._segment_event()
        found = self.interlocks.check(t, reading, sched)
        if found or alarms.any_active:
            alarms.sync(self.kiln.name, found, KILN_CODES)
            stopping = alarms.stopping(self.kiln.name)
            if stopping is not None:
                await make_safe(self.kiln.controller, stopping.spec.code)
                raise RunAborted(stopping.message, outcome="aborted")
        await self._command(sp, reading)
        ctx.sample(
            self.kiln.name, {"pv_c": reading.pv_c, "sp_c": sp, "out_pct": self.output_pct}, t
        )
        ctx.maybe_checkpoint()

    def _resume_state(self) -> dict[str, Any]:
        return {"kind": "firing", "schedule": self.schedule.to_dict()}

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
                rate = self.schedule.rate_c_per_h
                full = self.schedule.segment.rate_c_per_h is None and self.schedule.heating
                out = (
                    100.0 if full else self.pid.update(sp, reading.pv_c, self.ctx.clock.now(), rate)
                )
                await self.kiln.controller.set_output(out)
                self.output_pct = out
        except DeviceError as exc:
            if self.comms.failed(exc) is Link.HOLD:
                self._hold_schedule()

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
