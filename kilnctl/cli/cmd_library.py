"""`kilnctl recipes`: the recipe library at a glance (what `kilnctl start` can be given).

One row per profile, plating recipe and job of the library folders: kind, estimated
duration, content hash (the one stamped on a run's batch record) and whether it validates,
with the first problem when it does not."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from kilnctl.cli.plant_arg import plant_for
from kilnctl.recipes import estimate
from kilnctl.recipes.loader import RecipeError, RecipeLibrary, content_hash, load_recipe
from kilnctl.recipes.models import FiringProfile, Job, PlatingRecipe, Recipe
from kilnctl.recipes.rules import check_recipe
from kilnctl.report import format_duration


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the recipes subcommand."""
    p = subparsers.add_parser(
        "recipes",
        help="list profiles, plating recipes and jobs: kind, duration, hash, validity",
    )
    p.add_argument("--dir", action="append", metavar="DIR", help="recipe folder (repeatable)")
    p.add_argument("--json", action="store_true", help="one JSON object per recipe")
    p.set_defaults(func=cmd_recipes)


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


def describe(path: Path, library: RecipeLibrary, plant: Any) -> dict[str, Any]:
    """name, kind, file, duration_s, sha256, valid and problem (the first, or "")."""
    row: dict[str, Any] = {"name": path.stem, "kind": "?", "file": str(path), "duration_s": None}
    row.update(sha256="", valid=False, problem="")
    try:
        recipe = load_recipe(path)
        row.update(name=recipe.name, kind=recipe.kind, sha256=content_hash(recipe))
        errors = [f for f in check_recipe(recipe, library, plant) if f.level == "error"]
        row["duration_s"] = duration_s(recipe, library)
    except RecipeError as exc:
        row["problem"] = exc.lines()[0] if exc.lines() else str(exc)
        return row
    if errors:
        row["problem"] = f"{errors[0].where}: {errors[0].message}"
    else:
        row["valid"] = True
    return row


def cmd_recipes(args: argparse.Namespace) -> int:
    library = RecipeLibrary(args.dir) if args.dir else RecipeLibrary()
    plant = plant_for(args.config, optional=True)
    rows = [describe(path, library, plant) for path in library.files()]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    if not rows:
        print(f"no recipes in {', '.join(str(d) for d in library.dirs)}")
        return 0
    table = [("NAME", "KIND", "DURATION", "SHA256", "VALID")]
    for row in rows:
        duration = "-" if row["duration_s"] is None else format_duration(row["duration_s"])
        valid = "ok" if row["valid"] else f"NO: {row['problem']}"
        table.append((row["name"], row["kind"], duration, row["sha256"][:12] or "-", valid))
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
    return 0
