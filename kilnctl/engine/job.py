"""A job: the layers and steps of one lot in order, with operator prompts between.

Each step's outcome and figures are recorded (StepFinished with details, and the
checkpointed results list) so the batch record says what happened per step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kilnctl.engine.firing import FiringRun, KilnSetup
from kilnctl.engine.messages import StepFinished, StepStarted
from kilnctl.engine.plating import PlatingRun, TankSetup
from kilnctl.engine.runtime import RunAborted, RunContext
from kilnctl.recipes.models import FiringProfile, Job, Lot, PlatingRecipe


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

    async def run(self, resume: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        ctx = self.ctx
        first = 0
        if resume is not None:
            first = int(resume.get("step_index", 0))
            ctx.results = list(resume.get("results", []))
            ctx.seq = {str(k): int(v) for k, v in resume.get("seq", {}).items()}
        for index in range(first, len(self.plan)):
            step = self.plan[index]
            partial = resume.get("step_state") if resume is not None and index == first else None
            ctx.step_index = index
            ctx.step_state, ctx.step_state_fn = {}, None
            ctx.emit(StepStarted(ctx.run_id, ctx.now(), index, step.label, step.kind))
            try:
                details = await self._step(step, partial or None)
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

    async def _step(self, step: PlanStep, partial: dict[str, Any] | None) -> dict[str, Any]:
        ctx = self.ctx
        if step.prompt_before and partial is None:
            await ctx.ask(step.prompt_before)
        details: dict[str, Any] = {}
        if step.kind == "firing" and isinstance(step.recipe, FiringProfile):
            self._check_material(step.recipe)
            run = FiringRun(
                ctx, self.kilns(step.kiln), step.recipe, material_max_c=self.material_max_c
            )
            details = await run.run(resume=partial)
        elif step.kind == "plating" and isinstance(step.recipe, PlatingRecipe):
            if self.lot is None:
                raise RunAborted("a plating step needs a lot (its area)", outcome="stopped")
            details = await PlatingRun(ctx, step.recipe, self.tanks, self.lot.area_dm2).run(
                resume=partial
            )
        elif step.kind == "prompt":
            details = {"answer": await ctx.ask(step.text or step.label)}
        if step.prompt_after:
            await ctx.ask(step.prompt_after)
        return details

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
