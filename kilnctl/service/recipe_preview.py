"""What the service tells a client about the recipes it can start: the "recipes" rows
(kilnctl.recipes.listing, as `kilnctl recipes` prints them) and the "recipe" detail a
recipe browser shows before a start.

The detail of one recipe (all times in seconds from the start of the job, temperatures °C):

    {"name", "kind": "job" | "firing" | "plating" | "invalid", "file", "sha256",
     "duration_s": estimate (kilnctl.recipes.estimate) | None,
     "findings": [{"level": "error" | "warning", "text": "file:line: where: level: msg"}],
     "roles": [{"kind": "kiln" | "tank", "role": name in the recipe ("" = unnamed kiln)}],
     "plan": [{"label", "points": [[t, SP °C], ...]}],   # one per firing step
     "steps": [{"label", "kind", "what", "unit", "current_a", "duration_s", "depth"}],
     "startable": bool, "why_not": "" | reason}

The findings are `validate`'s (check_recipe: for a job the same check_job the engine's
preflight runs at start, same messages); the plan's points are FiringSchedule.plan() of
each firing step from the kiln's temperature at that point (ambient, or the previous
firing's last target in the same kiln), 'max' ramps at the estimate's full-power rate.
"""

from __future__ import annotations

from typing import Any

from kilnctl.engine.job import PlanStep, plan_job
from kilnctl.engine.schedule import FiringSchedule, ScheduleState
from kilnctl.engine.units import unit_roles
from kilnctl.recipes import estimate
from kilnctl.recipes.listing import describe_recipe
from kilnctl.recipes.loader import RecipeError
from kilnctl.recipes.models import FiringProfile, Job, PlatingRecipe, Recipe
from kilnctl.recipes.rules import check_recipe, finding_lines

STARTABLE_KINDS = ("job", "firing")
"""What the service's "start" can run: a job carries its lot; a bare firing profile needs
none. A bare plating recipe needs the lot's area, which only a job gives."""


def recipe_rows(library: Any, plant: Any) -> list[dict[str, Any]]:
    """One describe_recipe row per name of `library` (plus "name" and "kind"); a file that
    does not load is kind "invalid" with its "error" (one broken file hides no other)."""
    if library is None:
        return []
    rows = []
    for name in library.names():
        try:
            recipe = library.get(name)
        except RecipeError as exc:
            first = exc.lines()[0] if exc.lines() else str(exc)
            rows.append(
                {"name": name, "kind": "invalid", "error": str(exc), "problem": first}
                | {"valid": False, "duration_s": None, "sha256": ""}
            )
            continue
        rows.append(describe_recipe(recipe, library, plant))
    return rows


def _plan_of(recipe: Recipe, library: Any) -> list[PlanStep]:
    """The run's steps as the engine plans them (kilnctl.engine.engine _prepare)."""
    if isinstance(recipe, Job):
        return plan_job(recipe, library.get)
    if isinstance(recipe, FiringProfile):
        return [PlanStep("firing", recipe.name, recipe)]
    if isinstance(recipe, PlatingRecipe):
        return [PlanStep("plating", recipe.name, recipe)]
    return []


def setpoint_plan(profile: FiringProfile, start_c: float, t0: float) -> list[list[float]]:
    """The travelling setpoint's vertices [t, SP °C] of `profile` started at `t0` with the
    kiln at `start_c` (FiringSchedule.plan, the same the status's planned setpoint uses)."""
    schedule = FiringSchedule.from_profile(profile, state=ScheduleState(sp_c=start_c))
    return [[t, sp] for t, sp in schedule.plan(t0, estimate.FULL_POWER_RATE_C_PER_H)]


def _timeline(plan: list[PlanStep], area_dm2: float | None) -> tuple[list[Any], list[Any]]:
    """(step rows, firing plans) along the job's estimated time."""
    rows: list[dict[str, Any]] = []
    plots: list[dict[str, Any]] = []
    kiln_c: dict[str | None, float] = {}
    t = 0.0
    for step in plan:
        recipe = step.recipe
        row: dict[str, Any] = {"label": step.label, "kind": step.kind, "depth": 0}
        row.update(what=step.text or "", unit="", current_a=None, duration_s=None)
        rows.append(row)
        if isinstance(recipe, FiringProfile):
            start_c = kiln_c.get(step.kiln, estimate.AMBIENT_C)
            duration = estimate.estimate_firing(recipe, start_c).duration_s
            plots.append({"label": step.label, "points": setpoint_plan(recipe, start_c, t)})
            kiln_c[step.kiln] = recipe.segments[-1].target_c
            row.update(what=recipe.name, unit=step.kiln or "", duration_s=duration)
            t += duration
        elif isinstance(recipe, PlatingRecipe):
            total = 0.0
            tanks = []
            for st in recipe.steps:
                est = estimate.estimate_step(st, area_dm2)
                total += est.duration_s or 0.0
                tanks += [st.tank] if st.tank and st.tank not in tanks else []
                rows.append(
                    {"label": st.name, "kind": st.kind, "what": "", "unit": st.tank or "",
                     "current_a": est.current_a, "duration_s": est.duration_s, "depth": 1}
                )  # fmt: skip
            row.update(what=recipe.name, unit=", ".join(tanks), duration_s=total)
            t += total
    return rows, plots


def recipe_detail(name: str, library: Any, plant: Any) -> dict[str, Any]:
    """The detail of recipe `name` (see the module docstring); never raises RecipeError:
    a recipe that does not load is kind "invalid" with its problems as findings."""
    out: dict[str, Any] = {"name": name, "kind": "invalid", "file": "", "sha256": ""}
    out.update(duration_s=None, findings=[], roles=[], plan=[], steps=[])
    out.update(startable=False, why_not="")
    try:
        recipe = library.get(name)
        path = library.path_of(name)
    except RecipeError as exc:
        out["findings"] = [{"level": "error", "text": line} for line in exc.lines()]
        out["why_not"] = "the file does not load"
        return out
    row = describe_recipe(recipe, library, plant)
    out.update(kind=row["kind"], sha256=row["sha256"], duration_s=row["duration_s"])
    out["file"] = str(path)
    try:
        findings = check_recipe(recipe, library, plant)
        plan = _plan_of(recipe, library)
    except (RecipeError, ValueError) as exc:  # a ref to a missing file or of the wrong kind
        lines = exc.lines() if isinstance(exc, RecipeError) else [f"{path}: {exc}"]
        out["findings"] = [{"level": "error", "text": line} for line in lines]
        out["why_not"] = "a step's recipe does not load"
        return out
    texts = finding_lines(findings, path)
    out["findings"] = [{"level": f.level, "text": s} for f, s in zip(findings, texts, strict=True)]
    out["roles"] = [r._asdict() for r in unit_roles(plan)]
    area = recipe.lot.area_dm2 if isinstance(recipe, Job) else None
    out["steps"], out["plan"] = _timeline(plan, area)
    errors = sum(f.level == "error" for f in findings)
    if errors:
        out["why_not"] = f"{errors} error{'s' if errors > 1 else ''} (listed above)"
    elif recipe.kind not in STARTABLE_KINDS:
        out["why_not"] = "a plating recipe runs inside a job (the job gives the lot's area)"
    out["startable"] = not out["why_not"]
    return out
