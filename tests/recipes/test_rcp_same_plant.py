"""Issue 8 items 1-2 through the real `kilnctl` command (a subprocess), run in a folder with
no ./kilnctl.toml and no simulators: every command uses the same plant (the bundled
example) and says so, refs resolve beside the job file, plant-limit and reference errors
carry file:line, and the recipe checks that were missing refuse what they should."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KILNCTL = [sys.executable, "-m", "kilnctl.cli.main"]
BUNDLED = "plant: bundled example (kilnctl.example.toml)"


def kilnctl(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # no running simulator may be picked up: point the sim URLs file at nothing
    env = {**os.environ, "KILNCTL_SIM_URLS": str(cwd / "no-sim.json"), "PYTHONWARNINGS": "error"}
    return subprocess.run(
        [*KILNCTL, *args], cwd=cwd, capture_output=True, text=True, timeout=30, env=env
    )


HOT = """kind = "firing"
name = "hot"
max_temp = "1100 C"
[[segments]]
rate = "max"
target = "1050 C"
hold = "1 min"
max_hold = "5 min"
"""
WARM = """kind = "firing"
name = "warm"
max_temp = "300 C"
[[segments]]
rate = "max"
target = "120 C"
hold = "1 min"
"""
HEAVY = """kind = "plating"
name = "heavy"
[[steps]]
name = "nickel"
kind = "electro"
tank = "nickel"
current = "60 A"
end = { time = "1 min" }
"""
JOB = """kind = "job"
name = "limits"
[lot]
material = "copper"
pin_count = 10
area_per_pin = "0.1 dm2"

[[steps]]
kind = "firing"
ref = "warm"
kiln = "kiln9"

[[steps]]
kind = "firing"
ref = "hot"
kiln = "kiln1"

[[steps]]
kind = "plating"
ref = "heavy"

[[steps]]
kind = "firing"
ref = "missing"
kiln = "kiln1"
"""


@pytest.fixture
def job_dir(tmp_path: Path) -> Path:
    """A job folder (not ./profiles) holding a job and the recipes it refers to."""
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    for name, text in (("hot", HOT), ("warm", WARM), ("heavy", HEAVY), ("limits", JOB)):
        (jobs / f"{name}.toml").write_text(text)
    return jobs


def test_validate_checks_the_bundled_plant_with_file_and_line(
    tmp_path: Path, job_dir: Path
) -> None:
    # Before: no ./kilnctl.toml meant no plant limits, and this job was `ok`.
    done = kilnctl(tmp_path, "validate", "jobs/limits.toml")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [BUNDLED]
    out = done.stdout.splitlines()
    assert out[0].startswith("jobs/limits.toml:11: steps[0] (warm).kiln: error: ")
    assert "kiln9" in out[0]
    assert out[1].startswith("jobs/limits.toml:16: steps[1] (hot): error: hot reaches 1050 °C")
    assert "(allowed: <= 1000 °C)" in out[1]
    # the plating limit points at the recipe's line, where the current is written
    assert out[2].startswith("jobs/heavy.toml:7: steps[2] (heavy): heavy.steps[0] (nickel)")
    assert "needs 60 A, above tank nickel's rectifier (allowed: <= 50 A" in out[2]
    assert out[3].startswith("jobs/limits.toml:24: steps[3] (missing).ref: error: 'missing'")
    assert len(out) == 4


def test_simulate_resolves_refs_beside_the_job_as_validate_does(
    tmp_path: Path, job_dir: Path
) -> None:
    # Before: `validate jobs/x.toml` found `warm` beside the job, `simulate` looked only
    # in ./profiles and failed "no recipe of that name".
    (job_dir / "bake.toml").write_text(
        'kind = "job"\nname = "bake"\n[lot]\nmaterial = "copper"\npin_count = 10\n'
        'area_per_pin = "0.1 dm2"\n[[steps]]\nkind = "firing"\nref = "warm"\nkiln = "kiln2"\n'
    )
    assert kilnctl(tmp_path, "validate", "jobs/bake.toml").returncode == 0
    done = kilnctl(tmp_path, "simulate", "jobs/bake.toml")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == BUNDLED
    assert done.stdout.startswith("job bake: completed")


@pytest.mark.parametrize("command", ["validate", "show", "simulate", "run"])
def test_help_states_the_ref_rule(tmp_path: Path, command: str) -> None:
    done = kilnctl(tmp_path, command, "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "refs resolve beside the job file first, then in ./profiles" in text


def test_duplicate_step_names_and_job_labels_are_refused(tmp_path: Path) -> None:
    # Before: both files were `ok`, and the batch record keyed two steps on one name.
    (tmp_path / "twice.toml").write_text(
        'kind = "plating"\nname = "twice"\n'
        '[[steps]]\nname = "rinse"\nkind = "timed"\nduration = "30 s"\n'
        '[[steps]]\nname = "rinse"\nkind = "timed"\nduration = "30 s"\n'
    )
    (tmp_path / "warm.toml").write_text(WARM)
    (tmp_path / "two-coats.toml").write_text(
        'kind = "job"\nname = "two-coats"\n'
        '[lot]\nmaterial = "copper"\npin_count = 10\narea_per_pin = "0.1 dm2"\n'
        '[[steps]]\nkind = "firing"\nref = "warm"\nkiln = "kiln2"\n'
        '[[steps]]\nkind = "firing"\nref = "warm"\nkiln = "kiln2"\n'
    )
    done = kilnctl(tmp_path, "validate", "twice.toml", "two-coats.toml")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "twice.toml:8: steps[1].name: 'rinse': repeats steps[0]'s name (the batch record "
        "and resume key on it; allowed: a name used once in this file)",
        "two-coats.toml:11: steps[1].label: 'warm': repeats steps[0]'s label (the batch "
        "record and resume key on it; a missing label is the ref or kind; allowed: a label "
        "used once in this file)",
    ]


COAT = """kind = "firing"
name = "coat"
max_temp = "830 C"
[[segments]]
rate = "max"
target = "815 C"
hold = "{hold}"
{extra}
"""


def test_enamel_holds_are_limited_by_the_process_class(tmp_path: Path) -> None:
    # Before: a 6-minute hold at 815 °C was `ok` when the file set no max_hold.
    (tmp_path / "coat.toml").write_text(COAT.format(hold="6 min", extra=""))
    done = kilnctl(tmp_path, "validate", "coat.toml")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "coat.toml:7: segments[0].hold: error: 6 min at 815 °C over-fires the enamel "
        "(allowed: <= max_hold 5 min, vitreous enamel default; set max_hold in the file "
        "to override)"
    ]
    # past the usual window (3 min a coat) is a warning
    (tmp_path / "coat.toml").write_text(COAT.format(hold="4 min", extra=""))
    done = kilnctl(tmp_path, "validate", "coat.toml")
    assert done.returncode == 0
    assert "coat.toml:7: segments[0].hold: warning: 4 min at 815 °C is past the usual " in (
        done.stdout
    )
    # the file's own max_hold wins over the class default
    (tmp_path / "coat.toml").write_text(COAT.format(hold="6 min", extra='max_hold = "8 min"'))
    done = kilnctl(tmp_path, "validate", "coat.toml")
    assert done.returncode == 0 and "ok: firing profile 'coat'" in done.stdout
    # and a site changes the default in its plant config
    (tmp_path / "coat.toml").write_text(COAT.format(hold="6 min", extra=""))
    (tmp_path / "kilnctl.toml").write_text('[vitreous_enamel]\nmax_hold = "7 min"\n')
    done = kilnctl(tmp_path, "validate", "coat.toml")
    assert done.returncode == 0, done.stdout
    assert done.stderr.splitlines() == ["plant: ./kilnctl.toml"]
    # show gives the limits the engine enforces, the defaults marked
    done = kilnctl(tmp_path, "show", "coat.toml", "--no-plot")
    assert "3 min* / 7 min*" in done.stdout
    assert "coat segments[0].max_hold = 7 min (vitreous enamel default" in done.stdout


@pytest.mark.parametrize(
    ("written", "shown"),
    [("2m30s", "2 min 30 s"), ("1h30m", "1 h 30 min"), ("90s", "1 min 30 s")],
)
def test_duration_shorthands_parse(tmp_path: Path, written: str, shown: str) -> None:
    # Before: "2m30s" and "1h30m" were refused ("unknown unit 'm'")
    (tmp_path / "warm.toml").write_text(WARM.replace('"1 min"', f'"{written}"'))
    done = kilnctl(tmp_path, "show", "warm.toml", "--no-plot")
    assert done.returncode == 0, done.stderr
    assert f"120 °C  {shown}" in done.stdout


@pytest.mark.parametrize("written", ["1:30", "1h30", "2 min 30"])
def test_ambiguous_durations_show_the_accepted_form(tmp_path: Path, written: str) -> None:
    (tmp_path / "warm.toml").write_text(WARM.replace('"1 min"', f'"{written}"'))
    done = kilnctl(tmp_path, "validate", "warm.toml")
    assert done.returncode == 1
    assert done.stdout.startswith(f"warm.toml:7: segments[0].hold: {written!r}: ")
    assert "ambiguous" in done.stdout and "'2m30s', '1 h 30 min'" in done.stdout


GOLD = """kind = "plating"
name = "gold-thick"
[[steps]]
name = "gold flash"
kind = "electro"
tank = "gold"
current_density = "1.2 A/dm2"
deposit = "gold"
end = { thickness = "0.1 um" }
"""


def test_defaults_that_change_results_are_shown(tmp_path: Path) -> None:
    # Before: a gold flash ending on thickness used efficiency 0.5 and nothing said so.
    (tmp_path / "gold.toml").write_text(GOLD)
    default = (
        "gold-thick steps[0] (gold flash).efficiency = 0.5 (gold bath default cathode "
        "efficiency; set `efficiency` from XRF readings)"
    )
    shown = kilnctl(tmp_path, "show", "gold.toml", "--area", "12")
    assert shown.returncode == 0
    assert f"Defaults used (not set in the file):\n  {default}" in shown.stdout
    simulated = kilnctl(tmp_path, "simulate", "gold.toml")
    assert simulated.returncode == 0, simulated.stderr
    assert f"default used: {default}" in simulated.stdout
    # a file that sets its efficiency relies on no default
    (tmp_path / "gold.toml").write_text(
        GOLD.replace('deposit = "gold"', 'deposit = "gold"\nefficiency = 0.4')
    )
    assert "Defaults used" not in kilnctl(tmp_path, "show", "gold.toml").stdout


@pytest.mark.parametrize("area", ["-5", "0", "nan", "inf"])
def test_show_area_is_validated_like_recipes(tmp_path: Path, area: str) -> None:
    # Before: `--area -5` printed negative currents and exited 0.
    done = kilnctl(tmp_path, "show", "nickel-gold-flash", f"--area={area}")
    assert done.returncode == 2
    assert "argument --area:" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
