"""Physical quantities in recipe files: parse "300 C/h", "1450 F", "3 min", "23 A/ft2"
into the canonical units the models store (°C, °C/h, s, A, A/dm², V, µm, dm²).

A bare number (or a string holding only a number) is taken as already canonical.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

# Square feet and square inches in dm² (1 ft = 3.048 dm, 1 in = 0.254 dm).
DM2_PER_FT2 = 3.048**2
DM2_PER_IN2 = 0.254**2

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_QUANTITY_RE = re.compile(rf"^\s*({_NUMBER})\s*(.*?)\s*$")
# Durations may be compound: "1 h 30 min", "2min 30s".
_DURATION_PART_RE = re.compile(rf"\s*({_NUMBER})\s*([a-zA-Z]*)\s*")


def normalize_unit(unit: str) -> str:
    """Fold the spellings of a unit together: '°C/h' == 'C/h' == 'degC/h', 'A/dm²' == 'a/dm2'."""
    text = unit.strip().lower()
    for old, new in (("²", "2"), ("µ", "u"), ("μ", "u"), ("°", ""), ("deg", ""), (" ", "")):
        text = text.replace(old, new)
    return text.replace("per", "/")


@dataclass(frozen=True)
class Conversion:
    """canonical = (value + offset) * factor."""

    factor: float
    offset: float = 0.0


@dataclass(frozen=True)
class Dimension:
    """A kind of quantity with its canonical unit and the units accepted for it."""

    name: str
    canonical: str
    accepted: tuple[str, ...]  # shown to users in error messages
    conversions: dict[str, Conversion] = field(default_factory=dict)

    def allowed(self) -> str:
        """The accepted units as shown in error messages."""
        return ", ".join(self.accepted)

    def convert(self, number: float, unit: str) -> float:
        """Convert `number` given in `unit` to the canonical unit."""
        key = normalize_unit(unit)
        if key == "":
            return number
        conversion = self.conversions.get(key)
        if conversion is None:
            raise ValueError(
                f"unknown unit {unit!r} for a {self.name} (accepted: {self.allowed()})"
            )
        return (number + conversion.offset) * conversion.factor

    def parse(self, value: object) -> float:
        """Parse a number (canonical) or a "number unit" string into the canonical unit."""
        if isinstance(value, bool):
            # bool is an int subclass; `true` in a TOML file is never a quantity.
            raise ValueError(self._expected())
        if isinstance(value, int | float):
            return _finite(float(value), self)
        if isinstance(value, str):
            match = _QUANTITY_RE.match(value)
            if match is None:
                raise ValueError(self._expected())
            return _finite(self.convert(float(match.group(1)), match.group(2)), self)
        raise ValueError(self._expected())

    def _expected(self) -> str:
        return (
            f"expected a {self.name}: a number in {self.canonical} or a string like "
            f"'{self.example()}' (accepted units: {self.allowed()})"
        )

    def example(self) -> str:
        """An example value for docs and messages."""
        return f"10 {self.accepted[0]}"


def _finite(number: float, dimension: Dimension) -> float:
    if not math.isfinite(number):
        raise ValueError(f"a {dimension.name} must be a finite number")
    return number


def _table(*groups: tuple[tuple[str, ...], Conversion]) -> dict[str, Conversion]:
    table: dict[str, Conversion] = {}
    for spellings, conversion in groups:
        for spelling in spellings:
            table[normalize_unit(spelling)] = conversion
    return table


_ONE = Conversion(1.0)
_F_TO_C = 5.0 / 9.0

TEMPERATURE = Dimension(
    "temperature",
    "°C",
    ("C", "°C", "F", "°F", "K"),
    _table(
        (("c", "celsius"), _ONE),
        (("f", "fahrenheit"), Conversion(_F_TO_C, -32.0)),
        (("k", "kelvin"), Conversion(1.0, -273.15)),
    ),
)

# A temperature *difference* (bands, deviation limits): no 32 °F offset.
TEMPERATURE_DELTA = Dimension(
    "temperature difference",
    "°C",
    ("C", "°C", "F", "°F", "K"),
    _table((("c", "celsius", "k", "kelvin"), _ONE), (("f", "fahrenheit"), Conversion(_F_TO_C))),
)

# Rates are differences per time, so F/h converts by 5/9 only (540 F/h = 300 C/h).
RATE = Dimension(
    "heating rate",
    "°C/h",
    ("C/h", "°C/h", "F/h", "°F/h", "C/min", "F/min", "max"),
    _table(
        (("c/h", "c/hr", "c/hour"), _ONE),
        (("f/h", "f/hr", "f/hour"), Conversion(_F_TO_C)),
        (("c/min",), Conversion(60.0)),
        (("f/min",), Conversion(60.0 * _F_TO_C)),
    ),
)

# "m" is minutes: in a duration it can mean nothing else, and technicians type "2m30s".
DURATION = Dimension(
    "duration",
    "s",
    ("s", "min", "m", "h"),
    _table(
        (("s", "sec", "secs", "second", "seconds"), _ONE),
        (("min", "mins", "minute", "minutes", "m"), Conversion(60.0)),
        (("h", "hr", "hrs", "hour", "hours"), Conversion(3600.0)),
    ),
)

CURRENT = Dimension(
    "current", "A", ("A", "mA"), _table((("a", "amp", "amps"), _ONE), (("ma",), Conversion(1e-3)))
)

CURRENT_DENSITY = Dimension(
    "current density",
    "A/dm²",
    ("A/dm2", "A/dm²", "ASD", "A/ft2", "A/ft²", "ASF"),
    _table(
        (("a/dm2", "asd"), _ONE),
        (("a/ft2", "asf"), Conversion(1.0 / DM2_PER_FT2)),
        (("a/cm2",), Conversion(100.0)),
    ),
)

VOLTAGE = Dimension(
    "voltage", "V", ("V", "mV"), _table((("v", "volt", "volts"), _ONE), (("mv",), Conversion(1e-3)))
)

THICKNESS = Dimension(
    "thickness",
    "µm",
    ("µm", "um", "nm", "mm"),
    _table(
        (("um", "micron", "microns"), _ONE),
        (("nm",), Conversion(1e-3)),
        (("mm",), Conversion(1e3)),
    ),
)

AREA = Dimension(
    "area",
    "dm²",
    ("dm2", "dm²", "cm2", "cm²", "in2", "in²", "ft2"),
    _table(
        (("dm2",), _ONE),
        (("cm2",), Conversion(1e-2)),
        (("mm2",), Conversion(1e-4)),
        (("in2", "sqin"), Conversion(DM2_PER_IN2)),
        (("ft2", "sqft"), Conversion(DM2_PER_FT2)),
    ),
)

CHARGE = Dimension(
    "charge", "Ah", ("Ah", "mAh"), _table((("ah",), _ONE), (("mah",), Conversion(1e-3)))
)


def parse_temperature_c(value: object) -> float:
    """Temperature in °C ("1450 F" -> 787.8)."""
    return TEMPERATURE.parse(value)


def parse_temperature_delta_c(value: object) -> float:
    """Temperature difference in °C ("50 F" -> 27.8)."""
    return TEMPERATURE_DELTA.parse(value)


def parse_rate_c_per_h(value: object) -> float | None:
    """Heating rate in °C/h; "max" (full power) -> None."""
    if isinstance(value, str) and value.strip().lower() in {"max", "full"}:
        return None
    return RATE.parse(value)


DURATION_FORMS = "'90 s', '3 min', '2m30s', '1 h 30 min', '1h30m' or a number of seconds"


def parse_duration_s(value: object) -> float:
    """Duration in seconds; strings may be compound ("1 h 30 min", "2m30s", "1h30m").

    Ambiguous forms ("1:30", "1h30", "2 min 30": which unit is the last number?) are
    refused with the accepted forms rather than guessed."""
    if isinstance(value, str):
        if ":" in value:
            raise ValueError(
                f"{value!r} is ambiguous (h:min or min:s?); write it with units "
                f"(accepted: {DURATION_FORMS})"
            )
        parts = _DURATION_PART_RE.findall(value)
        leftover = _DURATION_PART_RE.sub("", value)
        if len(parts) > 1 and not leftover:
            if not all(unit for _, unit in parts):
                raise ValueError(
                    f"{value!r} is ambiguous: give every number its unit "
                    f"(accepted: {DURATION_FORMS})"
                )
            return _finite(sum(DURATION.convert(float(n), u) for n, u in parts), DURATION)
    try:
        return DURATION.parse(value)
    except ValueError as exc:
        raise ValueError(f"{exc} (accepted forms: {DURATION_FORMS})") from None


def parse_current_a(value: object) -> float:
    """Current in A."""
    return CURRENT.parse(value)


def parse_current_density_a_dm2(value: object) -> float:
    """Current density in A/dm² ("23 A/ft2" -> 2.48)."""
    return CURRENT_DENSITY.parse(value)


def parse_voltage_v(value: object) -> float:
    """Voltage in V."""
    return VOLTAGE.parse(value)


def parse_thickness_um(value: object) -> float:
    """Deposit thickness in µm."""
    return THICKNESS.parse(value)


def parse_area_dm2(value: object) -> float:
    """Area in dm² ("2 in2" -> 0.129)."""
    return AREA.parse(value)


def parse_charge_ah(value: object) -> float:
    """Charge in amp-hours."""
    return CHARGE.parse(value)


def fahrenheit_to_celsius(value_f: float) -> float:
    """Absolute temperature °F -> °C."""
    return (value_f - 32.0) * _F_TO_C


def celsius_to_fahrenheit(value_c: float) -> float:
    """Absolute temperature °C -> °F."""
    return value_c / _F_TO_C + 32.0
