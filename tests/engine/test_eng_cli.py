"""`kilnctl simulate`, `kilnctl tune --simulate` and `kilnctl resume` through the real CLI
entry point, with the bundled example plant and the shipped profiles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kilnctl.cli.main import main
from kilnctl.plant import EXAMPLE_PLANT


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(EXAMPLE_PLANT), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_preheat_predicts_the_trajectory(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "simulate", "enamel-preheat", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["outcome"] == "completed"
    kiln = summary["kilns"]["kiln1"]
    assert 789.0 <= kiln["peak_pv_c"] <= 792.0
    # PROCESS.md: a 1.8 kW kiln reaches 790 °C from 20 °C in 30-60 min at full power
    reached = next(p["t_min"] for p in kiln["trajectory"] if p["pv_c"] >= 780)
    assert 30 <= reached <= 60


def test_simulate_plating_recipe_reports_thickness(capsys: pytest.CaptureFixture[str]) -> None:
    # 30 pins × 0.12 dm² = 3.6 dm²: nickel 10.8 A, within the 12 A of the example plant
    code, out, _ = run_cli(capsys, "simulate", "nickel-gold-flash", "--pins", "30")
    assert code == 0, out
    nickel = next(line for line in out.splitlines() if "nickel" in line and "µm" in line)
    assert "1.540 Ah, 5.000 µm" in nickel  # 5·8.9·3.6 / (100·1.095·0.95) Ah


def test_simulate_unknown_recipe_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "simulate", "no-such-recipe")
    assert code == 2 and "no-such-recipe" in err


def test_tune_simulated_kiln_proposes_gains(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "tune", "kiln3", "--simulate", "--json")
    result = json.loads(out)
    assert code == 0
    assert 30 <= result["period_s"] <= 600 and result["kp"] > 0 and result["ki"] > 0


def test_resume_with_nothing_to_resume(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "resume", "--journal", str(tmp_path / "j.sqlite"))
    assert code == 2 and "no unfinished run" in err
