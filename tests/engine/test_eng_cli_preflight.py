"""`kilnctl simulate` refuses what `validate` refuses, before anything runs, with its
messages; warnings are printed first (issue 6, item 8). Through the real CLI entry point,
with the bundled example plant and the shipped recipes."""

from __future__ import annotations

import pytest

from kilnctl.cli.main import main
from kilnctl.plant import EXAMPLE_PLANT


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(EXAMPLE_PLANT), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_a_vitreous_profile_on_zinc_alloy_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Before: fired to 790+ °C (--material applied to plating recipes only).
    code, out, err = run_cli(capsys, "simulate", "enamel-coat-final", "--material", "zinc_alloy")
    assert (code, out) == (2, "")
    plant_line, err = err.split("\n", 1)
    assert plant_line.startswith("plant: ")
    assert err == (
        "kilnctl: refused before any device was written:\n"
        "  enamel-coat-final: error: enamel-coat-final reaches 810 °C; a zinc_alloy lot melts "
        "at 381 °C (allowed: <= 350 °C)\n"
    )


def test_simulate_a_plating_recipe_over_a_rectifier_refuses_before_cleaning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Before: 8 minutes of cleaning were simulated, then the 72 A step was refused.
    code, out, err = run_cli(capsys, "simulate", "nickel-gold-flash", "--pins", "200")
    assert (code, out) == (2, "")
    assert (
        "  nickel-gold-flash.steps[9] (bright nickel): error: needs 72 A, above tank nickel's "
        "rectifier (allowed: <= 50 A; split the load)\n"
    ) in err


def test_simulate_prints_a_warning_first(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "simulate", "enamel-preheat", "--material", "brass")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("job preflight: enamel-preheat: warning: enamel-preheat fires")
    assert "high-zinc brass bubbles" in lines[0]
    assert lines[1].startswith("firing enamel-preheat: completed")
