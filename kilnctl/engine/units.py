"""Which kiln and which tank of the plant each step of a run uses.

A job names its kilns (a firing step's `kiln`, none when the plant has one kiln) and its
plating recipes name their tanks (a step's `tank`): those names are the job's *roles*.
At start an operator may put a role on another unit of the same kind (the job written for
kiln1 fired in kiln2, a nickel tank's twin): `assign_units` rewrites the plan so that the
preflight, the busy check and the run all see the chosen units. The recipe files and their
content hashes are untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

from kilnctl.engine.job import PlanStep
from kilnctl.recipes.models import PlatingRecipe

UNNAMED_KILN = ""
"""Role of a firing step that names no kiln (the plant's only kiln, or the one given)."""


class UnitRole(NamedTuple):
    """One kiln or tank a plan needs, as the recipe names it."""

    kind: str
    """"kiln" | "tank"."""
    role: str
    """the name in the recipe (UNNAMED_KILN for a firing step naming none)"""


class UnitsError(ValueError):
    """An assignment naming a role the plan does not have, or a unit of the wrong kind."""


def unit_roles(plan: Iterable[PlanStep]) -> list[UnitRole]:
    """The kilns and tanks `plan` needs, in the order of first use, each once."""
    roles: dict[UnitRole, None] = {}
    for step in plan:
        if step.kind == "firing":
            roles[UnitRole("kiln", step.kiln or UNNAMED_KILN)] = None
        elif isinstance(step.recipe, PlatingRecipe):
            for st in step.recipe.steps:
                if st.tank is not None:
                    roles[UnitRole("tank", st.tank)] = None
    return list(roles)


def _check(
    kind: str, chosen: Mapping[str, str], roles: Sequence[UnitRole], units: Mapping[str, Any]
) -> None:
    have = [r.role for r in roles if r.kind == kind]
    for role, unit in chosen.items():
        if role not in have:
            shown = ", ".join(repr(r) for r in have) or "none"
            raise UnitsError(f"{kind} {role!r} is not a {kind} of this job ({kind}s: {shown})")
        if unit not in units:
            raise UnitsError(
                f"{kind} {role!r} -> {unit!r}: not a {kind} of the plant config "
                f"(allowed: {', '.join(units) or 'none'})"
            )


def assign_units(
    plan: Sequence[PlanStep],
    plant: Any,
    kilns: Mapping[str, str] | None = None,
    tanks: Mapping[str, str] | None = None,
) -> list[PlanStep]:
    """`plan` with each kiln role in `kilns` and each tank role in `tanks` replaced by
    the plant unit it maps to (role -> unit name). Raises UnitsError naming the role and
    the allowed units when a role is not the plan's or a unit not the plant's."""
    kilns, tanks = dict(kilns or {}), dict(tanks or {})
    if not kilns and not tanks:
        return list(plan)
    roles = unit_roles(plan)
    _check("kiln", kilns, roles, getattr(plant, "kilns", {}) or {})
    _check("tank", tanks, roles, getattr(plant, "tanks", {}) or {})
    out = []
    for step in plan:
        if step.kind == "firing" and (step.kiln or UNNAMED_KILN) in kilns:
            step = replace(step, kiln=kilns[step.kiln or UNNAMED_KILN])
        elif isinstance(step.recipe, PlatingRecipe) and tanks:
            steps = [
                st.model_copy(update={"tank": tanks[st.tank]}) if st.tank in tanks else st
                for st in step.recipe.steps
            ]
            step = replace(step, recipe=step.recipe.model_copy(update={"steps": steps}))
        out.append(step)
    return out
