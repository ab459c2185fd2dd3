"""`kilnctl recipes`: the recipe library at a glance (what `kilnctl start` can be given).

One row per profile, plating recipe and job of the library folders: kind, estimated
duration, content hash (the one stamped on a run's batch record) and whether it validates,
with the first problem when it does not."""

from __future__ import annotations

import argparse
import json

from kilnctl.cli.plant_arg import plant_for
from kilnctl.recipes.listing import describe, duration_s
from kilnctl.recipes.loader import RecipeLibrary
from kilnctl.report import format_duration

__all__ = ["cmd_recipes", "describe", "duration_s", "register"]  # the rows live in recipes


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the recipes subcommand."""
    p = subparsers.add_parser(
        "recipes",
        help="list profiles, plating recipes and jobs: kind, duration, hash, validity",
    )
    p.add_argument("--dir", action="append", metavar="DIR", help="recipe folder (repeatable)")
    p.add_argument("--json", action="store_true", help="one JSON object per recipe")
    p.set_defaults(func=cmd_recipes)


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
