"""Unit parsing and conversion into the canonical units the models store."""

from __future__ import annotations

import math

import pytest

from kilnctl.recipes import units


@pytest.mark.parametrize(
    ("text", "celsius"),
    [
        ("790", 790.0),
        (790, 790.0),
        ("790 C", 790.0),
        ("790 °C", 790.0),
        ("790degC", 790.0),
        ("1450 F", (1450 - 32) * 5 / 9),  # 787.8 °C: the enamel figure of docs/process.md
        ("1454 °F", 790.0),
        ("32 F", 0.0),
        ("273.15 K", 0.0),
    ],
)
def test_temperature_to_celsius(text: object, celsius: float) -> None:
    assert units.parse_temperature_c(text) == pytest.approx(celsius)


@pytest.mark.parametrize(
    ("text", "c_per_h"),
    [
        ("300 C/h", 300.0),
        ("300 °C/h", 300.0),
        ("540 F/h", 300.0),  # a rate is a difference per time: 540 × 5/9, no 32 offset
        ("999 F/h", 555.0),
        ("5 C/min", 300.0),
        ("9 F/min", 300.0),
        (120, 120.0),
    ],
)
def test_rate_has_no_fahrenheit_offset(text: object, c_per_h: float) -> None:
    assert units.parse_rate_c_per_h(text) == pytest.approx(c_per_h)


@pytest.mark.parametrize("text", ["max", "MAX", " max ", "full"])
def test_max_rate_is_none(text: str) -> None:
    assert units.parse_rate_c_per_h(text) is None


def test_temperature_difference_has_no_offset() -> None:
    assert units.parse_temperature_delta_c("50 F") == pytest.approx(27.78, abs=0.01)
    assert units.parse_temperature_delta_c("10 K") == 10.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90 s", 90.0),
        ("3 min", 180.0),
        ("2.5 min", 150.0),
        ("2 h", 7200.0),
        ("1 h 30 min", 5400.0),
        ("2min 30s", 150.0),
        (45, 45.0),
        ("18", 18.0),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert units.parse_duration_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "a_dm2"),
    [
        ("2.5 A/dm2", 2.5),
        ("2.5 A/dm²", 2.5),
        ("3 ASD", 3.0),
        # 1 ft² = (3.048 dm)² = 9.290 dm², so 23 A/ft² = 23 / 9.290 = 2.476 A/dm²
        ("23 A/ft2", 23 / 9.290304),
        ("10 ASF", 10 / 9.290304),
    ],
)
def test_current_density(text: str, a_dm2: float) -> None:
    assert units.parse_current_density_a_dm2(text) == pytest.approx(a_dm2)


def test_area_current_voltage_thickness() -> None:
    assert units.parse_area_dm2("12 cm2") == pytest.approx(0.12)
    assert units.parse_area_dm2("12 cm²") == pytest.approx(0.12)
    assert units.parse_area_dm2("1 in2") == pytest.approx(0.064516)  # 2.54 cm squared
    assert units.parse_area_dm2("0.5 dm2") == 0.5
    assert units.parse_current_a("36 A") == 36.0
    assert units.parse_current_a("500 mA") == 0.5
    assert units.parse_voltage_v("12 V") == 12.0
    assert units.parse_thickness_um("5 µm") == 5.0
    assert units.parse_thickness_um("5 um") == 5.0
    assert units.parse_thickness_um("120 nm") == pytest.approx(0.12)


def test_unknown_unit_lists_accepted_units() -> None:
    with pytest.raises(ValueError, match=r"unknown unit 'furlong'.*accepted: C, °C, F, °F, K"):
        units.parse_temperature_c("10 furlong")
    with pytest.raises(ValueError, match=r"A/dm2.*A/ft2"):
        units.parse_current_density_a_dm2("3 A/m3")


@pytest.mark.parametrize("bad", [True, None, [1], "", "fast", "C 790", "1 h 30"])
def test_non_quantities_are_value_errors(bad: object) -> None:
    with pytest.raises(ValueError, match=r"expected a|unknown unit|ambiguous"):
        units.parse_duration_s(bad) if bad != "C 790" else units.parse_temperature_c(bad)


@pytest.mark.parametrize("bad", [math.inf, math.nan, "1e999 C", -math.inf])
def test_non_finite_rejected(bad: object) -> None:
    with pytest.raises(ValueError, match="finite"):
        units.parse_temperature_c(bad)


def test_fahrenheit_round_trip() -> None:
    for celsius in (-40.0, 0.0, 232.2, 787.8):
        f = units.celsius_to_fahrenheit(celsius)
        assert units.fahrenheit_to_celsius(f) == pytest.approx(celsius)
    assert units.celsius_to_fahrenheit(-40.0) == pytest.approx(-40.0)
