"""argparse types for quantities given on the command line, checked as recipe files are:
finite, in range, units accepted ("12 dm2", "1450 F"). A bad value is an argparse error
naming the option and the allowed values, never negative currents or a traceback."""

from __future__ import annotations

import argparse
import math

from kilnctl.recipes import units
from kilnctl.recipes.models import MAX_TEMP_C, MIN_TEMP_C


def _bad(text: str, expected: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{text!r}: {expected}")


def lot_area_dm2(text: str) -> float:
    """A lot's plated area in dm² (> 0); "12", "12 dm2", "1200 cm2"."""
    try:
        value = units.parse_area_dm2(text)
    except ValueError as exc:
        raise _bad(text, str(exc)) from None
    if not value > 0:
        raise _bad(text, "out of range (allowed: an area > 0 dm²)")
    return value


def kiln_temperature_c(text: str) -> float:
    """A kiln temperature in °C within the models' physical bounds; "20", "68 F"."""
    try:
        value = units.parse_temperature_c(text)
    except ValueError as exc:
        raise _bad(text, str(exc)) from None
    if not MIN_TEMP_C <= value <= MAX_TEMP_C:
        raise _bad(text, f"out of range (allowed: {MIN_TEMP_C:g} to {MAX_TEMP_C:g} °C)")
    return value


def kiln_power_kw(text: str) -> float:
    """Kiln element power in kW (> 0, finite)."""
    try:
        value = float(text)
    except ValueError:
        raise _bad(text, "not a number (allowed: kW > 0, e.g. 1.8)") from None
    if not (math.isfinite(value) and value > 0):
        raise _bad(text, "out of range (allowed: kW > 0, e.g. 1.8)")
    return value
