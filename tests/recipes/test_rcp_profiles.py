"""Every shipped profile validates; models hold canonical units; content hashes are stable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kilnctl.recipes.loader import RecipeLibrary, content_hash, load_recipe, parse_recipe
from kilnctl.recipes.models import FiringProfile, Job, PlatingRecipe
from kilnctl.recipes.rules import check_recipe

PROFILES = Path(__file__).resolve().parents[2] / "profiles"
SHIPPED = sorted(PROFILES.glob("*.toml"))
EXPECTED = {
    "enamel-preheat", "enamel-coat-base", "enamel-coat-colour", "enamel-coat-final",
    "nickel-gold-flash", "black-nickel", "copper-strike", "synthetic-enamel-cure",
    "soft-enamel-bake", "anneal-copper", "job-3-layer-enamel-nickel-gold", "job-zinc-alloy",
    "job-soft-enamel", "job-black-nickel", "job-bench-3-layer",
}  # fmt: skip


def test_the_default_set_is_shipped() -> None:
    assert {p.stem for p in SHIPPED} >= EXPECTED


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_profile_validates_without_findings(path: Path) -> None:
    recipe = load_recipe(path)
    assert recipe.name == path.stem
    assert check_recipe(recipe, RecipeLibrary([PROFILES])) == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_profile_is_commented(path: Path) -> None:
    comments = [line for line in path.read_text().splitlines() if "#" in line]
    assert len(comments) >= 3


def test_enamel_coats_limit_hold_and_trip() -> None:
    library = RecipeLibrary([PROFILES])
    for name in ("enamel-coat-base", "enamel-coat-colour", "enamel-coat-final"):
        profile = library.get_firing(name)
        seg = profile.segments[0]
        assert 790 <= seg.target_c <= 815
        assert 90 <= seg.hold_s <= 180
        assert seg.warn_hold_s == 180 and seg.max_hold_s == 300
        assert profile.trip_c == 870
    # enamel-coat-colour writes its target in °F: stored in °C
    assert library.get_firing("enamel-coat-colour").segments[0].target_c == pytest.approx(790)


def test_nickel_gold_flash_sequence() -> None:
    recipe = RecipeLibrary([PROFILES]).get_plating("nickel-gold-flash")
    electro = [s for s in recipe.steps if s.kind == "electro"]
    assert [(s.name, s.polarity) for s in electro[:2]] == [
        ("electroclean cathodic", "cathodic"),
        ("electroclean anodic", "anodic"),
    ]
    assert [s.end.time_s for s in electro[:2] if s.end] == [90, 10]
    nickel = next(s for s in electro if s.tank == "nickel")
    assert nickel.current_density_a_dm2 == 3.0
    assert nickel.end is not None and nickel.end.thickness_um == 5.0
    gold = next(s for s in electro if s.tank == "gold")
    assert gold.current_density_a_dm2 == 1.2
    assert gold.end is not None and 13 <= (gold.end.time_s or 0) <= 21


def test_three_layer_job_prompts_around_each_coat() -> None:
    job = RecipeLibrary([PROFILES]).get_job("job-3-layer-enamel-nickel-gold")
    assert job.lot.pin_count == 100
    assert job.lot.area_dm2 == pytest.approx(12.0)
    coats = [s for s in job.steps if s.kind == "firing" and s.ref and "coat" in s.ref]
    assert len(coats) == 3
    assert all(s.prompt_before and s.prompt_after for s in coats)
    kinds = [s.kind for s in job.steps]
    # plated after enamelling (and stoning): the plating step follows the last coat
    assert kinds.index("plating") > max(job.steps.index(c) for c in coats)


def test_cooling_is_derived_from_previous_target() -> None:
    profile = RecipeLibrary([PROFILES]).get_firing("anneal-copper")
    assert [s.cooling for s in profile.segments] == [False, True, True]


def test_content_hash_ignores_formatting_and_units() -> None:
    base = """
kind = "firing"
name = "p"
max_temp = 800
[[segments]]
rate = "540 F/h"
target = 790
hold = "2 min"
"""
    reformatted = """
# a comment
kind="firing"
name="p"
max_temp="800 C"
segments=[{rate=300, target="1454 F", hold=120}]
"""
    changed = base.replace("2 min", "3 min")
    h1, h2, h3 = (content_hash(parse_recipe(t)) for t in (base, reformatted, changed))
    assert h1 == h2
    assert h1 != h3
    assert len(h1) == 64 and int(h1, 16) >= 0


def test_library_resolves_by_name_field_and_reports_missing(tmp_path: Path) -> None:
    (tmp_path / "odd-file-name.toml").write_text(
        'kind = "firing"\nname = "quick"\nmax_temp = 500\n'
        '[[segments]]\nrate = "max"\ntarget = 400\n'
    )
    (tmp_path / "broken.toml").write_text("kind = ")
    library = RecipeLibrary([tmp_path, PROFILES])
    assert isinstance(library.get("quick"), FiringProfile)
    assert isinstance(library.get("nickel-gold-flash"), PlatingRecipe)
    assert isinstance(library.get("job-zinc-alloy"), Job)
    with pytest.raises(Exception, match="no recipe of that name") as info:
        library.get("no-such-recipe")
    assert "enamel-preheat" in str(info.value)
    with pytest.raises(Exception, match="expected a firing recipe"):
        library.get_firing("nickel-gold-flash")


def test_library_sees_edited_files(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    text = 'kind = "firing"\nname = "p"\nmax_temp = 900\n[[segments]]\nrate = 100\ntarget = {}\n'
    path.write_text(text.format(500))
    library = RecipeLibrary([tmp_path])
    assert library.get_firing("p").segments[0].target_c == 500
    path.write_text(text.format(600))
    stat = path.stat()
    # a new mtime without sleeping: the edit happened "one second later"
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert library.get_firing("p").segments[0].target_c == 600
