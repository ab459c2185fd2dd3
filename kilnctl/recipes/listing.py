"""One row per recipe of a library: what `kilnctl recipes` prints and the service's
"recipes" request returns (kind, estimated duration, content hash, validity)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kilnctl.recipes import estimate
from kilnctl.recipes.loader import RecipeError, RecipeLibrary, content_hash, load_recipe
from kilnctl.recipes.models import FiringProfile, Job, PlatingRecipe, Recipe
from kilnctl.recipes.rules import check_recipe


def duration_s(recipe: Recipe, library: RecipeLibrary) -> float | None:
    """Process time of a recipe in seconds (firing from ambient at the default kiln power;
    plating steps of a fixed time or charge need the lot area: those count as unknown)."""
    if isinstance(recipe, FiringProfile):
        return estimate.estimate_firing(recipe).duration_s
    if isinstance(recipe, PlatingRecipe):
        parts = [estimate.estimate_step(s, None).duration_s for s in recipe.steps]
        return None if any(p is None for p in parts) else sum(p or 0.0 for p in parts)
    if isinstance(recipe, Job):
        total = 0.0
        for step in recipe.steps:
            if step.ref is None:
                continue
            if step.kind == "plating":
                area = recipe.lot.area_dm2
                plating = library.get_plating(step.ref)
                parts = [estimate.estimate_step(s, area).duration_s for s in plating.steps]
                total += sum(p or 0.0 for p in parts)
            else:
                total += duration_s(library.get(step.ref), library) or 0.0
        return total
    return None


def describe_recipe(recipe: Recipe, library: RecipeLibrary, plant: Any) -> dict[str, Any]:
    """name, kind, duration_s (None: unknown), sha256, valid and problem (the first
    error as "where: message", or "") of a loaded recipe."""
    row: dict[str, Any] = {"name": recipe.name, "kind": recipe.kind, "duration_s": None}
    row.update(sha256=content_hash(recipe), valid=False, problem="")
    try:
        errors = [f for f in check_recipe(recipe, library, plant) if f.level == "error"]
        row["duration_s"] = duration_s(recipe, library)
    except RecipeError as exc:  # a ref to a broken or missing file
        row["problem"] = exc.lines()[0] if exc.lines() else str(exc)
        return row
    if errors:
        row["problem"] = f"{errors[0].where}: {errors[0].message}"
    else:
        row["valid"] = True
    return row


def describe(path: Path, library: RecipeLibrary, plant: Any) -> dict[str, Any]:
    """describe_recipe of the file at `path`, with "file"; a file that does not load is
    kind "?" with its first problem."""
    try:
        recipe = load_recipe(path)
    except RecipeError as exc:
        problem = exc.lines()[0] if exc.lines() else str(exc)
        row: dict[str, Any] = {"name": path.stem, "kind": "?", "duration_s": None}
        return {**row, "file": str(path), "sha256": "", "valid": False, "problem": problem}
    return {**describe_recipe(recipe, library, plant), "file": str(path)}
