"""Property-based fuzzing of recipe files: any input gives a recipe or a RecipeError whose
lines name the file, never another exception."""

from __future__ import annotations

import copy
import os
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kilnctl.recipes import estimate
from kilnctl.recipes.loader import (
    RecipeError,
    RecipeLibrary,
    content_hash,
    parse_recipe,
    validate_data,
)
from kilnctl.recipes.models import FiringProfile, PlatingRecipe, Recipe
from kilnctl.recipes.rules import check_recipe

PROFILES = Path(__file__).resolve().parents[2] / "profiles"
SHIPPED = {p.name: p.read_text(encoding="utf-8") for p in sorted(PROFILES.glob("*.toml"))}
SHIPPED_DATA = {name: tomllib.loads(text) for name, text in SHIPPED.items()}
LIBRARY = RecipeLibrary([PROFILES])
# KILNCTL_FUZZ_EXAMPLES=5000 for a long hunt; the default keeps the suite fast.
FUZZ = settings(
    max_examples=int(os.environ.get("KILNCTL_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

KEYS = sorted(
    {"kind", "name", "rate", "target", "hold", "soak_band", "max_hold", "warn_hold", "trip",
     "max_temp", "segments", "steps", "end", "time", "amp_hours", "thickness", "tank",
     "current_density", "current", "deposit", "efficiency", "bath_temp", "lot", "material",
     "pin_count", "area_per_pin", "ref", "kiln", "label", "text", "polarity", "duration"}
)  # fmt: skip
UNIT_STRINGS = st.builds(
    "{} {}".format,
    st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True)),
    st.sampled_from(["C", "F", "K", "C/h", "F/h", "s", "min", "h", "A", "A/dm2", "A/ft2", "V",
                     "um", "nm", "dm2", "cm2", "in2", "Ah", "max", "", "furlong"]),
)  # fmt: skip
SCALARS = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.booleans(),
    st.text(max_size=20),
    UNIT_STRINGS,
    st.sampled_from(["firing", "plating", "job", "electro", "timed", "nickel", "brass", "max"]),
    st.dates(),
    st.datetimes(),
)
TOML_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=4
        ),
    ),
    max_leaves=12,
)


def check_outcome(run: Any, path: str) -> Recipe | None:
    try:
        recipe = run()
    except RecipeError as exc:
        assert exc.problems
        assert all(line.startswith(path) for line in exc.lines())
        return None
    # A recipe that validates must also hash, pass the rules and give estimates.
    content_hash(recipe)
    check_recipe(recipe, LIBRARY, None, area_dm2=12.0)
    if isinstance(recipe, FiringProfile):
        estimate.estimate_firing(recipe)
    elif isinstance(recipe, PlatingRecipe):
        for step in recipe.steps:
            estimate.estimate_step(step, 12.0)
            estimate.estimate_step(step, None)
    return recipe


@FUZZ
@given(st.text(max_size=400))
def test_random_text(text: str) -> None:
    check_outcome(lambda: parse_recipe(text, "fuzz.toml"), "fuzz.toml")


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from(KEYS), st.one_of(UNIT_STRINGS, st.integers(), st.text(max_size=10))
        ),
        max_size=12,
    ),
    st.sampled_from(["", "[[segments]]\n", "[[steps]]\n", "[lot]\n", "[steps.end]\n"]),
)
def test_random_toml_lines(pairs: list[tuple[str, object]], header: str) -> None:
    lines = []
    for key, value in pairs:
        shown = f'"{value}"' if isinstance(value, str) else str(value)
        lines.append(f"{key} = {shown}")
    text = "\n".join(lines[:3]) + "\n" + header + "\n".join(lines[3:]) + "\n"
    check_outcome(lambda: parse_recipe(text, "fuzz.toml"), "fuzz.toml")


@FUZZ
@given(
    st.sampled_from(sorted(SHIPPED)),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 40), st.text(max_size=6)), max_size=4),
)
def test_text_mutations_of_shipped_files(name: str, edits: list[tuple[int, int, str]]) -> None:
    text = SHIPPED[name]
    for position, length, insert in edits:
        at = position % (len(text) + 1)
        text = text[:at] + insert + text[at + length :]
    check_outcome(lambda: parse_recipe(text, name), name)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


@FUZZ
@given(
    st.sampled_from(sorted(SHIPPED)),
    st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from(["replace", "delete", "add"]), TOML_VALUES,
                  st.sampled_from(KEYS)),
        min_size=1,
        max_size=3,
    ),
)  # fmt: skip
def test_data_mutations_of_shipped_files(
    name: str, mutations: list[tuple[int, str, Any, str]]
) -> None:
    data = copy.deepcopy(SHIPPED_DATA[name])
    for pick, action, value, key in mutations:
        paths = _paths(data)
        if not paths:
            break
        path = paths[pick % len(paths)]
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        if action == "replace":
            parent[last] = value
        elif action == "delete":
            del parent[last]
        elif isinstance(parent[last], dict):
            parent[last][key] = value
        else:
            parent[last] = value
    check_outcome(lambda: validate_data(data, name), name)


def test_deep_nesting_is_a_recipe_error() -> None:
    check_outcome(lambda: parse_recipe("a = " + "[" * 5000, "deep.toml"), "deep.toml")
