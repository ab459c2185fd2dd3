"""Material rules and device limits for a job: what the models alone cannot know.

Material limits (docs/process.md): zinc alloy (Zamak 3) melts at 381–387 °C, and plated
zinc die-castings blister at 130–177 °C; high-zinc brass bubbles under vitreous enamel.
Device limits come from the plant config (kiln max temperature, tank rectifier ratings).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

from kilnctl.plant import Plant
from kilnctl.recipes.loader import RecipeError, RecipeLibrary
from kilnctl.recipes.models import (
    FiringProfile,
    Job,
    Loc,
    Lot,
    Material,
    PlatingRecipe,
    Recipe,
)
from kilnctl.recipes.process_limits import VitreousEnamelLimits, hold_limits, minutes_text
from kilnctl.recipes.toml_lines import key_lines, line_of

# Thresholds, named so a site can see (and a test can pin) what the rules assume.
ZINC_ALLOY_MAX_KILN_C = 350.0  # ~35 °C under the 381 °C solidus of Zamak 3
ZINC_ALLOY_MAX_BAKE_AFTER_PLATING_C = 120.0  # plated zinc blisters from ~130 °C
VITREOUS_ENAMEL_C = 700.0  # a firing above this is glass enamel, not a resin cure or bake
HIGH_ZINC_BRASSES = frozenset({Material.YELLOW_BRASS, Material.BRASS})
ROOM_TEMP_C = 25.0  # without a plant config: a warm kiln room (Plant.room_temp_c)

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One rule result: an error refuses the job, a warning is shown and recorded."""

    level: Level
    where: str
    message: str
    loc: Loc = ()
    """key path of the value at fault, to find its line (see finding_lines)"""
    path: Path | None = None
    """the file holding it, when not the file checked (a profile or recipe a job refers to)"""

    def __str__(self) -> str:
        return f"{self.where}: {self.level}: {self.message}"


def step_where(index: int, label: str) -> str:
    """How messages name a job's step: "steps[2] (coat 1)"."""
    return f"steps[{index}] ({label})"


class StepRef(NamedTuple):
    """One resolved step of a job, as check_steps takes it."""

    where: str
    """the step as messages name it (step_where); "" for a bare recipe"""
    recipe: Recipe | None
    kiln: str | None = None
    at: Loc = ()
    """key path of the step in the job file (for file:line)"""
    source: Path | None = None
    """the profile / recipe file the step refers to"""
    error: Finding | None = None
    """why the step's recipe could not be had (a bad ref), reported in the step's turn"""


def check_job(job: Job, library: RecipeLibrary, plant: Plant | None = None) -> list[Finding]:
    """Material rules and (with a plant) device limits for every step of `job`."""
    steps: list[StepRef] = []
    for index, step in enumerate(job.steps):
        where = step_where(index, step.label)
        if step.kind == "prompt" or step.ref is None:
            continue
        at: Loc = ("steps", index)
        try:
            recipe = (
                library.get_firing(step.ref)
                if step.kind == "firing"
                else library.get_plating(step.ref)
            )
            source = library.path_of(step.ref)
        except RecipeError as exc:
            detail = "; ".join(p.describe() for p in exc.problems)
            error = Finding("error", f"{where}.ref", f"{step.ref!r}: {detail}", (*at, "ref"))
            steps.append(StepRef(where, None, step.kiln, at, error=error))
            continue
        steps.append(StepRef(where, recipe, step.kiln, at, source))
    return check_steps(steps, job.lot, plant)


def check_steps(steps: Iterable[StepRef], lot: Lot | None, plant: Plant | None) -> list[Finding]:
    """Every rule over a whole job's resolved steps, in order. Material rules need a
    `lot`; device limits a `plant`; plating currents the lot's area. The one check
    `validate`, and every start of a run (`kilnctl.engine`), use."""
    findings: list[Finding] = []
    material = lot.material if lot is not None else None
    area = lot.area_dm2 if lot is not None else None
    room_c = plant.room_temp_c if plant is not None else ROOM_TEMP_C
    plated = False
    for step in steps:
        recipe, at = step.recipe, step.at
        if step.error is not None:
            findings.append(step.error)
        if recipe is None:
            continue
        where = step.where or recipe.name  # a bare recipe is named by itself
        prefix = f"{step.where}: {recipe.name}." if step.where else f"{recipe.name}."
        if isinstance(recipe, FiringProfile):
            if material is not None:
                findings += [
                    _at(f, (*at, "ref")) for f in _firing_rules(where, recipe, material, plated)
                ]
            findings += _hold_rules(prefix, recipe, plant, step.source)
            findings += _cooling_targets(prefix, recipe, room_c, step.source)
            if plant is not None:
                findings += _kiln_limits(where, step.kiln, recipe, plant, at)
        elif isinstance(recipe, PlatingRecipe):
            plated = True
            if plant is not None:
                findings += _tank_limits(prefix, recipe, plant, area, step.source)
    return findings


def _at(finding: Finding, loc: Loc, path: Path | None = None) -> Finding:
    return Finding(finding.level, finding.where, finding.message, loc, path)


def _hold_rules(
    prefix: str, profile: FiringProfile, plant: Plant | None, path: Path | None = None
) -> list[Finding]:
    """Holds past the segment's effective warn/max hold, the vitreous enamel defaults
    filling in what the file leaves out (kilnctl.recipes.process_limits)."""
    limits = plant.vitreous_enamel if plant is not None else VitreousEnamelLimits()
    findings: list[Finding] = []
    for index, seg in enumerate(profile.segments):
        eff = hold_limits(seg, limits)
        loc: Loc = ("segments", index, "hold")
        where = f"{prefix}segments[{index}].hold"
        origin = "vitreous enamel default; set max_hold in the file to override"
        if eff.max_hold_s is not None and seg.hold_s > eff.max_hold_s:
            if eff.max_default:  # an explicit max_hold is checked by the model already
                findings.append(
                    Finding(
                        "error",
                        where,
                        f"{minutes_text(seg.hold_s)} at {seg.target_c:g} °C over-fires the "
                        f"enamel (allowed: <= max_hold {minutes_text(eff.max_hold_s)}, {origin})",
                        loc,
                        path,
                    )
                )
        elif eff.warn_hold_s is not None and seg.hold_s > eff.warn_hold_s:
            source = "vitreous enamel default" if eff.warn_default else "the file's warn_hold"
            findings.append(
                Finding(
                    "warning",
                    where,
                    f"{minutes_text(seg.hold_s)} at {seg.target_c:g} °C is past the usual "
                    f"window (warn_hold {minutes_text(eff.warn_hold_s)}, {source}): the run "
                    "will warn",
                    loc,
                    path,
                )
            )
    return findings


def check_recipe(
    recipe: Recipe,
    library: RecipeLibrary,
    plant: Plant | None = None,
    area_dm2: float | None = None,
) -> list[Finding]:
    """Rules for any recipe file: a job gets check_job; a plating recipe its tank limits
    (currents only when `area_dm2` is known); a firing profile its hold limits and cooling
    targets (it has no lot or kiln to check)."""
    if isinstance(recipe, Job):
        return check_job(recipe, library, plant)
    if isinstance(recipe, PlatingRecipe) and plant is not None:
        return _tank_limits("", recipe, plant, area_dm2)
    if isinstance(recipe, FiringProfile):
        room_c = plant.room_temp_c if plant is not None else ROOM_TEMP_C
        return _hold_rules("", recipe, plant) + _cooling_targets("", recipe, room_c)
    return []


def _cooling_targets(
    prefix: str, profile: FiringProfile, room_c: float, path: Path | None = None
) -> list[Finding]:
    """A target at or below room temperature is never reached: the kiln cannot cool below
    its room. The run ends such a segment when the kiln stops cooling (profiles/README.md)."""
    return [
        Finding(
            "warning",
            f"{prefix}segments[{index}]",
            f"target {seg.target_c:g} °C is at or below room temperature ({room_c:g} °C): "
            "the kiln cannot get there; the segment will end when the kiln stops cooling "
            "(set the target above the room's temperature)",
            ("segments", index, "target"),
            path,
        )
        for index, seg in enumerate(profile.segments)
        if seg.target_c <= room_c
    ]


def _firing_rules(
    where: str, profile: FiringProfile, material: Material, after_plating: bool
) -> list[Finding]:
    peak = profile.peak_c
    findings: list[Finding] = []
    if material is Material.ZINC_ALLOY and peak > ZINC_ALLOY_MAX_KILN_C:
        findings.append(
            Finding(
                "error",
                where,
                f"{profile.name} reaches {peak:g} °C; a zinc_alloy lot melts at 381 °C "
                f"(allowed: <= {ZINC_ALLOY_MAX_KILN_C:g} °C)",
            )
        )
    elif (
        material is Material.ZINC_ALLOY
        and after_plating
        and peak > ZINC_ALLOY_MAX_BAKE_AFTER_PLATING_C
    ):
        findings.append(
            Finding(
                "warning",
                where,
                f"{profile.name} bakes at {peak:g} °C after plating; plated zinc alloy "
                f"blisters from ~130 °C (keep <= {ZINC_ALLOY_MAX_BAKE_AFTER_PLATING_C:g} °C)",
            )
        )
    if material in HIGH_ZINC_BRASSES and peak > VITREOUS_ENAMEL_C:
        findings.append(
            Finding(
                "warning",
                where,
                f"{profile.name} fires vitreous enamel at {peak:g} °C on {material.value}: "
                "high-zinc brass bubbles (use copper or gilding metal)",
            )
        )
    return findings


def _kiln_limits(
    where: str, kiln_ref: str | None, profile: FiringProfile, plant: Plant, at: Loc = ()
) -> list[Finding]:
    kiln_loc: Loc = (*at, "kiln") if kiln_ref is not None else at
    try:
        kiln_name, kiln = plant.kiln(kiln_ref)
    except KeyError as exc:
        return [Finding("error", f"{where}.kiln", str(exc.args[0]), kiln_loc)]
    if profile.peak_c > kiln.max_temp_c:
        return [
            Finding(
                "error",
                where,
                f"{profile.name} reaches {profile.peak_c:g} °C, above kiln {kiln_name}'s "
                f"max_temp (allowed: <= {kiln.max_temp_c:g} °C)",
                kiln_loc,
            )
        ]
    return []


def _tank_limits(
    prefix: str,
    recipe: PlatingRecipe,
    plant: Plant,
    area_dm2: float | None,
    path: Path | None = None,
) -> list[Finding]:
    findings: list[Finding] = []
    for index, step in enumerate(recipe.steps):
        if step.tank is None:
            continue
        at = f"{prefix}steps[{index}] ({step.name})"
        step_loc: Loc = ("steps", index)
        try:
            tank = plant.tank(step.tank)
        except KeyError as exc:
            findings.append(Finding("error", at, str(exc.args[0]), (*step_loc, "tank"), path))
            continue
        current_key = "current" if step.current_a is not None else "current_density"
        current = step.current_a
        if current is None and step.current_density_a_dm2 is not None and area_dm2 is not None:
            current = step.current_density_a_dm2 * area_dm2
        if current is not None and tank.max_current_a is not None and current > tank.max_current_a:
            findings.append(
                Finding(
                    "error",
                    at,
                    f"needs {current:.3g} A, above tank {step.tank}'s rectifier "
                    f"(allowed: <= {tank.max_current_a:g} A; split the load)",
                    (*step_loc, current_key),
                    path,
                )
            )
        volts = step.voltage_limit_v
        if volts is not None and tank.max_voltage_v is not None and volts > tank.max_voltage_v:
            findings.append(
                Finding(
                    "error",
                    at,
                    f"voltage_limit {volts:g} V above tank {step.tank}'s rectifier "
                    f"(allowed: <= {tank.max_voltage_v:g} V)",
                    (*step_loc, "voltage_limit"),
                    path,
                )
            )
    return findings


def finding_lines(findings: list[Finding], path: str | Path) -> list[str]:
    """'file:line: where: level: message' per finding: the line of its value in the file
    checked (`path`) or in the profile / recipe it came from (finding.path)."""
    indexes: dict[Path, dict[Loc, int]] = {}
    out = []
    for finding in findings:
        file = finding.path or Path(path)
        if file not in indexes:
            try:
                indexes[file] = key_lines(file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                indexes[file] = {}
        line = line_of(indexes[file], finding.loc) if finding.loc else None
        shown = f"{file}:{line}" if line is not None else str(file)
        out.append(f"{shown}: {finding}")
    return out
