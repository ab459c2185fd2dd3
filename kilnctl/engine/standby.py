"""Standby between a job's firings: the kiln held at the last firing's final target while
the operator unloads, packs and loads (docs/process.md: the enamelling kiln is preheated to
790 °C and held for the session; the door opens for each load).

A standby is a FiringRun of a one-segment hold, so it runs the same control loop,
interlocks, alarms, samples and checkpoints as a firing, beside the job's prompts. The
next firing on the kiln takes it over with no setpoint dip (`hand_over`); anything else
ends it with the kiln safe (`close`). A standby that fails (an alarm's safe action, comms
lost, an abort) aborts the job with the same reason; its kiln is safe by then. Skip ends a
standby (heat off); extend lengthens its time limit; pause freezes it like a firing.

Resume: a checkpoint taken during a standby carries its schedule (the checkpoint's
"standby" part). A resumed job holds the kiln at the standby target again under the same
rules as a firing (outage at most settings.resume_max_outage_s, PV within
settings.resume_band_c of the target), then asks the pending prompt again; otherwise the
run stops with the kiln safe and says why.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kilnctl.engine.firing import FiringRun, HandOver, KilnSetup
from kilnctl.engine.runtime import RunAborted, RunContext
from kilnctl.recipes.models import FiringProfile, Segment

log = logging.getLogger(__name__)

STANDBY_MAX_S = 4 * 3600.0
"""A standby nobody ends within this time ends by itself with the kiln safe: a hot kiln
waiting hours for an answer has been forgotten (assumption: a long enamelling session)."""


def standby_profile(profile: FiringProfile, max_s: float = STANDBY_MAX_S) -> FiringProfile:
    """A hold at `profile`'s final target for up to max_s, under the profile's limits
    (max temperature, trip, deviation); no soak band, warn or over-fire limits, which
    belong to the ware of that firing."""
    target = profile.segments[-1].target_c
    hold = Segment.model_validate({"rate_c_per_h": None, "target_c": target, "hold_s": max_s})
    return profile.model_copy(update={"name": f"{profile.name} standby", "segments": [hold]})


class KilnStandby:
    """Holds one kiln hot between a job's firings, in a task beside the job's prompts."""

    def __init__(
        self,
        ctx: RunContext,
        kiln: KilnSetup,
        profile: FiringProfile,
        after_step: int,
        take_over: HandOver | None = None,
        max_s: float = STANDBY_MAX_S,
    ) -> None:
        self.ctx = ctx
        self.kiln = kiln
        self.after_step = after_step
        """Index of the job step whose firing this standby follows (to rebuild it on resume)."""
        self.target_c = profile.segments[-1].target_c
        self.firing = FiringRun(
            ctx, kiln, standby_profile(profile, max_s), take_over=take_over, standby=True
        )
        self._task: asyncio.Task[dict[str, Any]] | None = None

    async def start(self, resume: dict[str, Any] | None = None) -> None:
        """Start holding; returns once the kiln is in control. Raises RunAborted when it
        cannot (a resume refused, an abort); the kiln is safe then."""
        # said first, so the standby's own segment events read as part of it
        self.ctx.state(
            self.kiln.name, "standby", f"held at {self.target_c:.0f} °C for the next firing"
        )
        task = asyncio.get_running_loop().create_task(self.firing.run(resume))
        self._task = task
        task.add_done_callback(self._ended)
        started = asyncio.ensure_future(self.firing.started.wait())
        try:
            await asyncio.wait((task, started), return_when=asyncio.FIRST_COMPLETED)
        finally:
            started.cancel()
        if task.done():
            task.result()  # raises why it could not start
            return
        self.ctx.standby_state_fn = self.resume_state

    def resume_state(self) -> dict[str, Any]:
        """The checkpoint's "standby" part."""
        return {"after_step": self.after_step, **self.firing.resume_state()}

    async def hand_over(self) -> HandOver | None:
        """Stop holding, leaving the kiln in control, for the next firing on this kiln.
        None when the standby had ended already (the kiln is safe). Raises RunAborted
        when the standby failed."""
        task = self._task
        if task is None:
            return None
        live = not task.done()
        self.firing.keep_hot = True
        self.firing.stop()
        self.ctx.standby_state_fn = None
        try:
            await task  # re-raises a failure
        except asyncio.CancelledError:
            if not task.done():  # the job is being cancelled: nobody will take over
                self.firing.keep_hot = False
                task.cancel()
            raise
        if not live:
            return None
        handed = self.firing.hand_over()
        self.ctx.state(
            self.kiln.name, "firing", f"taken over from the standby at {handed.sp_c:.0f} °C"
        )
        return handed

    async def close(self) -> None:
        """Stop holding and leave the kiln safe (no firing follows, or the job ends)."""
        task = self._task
        self.ctx.standby_state_fn = None
        if task is None:
            return
        self.firing.keep_hot = False
        self.firing.stop()
        try:
            await asyncio.wait((task,))  # a failure was dealt with in _ended
        except asyncio.CancelledError:
            task.cancel()  # its finally makes the kiln safe
            raise

    def _ended(self, task: asyncio.Task[dict[str, Any]]) -> None:
        """The standby task finished: by itself (time limit, skip), stopped, or failed."""
        ctx = self.ctx
        if ctx.standby_state_fn == self.resume_state:
            ctx.standby_state_fn = None
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            if not self.firing.keep_hot:
                ctx.state(self.kiln.name, "off", "standby ended: heat off")
            return
        if isinstance(exc, RunAborted):
            reason, outcome = exc.reason, exc.outcome
        else:  # a bug: the kiln is safe (FiringRun's finally); the job must not go on
            log.error("standby of %s failed", self.kiln.name, exc_info=exc)
            reason, outcome = f"standby failed: {type(exc).__name__}: {exc}", "failed"
        ctx.state(self.kiln.name, "off", f"standby ended: {reason}")
        ctx.request_abort(reason, outcome)
