"""Errors a user can act on: file, field path, value, what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from kilnctl.recipes.loader import RecipeError, load_recipe, parse_recipe
from kilnctl.recipes.models import FiringProfile

GOOD_FIRING = """
kind = "firing"
name = "test"
max_temp = "850 C"
trip = "870 C"

[[segments]]
rate = "max"
target = "790 C"
hold = "2 min"
"""


def problems(text: str, path: str = "x.toml") -> list[str]:
    with pytest.raises(RecipeError) as info:
        parse_recipe(text, path)
    assert str(info.value).splitlines() == info.value.lines()
    return info.value.lines()


def test_good_file_parses() -> None:
    profile = parse_recipe(GOOD_FIRING)
    assert profile.kind == "firing"


def test_unknown_unit_names_file_field_value_and_allowed() -> None:
    lines = problems(GOOD_FIRING.replace('"790 C"', '"790 Q"'), "profiles/p.toml")
    assert lines == [
        "profiles/p.toml:9: segments[0].target: '790 Q': unknown unit 'Q' for a temperature "
        "(accepted: C, °C, F, °F, K)"
    ]


def test_every_problem_is_listed() -> None:
    text = GOOD_FIRING.replace('"max"', '"fast"').replace('"2 min"', "-5") + "colour = 1\n"
    lines = problems(text)
    assert any(
        line.startswith("x.toml:8: segments[0].rate: 'fast': expected a heating rate")
        for line in lines
    )
    assert "x.toml:10: segments[0].hold: -5: out of range (allowed: >= 0.0)" in lines
    assert any(
        "x.toml:11: segments[0].colour: 1: unknown key (allowed: rate, target, hold" in line
        for line in lines
    )
    assert len(lines) == 3


def test_target_above_profile_max_points_at_the_segment() -> None:
    lines = problems(GOOD_FIRING.replace('"790 C"', '"1652 F"'))  # 900 °C
    assert lines == [
        "x.toml:9: segments[0].target: 900: above the profile's max_temp (allowed: <= 850 °C)"
    ]


def test_trip_below_max_temp() -> None:
    lines = problems(GOOD_FIRING.replace('trip = "870 C"', 'trip = "800 C"'))
    assert lines == [
        "x.toml:5: trip: 800: below max_temp, the schedule would trip itself (allowed: >= 850 °C)"
    ]


def test_hold_longer_than_max_hold() -> None:
    lines = problems(GOOD_FIRING + 'max_hold = "1 min"\n')
    assert lines == ["x.toml:10: segments[0].hold: 120: longer than max_hold 60 s"]


def test_missing_and_wrong_kind() -> None:
    assert problems('name = "x"') == [
        "x.toml: kind: missing (required) (allowed: firing, plating, job)"
    ]
    assert problems('kind = "glaze"') == [
        "x.toml:1: kind: 'glaze': unknown recipe kind (allowed: firing, plating, job)"
    ]
    lines = problems('kind = "firing"\nname = "x"\n')
    assert lines == [
        "x.toml: max_temp: missing (required; allowed: a number in °C or number and unit "
        "(C, °C, F, °F, K))",
        "x.toml: segments: missing (required; allowed: [[segments]] tables)",
    ]
    lines = problems('kind = "job"\nname = "j"\n[lot]\npin_count = 3\n[[steps]]\nref = "x"\n')
    assert lines == [
        "x.toml:3: lot.material: missing (required; allowed: one of copper, gilding_metal, "
        "yellow_brass, brass, zinc_alloy, silver, fine_silver)",
        "x.toml:3: lot.area_per_pin: missing (required; allowed: a number in dm² or number "
        "and unit (dm2, dm², cm2, cm², in2, in², ft2))",
        "x.toml:5: steps[0].kind: missing (required; allowed: one of firing, plating, prompt)",
    ]


def test_enum_and_literal_list_allowed_values() -> None:
    text = """
kind = "job"
name = "j"
[lot]
material = "steel"
pin_count = 10
area_per_pin = "1 cm2"
[[steps]]
kind = "bake"
ref = "x"
"""
    lines = problems(text)
    assert any(
        line.startswith("x.toml:5: lot.material: 'steel': not allowed (allowed: 'copper', ")
        and "'zinc_alloy'" in line
        for line in lines
    )
    assert any(
        line.startswith(
            "x.toml:9: steps[0].kind: 'bake': not allowed (allowed: 'firing', 'plating'"
        )
        for line in lines
    )


def test_plating_step_cross_field_problems() -> None:
    text = """
kind = "plating"
name = "p"
[[steps]]
name = "nickel"
kind = "electro"
tank = "nickel"
current_density = "3 A/dm2"
current = "36 A"
end = { thickness = "5 um" }
bath_temp = ["60 C", "55 C"]
[[steps]]
name = "rinse"
kind = "timed"
end = { time = 30, amp_hours = 1 }
"""
    lines = problems(text)
    assert (
        'x.toml:11: steps[0].bath_temp: ["60 C", "55 C"]: min must be below max, got [60, 55] °C'
        in lines
    )
    assert (
        'x.toml:15: steps[1].end: {"time": 30, "amp_hours": 1}: give exactly one end condition, '
        "got 2 (allowed: time, amp_hours or thickness)" in lines
    )


def test_cross_field_problems_after_fields_are_valid() -> None:
    text = """
kind = "plating"
name = "p"
[[steps]]
name = "nickel"
kind = "electro"
tank = "nickel"
current_density = "3 A/dm2"
current = "36 A"
end = { thickness = "5 um" }
[[steps]]
name = "rinse"
kind = "timed"
current = 3
"""
    lines = problems(text)
    assert lines == [
        "x.toml:8: steps[0].current_density: 3: an electro step needs exactly one of "
        "current_density or current",
        "x.toml:4: steps[0].deposit: (missing): needed to end by thickness (allowed: nickel, "
        "copper_acid, copper_cyanide, silver, gold)",
        "x.toml:11: steps[1].duration: (missing): a timed step needs a duration",
        "x.toml:14: steps[1].current: 3: only electro steps pass current",
    ]


def test_toml_syntax_error_has_file_and_line() -> None:
    lines = problems('kind = "firing"\nname = "x"\nmax_temp = 800 C\n', "bad.toml")
    assert len(lines) == 1
    assert lines[0].startswith("bad.toml:3: TOML syntax:")


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match=r"missing\.toml: cannot read"):
        load_recipe(tmp_path / "missing.toml")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('name = "caf\xe9"'.encode("latin-1"))
    with pytest.raises(RecipeError, match="not UTF-8"):
        load_recipe(latin1)


def test_booleans_are_not_numbers() -> None:
    lines = problems(GOOD_FIRING.replace('"2 min"', "true"))
    assert len(lines) == 1 and lines[0].startswith(
        "x.toml:10: segments[0].hold: True: expected a duration"
    )


def test_long_canonical_names_also_accepted() -> None:
    profile = parse_recipe(
        GOOD_FIRING.replace("target =", "target_c =").replace("hold =", "hold_s =")
    )
    assert isinstance(profile, FiringProfile)
    assert profile.segments[0].target_c == 790.0


def test_bad_name() -> None:
    lines = problems(GOOD_FIRING.replace('name = "test"', 'name = "my profile"'))
    assert lines == [
        "x.toml:3: name: 'my profile': not a valid name "
        "(allowed: letters, digits, '.', '_', '-'; no spaces)"
    ]
