"""Recipe models: firing profiles, plating recipes and jobs (pydantic v2).

Stored values are canonical units (°C, °C/h, s, A, A/dm², V, µm, dm², Ah). Recipe files use
the short keys (`rate`, `target`, `hold`, ...) and may give units ("540 F/h", "3 min",
"23 A/ft2"); the long canonical names (`rate_c_per_h`, ...) are accepted too, so code can
build models with keyword arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from kilnctl.recipes import units
from kilnctl.recipes.units import Dimension

Loc = tuple[str | int, ...]


class CrossFieldError(ValueError):
    """Problems found by a model-level check, each with its path relative to the model,
    so the loader can report "segments[2].target" instead of the whole profile."""

    def __init__(self, problems: Sequence[tuple[Loc, object, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{format_loc(loc)}: {msg}" for loc, _, msg in self.problems))


def format_loc(loc: Iterable[str | int]) -> str:
    """('segments', 2, 'target') -> 'segments[2].target'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _quantity_schema(dim: Dimension, nullable: bool) -> dict[str, Any]:
    words = "'max' or number and unit" if dim is units.RATE else "number and unit"
    options: list[dict[str, Any]] = [
        {"type": "number", "description": f"in {dim.canonical}"},
        {"type": "string", "description": f"{words} ({dim.allowed()})"},
    ]
    if nullable:
        options.append({"type": "null"})
    return {"anyOf": options}


def _duplicates(names: Sequence[str], key: str, why: str) -> list[tuple[Loc, object, str]]:
    """A problem at ("steps", i, key) for each repeat of an earlier name (`why`: what keys
    on them, so the user knows why a repeat is refused)."""
    first: dict[str, int] = {}
    problems: list[tuple[Loc, object, str]] = []
    for index, name in enumerate(names):
        if name in first:
            problems.append(
                (
                    ("steps", index, key),
                    name,
                    f"repeats steps[{first[name]}]'s {key} ({why}; allowed: a {key} "
                    "used once in this file)",
                )
            )
        else:
            first[name] = index
    return problems


def _optional(parse: Callable[[object], float | None]) -> Callable[[object], float | None]:
    def parse_optional(value: object) -> float | None:
        return None if value is None else parse(value)

    return parse_optional


# Quantity types: the before-validator converts "number unit" strings to canonical units;
# the JSON Schema says both forms are accepted.
TemperatureC = Annotated[
    float,
    BeforeValidator(units.parse_temperature_c),
    WithJsonSchema(_quantity_schema(units.TEMPERATURE, False)),
]
OptTemperatureC = Annotated[
    float | None,
    BeforeValidator(_optional(units.parse_temperature_c)),
    WithJsonSchema(_quantity_schema(units.TEMPERATURE, True)),
]
TemperatureDeltaC = Annotated[
    float,
    BeforeValidator(units.parse_temperature_delta_c),
    WithJsonSchema(_quantity_schema(units.TEMPERATURE_DELTA, False)),
]
OptTemperatureDeltaC = Annotated[
    float | None,
    BeforeValidator(_optional(units.parse_temperature_delta_c)),
    WithJsonSchema(_quantity_schema(units.TEMPERATURE_DELTA, True)),
]
OptRateCPerH = Annotated[
    float | None,
    BeforeValidator(_optional(units.parse_rate_c_per_h)),
    WithJsonSchema(_quantity_schema(units.RATE, True)),
]
DurationS = Annotated[
    float,
    BeforeValidator(units.parse_duration_s),
    WithJsonSchema(_quantity_schema(units.DURATION, False)),
]
OptDurationS = Annotated[
    float | None,
    BeforeValidator(_optional(units.parse_duration_s)),
    WithJsonSchema(_quantity_schema(units.DURATION, True)),
]
OptCurrentA = Annotated[
    float | None,
    BeforeValidator(_optional(units.parse_current_a)),
    WithJsonSchema(_quantity_schema(units.CURRENT, True)),
]
OptCurrentDensity = Annotated[
    float | None,
    BeforeValidator(_optional(units.parse_current_density_a_dm2)),
    WithJsonSchema(_quantity_schema(units.CURRENT_DENSITY, True)),
]
OptVoltageV = Annotated[
    float | None,
    BeforeValidator(_optional(units.parse_voltage_v)),
    WithJsonSchema(_quantity_schema(units.VOLTAGE, True)),
]
OptThicknessUm = Annotated[
    float | None,
    BeforeValidator(_optional(units.parse_thickness_um)),
    WithJsonSchema(_quantity_schema(units.THICKNESS, True)),
]
AreaDm2 = Annotated[
    float,
    BeforeValidator(units.parse_area_dm2),
    WithJsonSchema(_quantity_schema(units.AREA, False)),
]
OptChargeAh = Annotated[
    float | None,
    BeforeValidator(_optional(units.parse_charge_ah)),
    WithJsonSchema(_quantity_schema(units.CHARGE, True)),
]

# Names double as file stems in profiles/ and as references from jobs.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=100)]

# Physical bounds of what this plant can do; anything outside is a typo, not a recipe.
MIN_TEMP_C = -50.0
MAX_TEMP_C = 1400.0


def _key(short: str, canonical: str) -> AliasChoices:
    return AliasChoices(short, canonical)


class RecipeModel(BaseModel):
    """Base of all recipe models: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Segment(RecipeModel):
    """One ramp (plus optional hold) of a firing profile."""

    rate_c_per_h: OptRateCPerH = Field(
        validation_alias=_key("rate", "rate_c_per_h"),
        gt=0,
        description="ramp rate in °C/h, or 'max' (full power); cooling is target < previous",
    )
    target_c: TemperatureC = Field(
        validation_alias=_key("target", "target_c"), ge=MIN_TEMP_C, le=MAX_TEMP_C
    )
    hold_s: DurationS = Field(default=0.0, validation_alias=_key("hold", "hold_s"), ge=0)
    soak_band_c: OptTemperatureDeltaC = Field(
        default=None,
        validation_alias=_key("soak_band", "soak_band_c"),
        gt=0,
        description="guaranteed soak: hold time counts only while |pv - target| <= band",
    )
    warn_hold_s: OptDurationS = Field(
        default=None,
        validation_alias=_key("warn_hold", "warn_hold_s"),
        gt=0,
        description="warn when the hold at temperature goes past this",
    )
    max_hold_s: OptDurationS = Field(
        default=None,
        validation_alias=_key("max_hold", "max_hold_s"),
        gt=0,
        description="over-firing limit: abort when the hold goes past this",
    )
    _cooling: bool = PrivateAttr(default=False)

    @property
    def cooling(self) -> bool:
        """True when the target is below the previous segment's target (set by the profile)."""
        return self._cooling

    @property
    def is_max_rate(self) -> bool:
        """Ramp at full power (or free cooling)."""
        return self.rate_c_per_h is None

    @model_validator(mode="after")
    def _check_holds(self) -> Segment:
        problems: list[tuple[Loc, object, str]] = []
        if self.max_hold_s is not None:
            if self.hold_s > self.max_hold_s:
                problems.append(
                    (("hold",), self.hold_s, f"longer than max_hold {self.max_hold_s:g} s")
                )
            if self.warn_hold_s is not None and self.warn_hold_s > self.max_hold_s:
                problems.append(
                    (
                        ("warn_hold",),
                        self.warn_hold_s,
                        f"after max_hold {self.max_hold_s:g} s (allowed: <= max_hold)",
                    )
                )
        if problems:
            raise CrossFieldError(problems)
        return self


class FiringProfile(RecipeModel):
    """A kiln schedule: segments of ramp and hold."""

    kind: Literal["firing"] = "firing"
    name: Name
    description: str = ""
    max_temp_c: TemperatureC = Field(
        validation_alias=_key("max_temp", "max_temp_c"),
        gt=0,
        le=MAX_TEMP_C,
        description="the schedule may never exceed this",
    )
    trip_c: OptTemperatureC = Field(
        default=None,
        validation_alias=_key("trip", "trip_c"),
        gt=0,
        le=MAX_TEMP_C,
        description="absolute over-temperature trip",
    )
    deviation_c: TemperatureDeltaC = Field(
        default=28.0,
        validation_alias=_key("deviation", "deviation_c"),
        gt=0,
        description="alarm if pv > travelling setpoint + this (default 50 °F)",
    )
    door_grace_s: DurationS = Field(
        default=180.0,
        validation_alias=_key("door_grace", "door_grace_s"),
        ge=0,
        description=(
            "a door or lid open while heating holds the schedule with the heat on this "
            "long (a load going in), then heat off and abort; also how much longer a PV "
            "below the hold band is tolerated"
        ),
    )
    segments: list[Segment] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_schedule(self) -> FiringProfile:
        problems: list[tuple[Loc, object, str]] = []
        for i, seg in enumerate(self.segments):
            if seg.target_c > self.max_temp_c:
                problems.append(
                    (
                        ("segments", i, "target"),
                        seg.target_c,
                        f"above the profile's max_temp (allowed: <= {self.max_temp_c:g} °C)",
                    )
                )
        if self.trip_c is not None and self.trip_c < self.max_temp_c:
            problems.append(
                (
                    ("trip",),
                    self.trip_c,
                    f"below max_temp, the schedule would trip itself "
                    f"(allowed: >= {self.max_temp_c:g} °C)",
                )
            )
        if problems:
            raise CrossFieldError(problems)
        previous: float | None = None
        for seg in self.segments:
            seg._cooling = previous is not None and seg.target_c < previous
            previous = seg.target_c
        return self

    @property
    def peak_c(self) -> float:
        """Highest target of the schedule."""
        return max(seg.target_c for seg in self.segments)


class Deposit(StrEnum):
    """Bath chemistry of a deposit (picks the ECE: gold from cyanide is Au+)."""

    NICKEL = "nickel"
    COPPER_ACID = "copper_acid"
    COPPER_CYANIDE = "copper_cyanide"
    SILVER = "silver"
    GOLD = "gold"


class EndCondition(RecipeModel):
    """How an electro step ends: exactly one of time, amp-hours or thickness."""

    time_s: OptDurationS = Field(default=None, validation_alias=_key("time", "time_s"), gt=0)
    amp_hours: OptChargeAh = Field(
        default=None, validation_alias=_key("amp_hours", "amp_hours"), gt=0
    )
    thickness_um: OptThicknessUm = Field(
        default=None, validation_alias=_key("thickness", "thickness_um"), gt=0
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> EndCondition:
        given = [v for v in (self.time_s, self.amp_hours, self.thickness_um) if v is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one end condition, got {len(given)} "
                "(allowed: time, amp_hours or thickness)"
            )
        return self

    @property
    def kind(self) -> Literal["time", "amp_hours", "thickness"]:
        """Which condition ends the step."""
        if self.time_s is not None:
            return "time"
        if self.amp_hours is not None:
            return "amp_hours"
        return "thickness"


def _band_of(parse: Callable[[object], float], example: str) -> Callable[[object], object]:
    """A validator of a [min, max] pair of quantities, each read by `parse`."""

    def parse_band(value: object) -> object:
        if isinstance(value, list | tuple) and len(value) == 2:
            return tuple(parse(v) for v in value)
        if value is None:
            return None
        raise ValueError(f"expected a band [min, max], e.g. {example}")

    return parse_band


def _band_schema(dimension: Dimension) -> dict[str, Any]:
    return {
        "anyOf": [
            {
                "type": "array",
                "items": _quantity_schema(dimension, False),
                "minItems": 2,
                "maxItems": 2,
            },
            {"type": "null"},
        ]
    }


_parse_band = _band_of(units.parse_temperature_c, '["55 C", "60 C"]')
TemperatureBand = Annotated[
    tuple[float, float] | None,
    BeforeValidator(_parse_band),
    WithJsonSchema(_band_schema(units.TEMPERATURE)),
]
ThicknessBand = Annotated[
    tuple[float, float] | None,
    BeforeValidator(_band_of(units.parse_thickness_um, '["3 um", "8 um"]')),
    WithJsonSchema(_band_schema(units.THICKNESS)),
]


class PlatingStep(RecipeModel):
    """One step of a plating line: an electro step (current on) or a timed step."""

    name: str = Field(min_length=1, max_length=100)
    kind: Literal["electro", "timed"] = Field(
        description="timed = clean, rinse, dip: operator-confirmed timed step"
    )
    tank: str | None = Field(
        default=None, min_length=1, description="tank name in the plant config"
    )
    current_density_a_dm2: OptCurrentDensity = Field(
        default=None, validation_alias=_key("current_density", "current_density_a_dm2"), gt=0
    )
    current_a: OptCurrentA = Field(
        default=None, validation_alias=_key("current", "current_a"), gt=0
    )
    polarity: Literal["cathodic", "anodic"] = "cathodic"
    soft_start_s: DurationS = Field(
        default=0.0, validation_alias=_key("soft_start", "soft_start_s"), ge=0
    )
    voltage_limit_v: OptVoltageV = Field(
        default=None, validation_alias=_key("voltage_limit", "voltage_limit_v"), gt=0
    )
    end: EndCondition | None = None
    duration_s: OptDurationS = Field(
        default=None, validation_alias=_key("duration", "duration_s"), gt=0
    )
    deposit: Deposit | None = None
    efficiency: float | None = Field(
        default=None, gt=0, le=1, description="cathode efficiency 0..1"
    )
    bath_temp_c: TemperatureBand = Field(
        default=None,
        validation_alias=_key("bath_temp", "bath_temp_c"),
        description="(min, max) band: refuse to start outside, alarm during",
    )
    thickness_tolerance_um: ThicknessBand = Field(
        default=None,
        validation_alias=_key("thickness_tolerance", "thickness_tolerance_um"),
        description="(min, max) µm: the XRF readings of this step's deposit that pass QC",
    )
    prompt: str | None = None

    @field_validator("bath_temp_c")
    @classmethod
    def _band_ordered(cls, band: tuple[float, float] | None) -> tuple[float, float] | None:
        if band is not None and not band[0] < band[1]:
            raise ValueError(f"min must be below max, got [{band[0]:g}, {band[1]:g}] °C")
        return band

    @field_validator("thickness_tolerance_um")
    @classmethod
    def _thickness_band_ordered(
        cls, band: tuple[float, float] | None
    ) -> tuple[float, float] | None:
        if band is not None and not 0 <= band[0] < band[1]:
            raise ValueError(f"need 0 <= min < max, got [{band[0]:g}, {band[1]:g}] µm")
        return band

    @model_validator(mode="after")
    def _check_kind(self) -> PlatingStep:
        problems: list[tuple[Loc, object, str]] = []
        if self.kind == "electro":
            if (self.current_density_a_dm2 is None) == (self.current_a is None):
                problems.append(
                    (
                        ("current_density",),
                        self.current_density_a_dm2,
                        "an electro step needs exactly one of current_density or current",
                    )
                )
            if self.end is None:
                problems.append(
                    (("end",), None, "an electro step needs an end (time, amp_hours or thickness)")
                )
            if self.tank is None:
                problems.append((("tank",), None, "an electro step needs a tank"))
            if self.duration_s is not None:
                problems.append(
                    (("duration",), self.duration_s, "electro steps end by `end`, not duration")
                )
        else:
            if self.duration_s is None:
                problems.append((("duration",), None, "a timed step needs a duration"))
            for key, value in (
                ("current_density", self.current_density_a_dm2),
                ("current", self.current_a),
                ("end", self.end),
                ("voltage_limit", self.voltage_limit_v),
            ):
                if value is not None:
                    problems.append(((key,), value, "only electro steps pass current"))
        if self.end is not None and self.end.thickness_um is not None and self.deposit is None:
            problems.append(
                (
                    ("deposit",),
                    None,
                    "needed to end by thickness (allowed: "
                    + ", ".join(d.value for d in Deposit)
                    + ")",
                )
            )
        band = self.thickness_tolerance_um
        if band is not None and self.deposit is None:
            problems.append((("thickness_tolerance",), band, "needs the step's deposit"))
        target = self.end.thickness_um if self.end is not None else None
        if band is not None and target is not None and not band[0] <= target <= band[1]:
            problems.append(
                (
                    ("thickness_tolerance",),
                    band,
                    f"the target thickness {target:g} µm must lie inside it",
                )
            )
        if problems:
            raise CrossFieldError(problems)
        return self

    def current_for(self, area_dm2: float) -> float | None:
        """Current in A for a lot of `area_dm2` (None for timed steps)."""
        if self.current_a is not None:
            return self.current_a
        if self.current_density_a_dm2 is not None:
            return self.current_density_a_dm2 * area_dm2
        return None


class PlatingRecipe(RecipeModel):
    """A plating line sequence for one load of pins."""

    kind: Literal["plating"] = "plating"
    name: Name
    description: str = ""
    steps: list[PlatingStep] = Field(min_length=1)
    dose_every_ah: OptChargeAh = Field(
        default=None, gt=0, description="brightener dosing reminder every this many amp-hours"
    )

    @model_validator(mode="after")
    def _unique_step_names(self) -> PlatingRecipe:
        problems = _duplicates(
            [step.name for step in self.steps], "name", "the batch record and resume key on it"
        )
        if problems:
            raise CrossFieldError(problems)
        return self


class Material(StrEnum):
    """Base metal of a lot of pins."""

    COPPER = "copper"
    GILDING_METAL = "gilding_metal"
    YELLOW_BRASS = "yellow_brass"
    BRASS = "brass"
    ZINC_ALLOY = "zinc_alloy"
    SILVER = "silver"
    FINE_SILVER = "fine_silver"


class Lot(RecipeModel):
    """The pins a job runs on."""

    material: Material
    pin_count: StrictInt = Field(ge=1, le=1_000_000)
    area_per_pin_dm2: AreaDm2 = Field(
        validation_alias=_key("area_per_pin", "area_per_pin_dm2"), gt=0, le=100
    )

    @property
    def area_dm2(self) -> float:
        """Total plated area of the lot."""
        return self.pin_count * self.area_per_pin_dm2


class JobStep(RecipeModel):
    """One layer or step of a job: a firing, a plating recipe or an operator prompt."""

    kind: Literal["firing", "plating", "prompt"]
    ref: Name | None = Field(
        default=None, description="profile or recipe name (files in profiles/)"
    )
    kiln: str | None = Field(
        default=None, min_length=1, description="kiln name in the plant config"
    )
    prompt_before: str | None = None
    prompt_after: str | None = None
    text: str | None = Field(default=None, description="operator text of a prompt step")
    label: str = Field(default="", description="e.g. 'coat 1 (counter + base)'; defaults to ref")

    @model_validator(mode="before")
    @classmethod
    def _default_label(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("label"):
            fallback = data.get("ref") or data.get("kind")
            if isinstance(fallback, str):
                data = {**data, "label": fallback}
        return data

    @model_validator(mode="after")
    def _check_kind(self) -> JobStep:
        problems: list[tuple[Loc, object, str]] = []
        if self.kind == "prompt":
            if not self.text:
                problems.append((("text",), self.text, "a prompt step needs text"))
            if self.ref is not None:
                problems.append((("ref",), self.ref, "a prompt step runs no recipe"))
        elif self.ref is None:
            problems.append((("ref",), None, f"a {self.kind} step needs ref (a recipe name)"))
        if self.kind != "firing" and self.kiln is not None:
            problems.append((("kiln",), self.kiln, "only firing steps use a kiln"))
        if problems:
            raise CrossFieldError(problems)
        return self


class Job(RecipeModel):
    """The ordered layers and steps of one lot of pins."""

    kind: Literal["job"] = "job"
    name: Name
    description: str = ""
    lot: Lot
    steps: list[JobStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_labels(self) -> Job:
        # A label defaults to the ref (or the kind of a prompt): two firings of one profile,
        # or two prompts, need labels of their own.
        problems = _duplicates(
            [step.label for step in self.steps],
            "label",
            "the batch record and resume key on it; a missing label is the ref or kind",
        )
        if problems:
            raise CrossFieldError(problems)
        return self


Recipe = FiringProfile | PlatingRecipe | Job
RECIPE_KINDS: dict[str, type[FiringProfile] | type[PlatingRecipe] | type[Job]] = {
    "firing": FiringProfile,
    "plating": PlatingRecipe,
    "job": Job,
}
