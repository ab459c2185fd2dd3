"""A job: the layers and steps of one lot in order, with operator prompts between.

Each step's outcome and figures are recorded (StepFinished with details, and the
checkpointed results list) so the batch record says what happened per step.

Between firings on one kiln (with only operator prompts between them) the kiln is kept
hot: the firing ends in control, a KilnStandby holds its final target while the prompts
wait, and the next firing takes over from the standby's setpoint. Any other step, the
job's end, an abort or a failure ends the standby with the kiln safe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kilnctl.engine.firing import FiringRun, HandOver, KilnSetup
from kilnctl.engine.messages import StepFinished, StepStarted
from kilnctl.engine.plating import PlatingRun, TankSetup
from kilnctl.engine.runtime import RunAborted, RunContext
from kilnctl.engine.standby import KilnStandby
from kilnctl.recipes.models import FiringProfile, Job, Lot, PlatingRecipe

UNLOAD_MARGIN_S = 60.0
"""After a firing whose kiln is kept hot, how long the unload prompt may stay open before
the operator is alarmed (when the profile gives no warn time)."""
UNLOAD_MARGIN_MIN_S = 30.0


def no_lot_refusal(label: str) -> str:
    """Why plating step `label` cannot run without a lot: its currents and amp-hours
    follow the lot's area (current density x dm²), which only a job's [lot] gives."""
    return (
        f"{label}: error: a plating step needs the lot's area, and a plating recipe "
        "started alone has no lot: start a job that plates with it (kind = \"job\" with "
        "[lot] material, pin_count, area_per_pin; `kilnctl recipes` lists the jobs)"
    )


@dataclass(frozen=True)
class PlanStep:
    """One step of a run, with its recipe resolved."""

    kind: str
    """"firing" | "plating" | "prompt"."""
    label: str
    recipe: FiringProfile | PlatingRecipe | None = None
    kiln: str | None = None
    prompt_before: str | None = None
    prompt_after: str | None = None
    text: str | None = None


def plan_job(job: Job, get_recipe: Callable[[str], Any]) -> list[PlanStep]:
    """Resolve a job's steps (recipes by name through `get_recipe`)."""
    plan = []
    for step in job.steps:
        recipe = get_recipe(step.ref) if step.ref is not None else None
        expected = {"firing": FiringProfile, "plating": PlatingRecipe}.get(step.kind)
        if expected is not None and not isinstance(recipe, expected):
            raise ValueError(
                f"job {job.name}: step {step.label!r}: {step.ref!r} is not a {step.kind} recipe"
            )
        plan.append(
            PlanStep(
                step.kind,
                step.label,
                recipe,
                step.kiln,
                step.prompt_before,
                step.prompt_after,
                step.text,
            )
        )
    return plan


class JobRun:
    """Runs a plan's steps in order; raises RunAborted when one does not complete."""

    def __init__(
        self,
        ctx: RunContext,
        plan: Sequence[PlanStep],
        kilns: Callable[[str | None], KilnSetup],
        tanks: dict[str, TankSetup],
        lot: Lot | None,
        material_max_c: float | None,
    ) -> None:
        self.ctx = ctx
        self.plan = list(plan)
        self.kilns = kilns
        self.tanks = tanks
        self.lot = lot
        self.material_max_c = material_max_c
        self._standby: KilnStandby | None = None

    async def run(self, resume: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run the steps (from a checkpoint's step on resume); returns the results."""
        try:
            return await self._run(resume)
        finally:
            await self._release_standby(None)

    async def _run(self, resume: dict[str, Any] | None) -> list[dict[str, Any]]:
        ctx = self.ctx
        first = 0
        standby: dict[str, Any] | None = None
        if resume is not None:
            first = int(resume.get("step_index", 0))
            ctx.results = list(resume.get("results", []))
            ctx.seq = {str(k): int(v) for k, v in resume.get("seq", {}).items()}
            standby = resume.get("standby")
        for index in range(first, len(self.plan)):
            step = self.plan[index]
            partial = resume.get("step_state") if resume is not None and index == first else None
            ctx.step_index = index
            ctx.step_state, ctx.step_state_fn = {}, None
            ctx.emit(
                StepStarted(
                    ctx.run_id,
                    ctx.now(),
                    index,
                    step.label,
                    step.kind,
                    len(self.plan),
                    self.unit_of(step),
                )
            )
            try:
                if standby is not None:
                    await self._resume_standby(standby)
                    standby = None
                details = await self._step(index, step, partial or None)
            except RunAborted as exc:
                ctx.results.append(
                    {"label": step.label, "outcome": exc.outcome, "reason": exc.reason}
                )
                ctx.emit(
                    StepFinished(
                        ctx.run_id,
                        ctx.now(),
                        index,
                        step.label,
                        exc.outcome,
                        {"reason": exc.reason},
                    )
                )
                raise
            ctx.results.append({"label": step.label, "outcome": "completed", **details})
            ctx.emit(StepFinished(ctx.run_id, ctx.now(), index, step.label, "completed", details))
            ctx.step_index = index + 1
            ctx.step_state, ctx.step_state_fn = {}, None
            ctx.maybe_checkpoint(force=True)
        return ctx.results

    async def _step(
        self, index: int, step: PlanStep, partial: dict[str, Any] | None
    ) -> dict[str, Any]:
        ctx = self.ctx
        if step.prompt_before and partial is None:
            await ctx.ask(step.prompt_before)
        details: dict[str, Any] = {}
        if step.kind == "firing" and isinstance(step.recipe, FiringProfile):
            self._check_material(step.recipe)
            kiln = self.kilns(step.kiln)
            take_over = await self._release_standby(kiln.name)
            run = FiringRun(
                ctx,
                kiln,
                step.recipe,
                material_max_c=self.material_max_c,
                keep_hot=self._keeps_hot(index, kiln.name),
                take_over=take_over,
            )
            details = await run.run(resume=partial)
            if run.keep_hot:
                await self._hold(KilnStandby(ctx, kiln, step.recipe, index, run.hand_over()))
        elif step.kind == "plating" and isinstance(step.recipe, PlatingRecipe):
            await self._release_standby(None)
            if self.lot is None:
                raise RunAborted(no_lot_refusal(step.label), outcome="stopped")
            details = await PlatingRun(ctx, step.recipe, self.tanks, self.lot.area_dm2).run(
                resume=partial
            )
        elif step.kind == "prompt":
            details = {"answer": await ctx.ask(step.text or step.label)}
        if step.prompt_after:
            if self._standby is not None and isinstance(step.recipe, FiringProfile):
                await self._ask_to_unload(step.prompt_after, self._standby, step.recipe)
            else:
                await ctx.ask(step.prompt_after)
        return details

    async def _ask_to_unload(
        self, text: str, standby: KilnStandby, profile: FiringProfile
    ) -> None:
        """Ask the step's after-prompt while the standby keeps the kiln hot with the fired
        pins still inside: every minute there is over-firing (bubbles, cracks), so past the
        profile's margin the operator is alarmed to unload; answered, the alarm clears."""
        ctx, kiln = self.ctx, standby.kiln.name
        last = profile.segments[-1]
        margin_s = UNLOAD_MARGIN_S
        if last.warn_hold_s is not None:
            margin_s = max(UNLOAD_MARGIN_MIN_S, last.warn_hold_s - last.hold_s)

        async def alarm_when_late() -> None:
            await ctx.clock.sleep(margin_s)
            ctx.alarms.raise_alarm(
                kiln, "unload_late", f"fired pins still in the hot kiln after {margin_s:.0f} s"
            )

        late = asyncio.get_running_loop().create_task(alarm_when_late())
        try:
            await ctx.ask(text)
        finally:
            late.cancel()
            ctx.alarms.clear(kiln, "unload_late")

    def unit_of(self, step: PlanStep) -> str:
        """The kiln or tanks a step uses ("kiln1", "gold, nickel"; "" for a prompt), for
        the operator's log and the job view."""
        if step.kind == "firing":
            return self.kilns(step.kiln).name
        if isinstance(step.recipe, PlatingRecipe):
            return ", ".join(sorted({s.tank for s in step.recipe.steps if s.tank is not None}))
        return ""

    def _keeps_hot(self, index: int, kiln: str) -> bool:
        """Hold `kiln` hot after the firing of step `index`? Only when the next step that
        is not an operator prompt fires on the same kiln, under a max temperature that
        allows this firing's final target (a cooler profile next must not start tripped)."""
        done = self.plan[index].recipe
        for later in self.plan[index + 1 :]:
            if later.kind == "prompt":
                continue
            return (
                later.kind == "firing"
                and isinstance(later.recipe, FiringProfile)
                and isinstance(done, FiringProfile)
                and self.kilns(later.kiln).name == kiln
                and done.segments[-1].target_c <= later.recipe.max_temp_c
            )
        return False

    async def _hold(self, standby: KilnStandby, resume: dict[str, Any] | None = None) -> None:
        """Keep a kiln hot until the next step that is not a prompt."""
        self._standby = standby  # before start: a failed start is still closed safe
        await standby.start(resume)

    async def _resume_standby(self, state: dict[str, Any]) -> None:
        """Hold the kiln again as the checkpoint says, if the resume rules allow
        (short outage, PV near the standby target); else RunAborted("stopped")."""
        after = self.plan[int(state["after_step"])]
        if not isinstance(after.recipe, FiringProfile):
            raise RunAborted(f"checkpoint: step {after.label!r} has no firing", "stopped")
        kiln = self.kilns(after.kiln)
        await self._hold(KilnStandby(self.ctx, kiln, after.recipe, int(state["after_step"])), state)

    async def _release_standby(self, kiln: str | None) -> HandOver | None:
        """End the standby, if any: handed over to a firing on `kiln`, else kiln safe."""
        standby, self._standby = self._standby, None
        if standby is None:
            return None
        if standby.kiln.name == kiln:
            return await standby.hand_over()
        await standby.close()
        return None

    def _check_material(self, profile: FiringProfile) -> None:
        limit = self.material_max_c
        if limit is not None and profile.peak_c > limit:
            material = self.lot.material.value if self.lot is not None else "lot"
            self.ctx.alarms.raise_alarm(
                "job", "material_limit", f"{profile.name} peaks at {profile.peak_c:.0f} °C"
            )
            raise RunAborted(
                f"{profile.name} peaks at {profile.peak_c:.0f} °C, above "
                f"{limit:.0f} °C allowed for {material}: not started",
                outcome="stopped",
            )
