"""Material rules and device limits of check_job."""

from __future__ import annotations

from pathlib import Path

import pytest

from kilnctl.plant import Plant, load_plant
from kilnctl.recipes.loader import RecipeLibrary, parse_recipe
from kilnctl.recipes.models import Job
from kilnctl.recipes.rules import Finding, check_job

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "profiles"

PLANT = """
[devices.k]
driver = "eurotherm3216"
url = "modbus-tcp://127.0.0.1:1?unit=1"
[devices.r]
driver = "riden"
url = "modbus-tcp://127.0.0.1:2?unit=1"
[kilns.kiln1]
controller = "k"
max_temp = "800 C"
[kilns.kiln2]
controller = "k"
max_temp = "1000 C"
[tanks.electroclean]
rectifier = "r"
max_current = "100 A"
max_voltage = "12 V"
[tanks.nickel]
rectifier = "r"
max_current = "40 A"
max_voltage = "12 V"
[tanks.gold]
rectifier = "r"
max_current = "20 A"
max_voltage = "12 V"
"""


def job(material: str, *steps: str, pins: int = 100, area: str = "0.12 dm2") -> Job:
    text = f"""
kind = "job"
name = "j"
[lot]
material = "{material}"
pin_count = {pins}
area_per_pin = "{area}"
""" + "".join(f"[[steps]]\n{s}\n" for s in steps)
    recipe = parse_recipe(text)
    assert isinstance(recipe, Job)
    return recipe


def firing(ref: str, kiln: str = "kiln2") -> str:
    return f'kind = "firing"\nref = "{ref}"\nkiln = "{kiln}"'


def plating(ref: str) -> str:
    return f'kind = "plating"\nref = "{ref}"'


@pytest.fixture
def library(tmp_path: Path) -> RecipeLibrary:
    (tmp_path / "bake-150.toml").write_text(
        'kind = "firing"\nname = "bake-150"\nmax_temp = 200\n'
        '[[segments]]\nrate = 300\ntarget = 150\nhold = "10 min"\n'
    )
    return RecipeLibrary([tmp_path, PROFILES])


@pytest.fixture
def plant(tmp_path: Path) -> Plant:
    path = tmp_path / "plant.toml"
    path.write_text(PLANT)
    return load_plant(path)


def levels(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.level, f.where) for f in findings]


def test_zinc_alloy_in_an_enamel_kiln_is_an_error(library: RecipeLibrary) -> None:
    findings = check_job(job("zinc_alloy", firing("enamel-coat-base")), library)
    assert levels(findings) == [("error", "steps[0] (enamel-coat-base)")]
    assert "zinc_alloy lot melts at 381 °C (allowed: <= 350 °C)" in findings[0].message


def test_zinc_alloy_resin_cure_before_plating_is_fine(library: RecipeLibrary) -> None:
    assert check_job(job("zinc_alloy", firing("synthetic-enamel-cure")), library) == []


def test_zinc_alloy_bake_after_plating_warns(library: RecipeLibrary) -> None:
    steps = (plating("copper-strike"), firing("bake-150"))
    findings = check_job(job("zinc_alloy", *steps), library)
    assert levels(findings) == [("warning", "steps[1] (bake-150)")]
    assert "blisters" in findings[0].message
    # the same bake before plating is no concern
    assert check_job(job("zinc_alloy", *reversed(steps)), library) == []


@pytest.mark.parametrize("material", ["yellow_brass", "brass"])
def test_vitreous_enamel_on_brass_warns(library: RecipeLibrary, material: str) -> None:
    findings = check_job(job(material, firing("enamel-coat-final")), library)
    assert levels(findings) == [("warning", "steps[0] (enamel-coat-final)")]
    assert "bubbles" in findings[0].message


@pytest.mark.parametrize("material", ["copper", "gilding_metal", "fine_silver"])
def test_vitreous_enamel_on_enamelling_metals_is_fine(
    library: RecipeLibrary, material: str
) -> None:
    assert check_job(job(material, firing("enamel-coat-final")), library) == []


def test_unknown_ref_and_wrong_kind(library: RecipeLibrary) -> None:
    findings = check_job(job("copper", firing("no-such"), plating("enamel-preheat")), library)
    assert levels(findings) == [
        ("error", "steps[0] (no-such).ref"),
        ("error", "steps[1] (enamel-preheat).ref"),
    ]
    assert "no recipe of that name" in findings[0].message
    assert "expected a plating recipe" in findings[1].message


def test_kiln_max_temp(library: RecipeLibrary, plant: Plant) -> None:
    findings = check_job(job("copper", firing("enamel-coat-final", "kiln1")), library, plant)
    assert levels(findings) == [("error", "steps[0] (enamel-coat-final)")]
    assert "above kiln kiln1's max_temp (allowed: <= 800 °C)" in findings[0].message
    assert check_job(job("copper", firing("enamel-coat-final", "kiln2")), library, plant) == []


def test_unknown_kiln(library: RecipeLibrary, plant: Plant) -> None:
    findings = check_job(job("copper", firing("enamel-coat-base", "kiln9")), library, plant)
    assert levels(findings) == [("error", "steps[0] (enamel-coat-base).kiln")]
    assert "allowed: kiln1, kiln2" in findings[0].message


def test_rectifier_current_from_density_times_lot_area(
    library: RecipeLibrary, plant: Plant
) -> None:
    # 100 pins × 0.12 dm² = 12 dm²: nickel 3 A/dm² -> 36 A (<= 40 A), gold 1.2 -> 14.4 A
    assert check_job(job("copper", plating("nickel-gold-flash")), library, plant) == []
    # 150 pins -> 18 dm²: nickel 54 A > 40 A; gold 21.6 A > 20 A
    findings = check_job(job("copper", plating("nickel-gold-flash"), pins=150), library, plant)
    assert [f.level for f in findings] == ["error", "error"]
    assert "(bright nickel)" in findings[0].where and "needs 54 A" in findings[0].message
    assert "(gold flash)" in findings[1].where and "needs 21.6 A" in findings[1].message


def test_rectifier_voltage_and_unknown_tank(
    library: RecipeLibrary, plant: Plant, tmp_path: Path
) -> None:
    (tmp_path / "hot.toml").write_text(
        'kind = "plating"\nname = "hot"\n'
        '[[steps]]\nname = "n"\nkind = "electro"\ntank = "nickel"\ncurrent = "5 A"\n'
        'voltage_limit = "14 V"\nend = { time = 60 }\n'
        '[[steps]]\nname = "s"\nkind = "electro"\ntank = "silver"\ncurrent = "1 A"\n'
        "end = { time = 60 }\n"
    )
    findings = check_job(job("copper", plating("hot")), library, plant)
    assert [f.level for f in findings] == ["error", "error"]
    assert (
        "voltage_limit 14 V above tank nickel's rectifier (allowed: <= 12 V)" in findings[0].message
    )
    assert "no tank 'silver'" in findings[1].message


def test_shipped_jobs_have_no_findings_without_a_plant() -> None:
    library = RecipeLibrary([PROFILES])
    for name in (
        "job-3-layer-enamel-nickel-gold",
        "job-zinc-alloy",
        "job-soft-enamel",
        "job-black-nickel",
    ):
        assert check_job(library.get_job(name), library) == []


def test_example_plant_carries_every_shipped_job() -> None:
    library = RecipeLibrary([PROFILES])
    plant = load_plant(ROOT / "kilnctl.example.toml")
    # 12 dm²: nickel 3 A/dm² × 12 = 36 A <= 50 A; gold 1.2 × 12 = 14.4 A <= the RD6018's 18 A
    for name in library.names():
        if name.startswith("job-"):
            assert check_job(library.get_job(name), library, plant) == [], name
