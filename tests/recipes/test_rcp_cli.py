"""`kilnctl validate`, `schema` and `show` through kilnctl.cli.main.main."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kilnctl.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "profiles"
SHIPPED = sorted(str(p) for p in PROFILES.glob("*.toml"))


@pytest.fixture(autouse=True)
def _no_local_plant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # validate reads ./kilnctl.toml when present: run where there is none
    monkeypatch.chdir(tmp_path)


def test_validate_all_shipped_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *SHIPPED]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(SHIPPED)
    assert all(": ok: " in line for line in out)


def test_validate_reports_each_problem_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'kind = "firing"\nname = "bad"\nmax_temp = "850 C"\n'
        '[[segments]]\nrate = "fast"\ntarget = "2000 F"\n'
    )
    good = PROFILES / "anneal-copper.toml"
    assert main(["validate", str(good), str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{good}: ok: firing profile 'anneal-copper'")
    assert out[1].startswith(f"{bad}:5: segments[0].rate: 'fast': expected a heating rate")
    assert "accepted units: C/h, °C/h, F/h" in out[1]
    assert len(out) == 2  # the 2000 F target is checked once the rate is fixed


def test_validate_syntax_error_and_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('kind = "job"\nname = [\n')
    assert main(["validate", str(broken), str(tmp_path / "nope.toml")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{broken}:3: TOML syntax:")
    assert out[1] == f"{tmp_path / 'nope.toml'}: cannot read: No such file or directory"


def test_validate_prints_warnings_but_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = tmp_path / "brass-enamel.toml"
    job.write_text(
        'kind = "job"\nname = "brass-enamel"\n'
        '[lot]\nmaterial = "yellow_brass"\npin_count = 10\narea_per_pin = "10 cm2"\n'
        '[[steps]]\nkind = "firing"\nref = "enamel-coat-base"\nkiln = "kiln1"\n'
    )
    assert main(["validate", str(job)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{job}:9: steps[0] (enamel-coat-base): warning: ")
    assert "high-zinc brass bubbles" in out[0]
    assert out[1].startswith(f"{job}: ok: job 'brass-enamel'")


def test_validate_material_error_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = tmp_path / "zinc.toml"
    job.write_text(
        'kind = "job"\nname = "zinc"\n'
        '[lot]\nmaterial = "zinc_alloy"\npin_count = 10\narea_per_pin = "10 cm2"\n'
        '[[steps]]\nkind = "firing"\nref = "anneal-copper"\n'
    )
    assert main(["validate", str(job)]) == 1
    out = capsys.readouterr().out
    assert f"{job}:9: steps[0] (anneal-copper): error: anneal-copper reaches 620 °C" in out


def test_validate_device_limits_with_explicit_plant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the example plant with a bench supply (12 A) on the nickel tank
    example = (ROOT / "kilnctl.example.toml").read_text(encoding="utf-8")
    small = example.replace('max_current = "50 A"', 'max_current = "12 A"')
    assert small != example
    plant = tmp_path / "kilnctl.toml"
    plant.write_text(small, encoding="utf-8")
    job = str(PROFILES / "job-black-nickel.toml")
    # 150 pins × 0.1 dm² = 15 dm² at 3 A/dm² = 45 A: more than a 12 A supply
    assert main(["--config", str(plant), "validate", job]) == 1
    out = capsys.readouterr().out
    assert (
        "(bright nickel): error: needs 45 A, above tank nickel's rectifier (allowed: <= 12 A" in out
    )
    assert main(["--config", str(ROOT / "kilnctl.example.toml"), "validate", job]) == 0


def test_validate_bad_plant_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plant = tmp_path / "plant.toml"
    plant.write_text("journal = 3\n")
    assert main(["--config", str(plant), "validate", SHIPPED[0]]) == 2
    assert ":1: journal: 3: wrong type" in capsys.readouterr().err


def test_schema_to_stdout_and_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    bundle = json.loads(capsys.readouterr().out)
    firing = bundle["firing-profile.schema.json"]
    segment = firing["$defs"]["Segment"]
    assert {"rate", "target", "hold", "soak_band"} <= set(segment["properties"])
    assert segment["additionalProperties"] is False
    assert set(firing["required"]) == {"name", "max_temp", "segments"}

    out_dir = tmp_path / "schemas"
    assert main(["schema", "--out", str(out_dir)]) == 0
    written = sorted(p.name for p in out_dir.iterdir())
    assert written == sorted(bundle)
    job = json.loads((out_dir / "job.schema.json").read_text())
    assert "lot" in job["properties"] and job["$schema"].endswith("2020-12/schema")


def test_show_firing_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "enamel-preheat", "--kw", "1.8"]) == 0
    out = capsys.readouterr().out
    assert "enamel-preheat — firing profile" in out
    assert "790 °C" in out and "±10 °C" in out
    # 20 -> 790 °C at ~1000 °C/h = 46 min 12 s, + 20 min hold = 1 h 06 min
    assert "Estimated duration: 1 h 06 min (from 20 °C)" in out
    # on-time: 46.2 min at 100 % + 20 min at 50 % = 56.2 min; 1.8 kW × 0.937 h = 1.69 kWh
    assert "Energy: ≈ 1.69 kWh = 1.8 kW × 56 min 12 s" in out
    assert "┤" in out  # the plot's axis
    assert "\x1b[" not in out  # no colour codes when not on a terminal


def test_show_plating_with_area(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(PROFILES / "nickel-gold-flash.toml"), "--area", "12"]) == 0
    out = capsys.readouterr().out
    nickel = next(line for line in out.splitlines() if line.startswith("10 "))
    # 36 A; 5.13 Ah; 5.133/36 h = 8 min 33 s + half the 15 s soft start = 8 min 41 s
    assert "36 A" in nickel and "5.13 Ah" in nickel and "8 min 41 s" in nickel and "5 µm" in nickel
    gold = next(line for line in out.splitlines() if line.startswith("12 "))
    assert "14.4 A" in gold and "0.114 µm" in gold


def test_show_plating_without_area(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "nickel-gold-flash", "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert "unknown (give --area DM2)" in out
    nickel = next(line for line in out.splitlines() if line.startswith("10 "))
    assert "8 min 41 s" in nickel  # time to thickness does not depend on the area


def test_show_job_uses_lot_area(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "job-3-layer-enamel-nickel-gold"]) == 0
    out = capsys.readouterr().out
    assert "Lot: 100 pins of gilding_metal, 0.12 dm² each = 12 dm²" in out
    assert "(from 790 °C)" in out  # coats start where the preheat left the kiln
    assert "5.13 Ah" in out


def test_show_unknown_name_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "no-such-profile"]) == 2
    assert "no recipe of that name" in capsys.readouterr().err


def test_validate_takes_plant_configs_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = ROOT / "kilnctl.example.toml"
    bad = tmp_path / "plant.toml"  # not ./kilnctl.toml: that one is used for limits
    bad.write_text('[devices.k]\ndriver = "riden"\nurl = "u"\n[tanks.t]\nrectifier = "r"\n')
    assert main(["validate", str(example), str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{example}: ok: plant config",
        f"{bad}:5: tanks.t.rectifier: 'r': no such device (allowed: k)",
    ]
