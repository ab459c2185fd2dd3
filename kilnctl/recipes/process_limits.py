"""Process-class limits: what a firing of vitreous enamel may do when its file says nothing.

Vitreous enamel fuses at 760–870 °C in about 1.5–3 min per coat; past about 5 min at
temperature it over-fires (bubbles, cracks) — docs/process.md. So a segment that holds at
or above `from_temp` gets, unless the recipe file sets its own:
- warn_hold 3 min (the usual window: the operator is warned),
- max_hold 5 min (over-firing: the run aborts).
The plant config's `[vitreous_enamel]` table changes these defaults for a site; a recipe's
explicit `warn_hold` / `max_hold` always wins. A default that would contradict the file's
own limit (a default warn_hold at or past the file's max_hold, a default max_hold before the
file's warn_hold) is not applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from kilnctl.recipes import faraday
from kilnctl.recipes.loader import RecipeError, RecipeLibrary
from kilnctl.recipes.models import (
    DurationS,
    FiringProfile,
    Job,
    PlatingRecipe,
    Recipe,
    Segment,
    TemperatureC,
)

DEFAULT_FROM_TEMP_C = 700.0  # above any resin cure, bake or anneal; below every enamel coat
DEFAULT_WARN_HOLD_S = 180.0  # ~1.5–3 min per coat
DEFAULT_MAX_HOLD_S = 300.0  # past ~5 min: bubbles and cracks


class VitreousEnamelLimits(BaseModel):
    """The plant config's `[vitreous_enamel]` table (every key optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    from_temp_c: TemperatureC = Field(
        default=DEFAULT_FROM_TEMP_C,
        validation_alias=AliasChoices("from_temp", "from_temp_c"),
        gt=0,
        description="a segment holding at or above this is a vitreous enamel firing",
    )
    warn_hold_s: DurationS = Field(
        default=DEFAULT_WARN_HOLD_S,
        validation_alias=AliasChoices("warn_hold", "warn_hold_s"),
        gt=0,
        description="default warn_hold of such a segment",
    )
    max_hold_s: DurationS = Field(
        default=DEFAULT_MAX_HOLD_S,
        validation_alias=AliasChoices("max_hold", "max_hold_s"),
        gt=0,
        description="default max_hold (over-fire abort) of such a segment",
    )

    @model_validator(mode="after")
    def _ordered(self) -> VitreousEnamelLimits:
        if self.warn_hold_s > self.max_hold_s:
            raise ValueError(
                f"warn_hold {self.warn_hold_s:g} s after max_hold {self.max_hold_s:g} s "
                "(allowed: warn_hold <= max_hold)"
            )
        return self


SOURCE = "vitreous enamel default"


def minutes_text(seconds: float) -> str:
    """'5 min', '90 s': a hold limit as a technician writes it."""
    return f"{seconds / 60:g} min" if seconds % 60 == 0 else f"{seconds:g} s"


@dataclass(frozen=True)
class HoldLimits:
    """A segment's effective hold limits (s) and whether each came from the class default."""

    warn_hold_s: float | None
    max_hold_s: float | None
    warn_default: bool = False
    max_default: bool = False


def is_enamel_segment(segment: Segment, limits: VitreousEnamelLimits) -> bool:
    """A heating (or level) segment whose target is in the vitreous enamel range."""
    return not segment.cooling and segment.target_c >= limits.from_temp_c


def hold_limits(segment: Segment, limits: VitreousEnamelLimits) -> HoldLimits:
    """The file's warn/max hold, filled in from the class defaults where it says nothing."""
    warn, maximum = segment.warn_hold_s, segment.max_hold_s
    if not is_enamel_segment(segment, limits):
        return HoldLimits(warn, maximum)
    max_default = maximum is None and (warn is None or limits.max_hold_s >= warn)
    if max_default:
        maximum = limits.max_hold_s
    warn_default = warn is None and (maximum is None or limits.warn_hold_s < maximum)
    if warn_default:
        warn = limits.warn_hold_s
    return HoldLimits(warn, maximum, warn_default, max_default)


def with_process_limits(profile: FiringProfile, limits: VitreousEnamelLimits) -> FiringProfile:
    """A copy of `profile` whose segments carry their effective hold limits (what the
    engine's over-fire interlock enforces). The content hash is the file's, taken before."""
    segments = []
    for seg in profile.segments:
        eff = hold_limits(seg, limits)
        segments.append(
            seg.model_copy(update={"warn_hold_s": eff.warn_hold_s, "max_hold_s": eff.max_hold_s})
        )
    return profile.model_copy(update={"segments": segments})


@dataclass(frozen=True)
class DefaultUsed:
    """A value a recipe left out whose default changes the result."""

    where: str
    """recipe and field, e.g. "nickel-gold-flash steps[11] (gold flash).efficiency" """
    value: str
    source: str

    def __str__(self) -> str:
        return f"{self.where} = {self.value} ({self.source})"


def defaults_used(
    recipes: Iterable[Recipe], limits: VitreousEnamelLimits | None = None
) -> list[DefaultUsed]:
    """Each default a firing profile or plating recipe of `recipes` relies on: cathode
    efficiencies of the bath (thickness targets and estimates depend on them) and the
    vitreous enamel hold limits. Jobs are skipped: pass the recipes they refer to."""
    limits = limits or VitreousEnamelLimits()
    found: list[DefaultUsed] = []
    seen: set[str] = set()
    for recipe in recipes:
        if recipe.name in seen:
            continue
        seen.add(recipe.name)
        if isinstance(recipe, PlatingRecipe):
            for i, step in enumerate(recipe.steps):
                if step.kind == "electro" and step.deposit is not None and step.efficiency is None:
                    efficiency = faraday.DEFAULT_EFFICIENCY[step.deposit]
                    found.append(
                        DefaultUsed(
                            f"{recipe.name} steps[{i}] ({step.name}).efficiency",
                            f"{efficiency:g}",
                            f"{step.deposit.value} bath default cathode efficiency; "
                            "set `efficiency` from XRF readings",
                        )
                    )
        elif isinstance(recipe, FiringProfile):
            for i, seg in enumerate(recipe.segments):
                eff = hold_limits(seg, limits)
                for key, used, limit in (
                    ("warn_hold", eff.warn_default, eff.warn_hold_s),
                    ("max_hold", eff.max_default, eff.max_hold_s),
                ):
                    if used and limit is not None:
                        found.append(
                            DefaultUsed(
                                f"{recipe.name} segments[{i}].{key}",
                                minutes_text(limit),
                                f"{SOURCE} for a hold at {seg.target_c:g} °C; "
                                "plant config [vitreous_enamel] or the file's own "
                                f"`{key}` overrides",
                            )
                        )
    return found


def defaults_for(
    recipe: Recipe, library: RecipeLibrary, limits: VitreousEnamelLimits | None = None
) -> list[DefaultUsed]:
    """defaults_used of a recipe, or of the recipes a job refers to (refs that do not
    resolve are left to validation to report)."""
    recipes: list[Recipe] = [recipe]
    if isinstance(recipe, Job):
        recipes = []
        for step in recipe.steps:
            if step.ref is None:
                continue
            try:
                recipes.append(library.get(step.ref))
            except RecipeError:
                continue
    return defaults_used(recipes, limits)
