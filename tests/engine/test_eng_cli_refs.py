"""`kilnctl run` of a job file finds its refs beside the file (as validate and simulate do),
names the defaults it relies on, and the batch record keeps them; the engine enforces the
vitreous enamel hold limits a file leaves out (the file's own win)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from eng_cli import events, heat_output, kilnctl

from kilnctl.cli.cmd_run import simulate
from kilnctl.plant import Plant
from kilnctl.recipes.loader import RecipeLibrary
from kilnctl.recipes.models import FiringProfile
from simulators.plant import Plant as SimPlant
from simulators.plant_config import load_plant_config

BAKE = """kind = "firing"
name = "beside-bake"
max_temp = "300 C"
[[segments]]
rate = "max"
target = "120 C"
hold = "1 min"
"""
JOB = """kind = "job"
name = "beside-job"
[lot]
material = "copper"
pin_count = 10
area_per_pin = "0.1 dm2"
[[steps]]
kind = "firing"
ref = "beside-bake"
kiln = "kiln2"
"""


@asynccontextmanager
async def job_beside_its_refs(
    tmp: Path, bake: str, extra_config: str = ""
) -> AsyncIterator[tuple[Path, str]]:
    """The simulated plant running; ./kilnctl.toml for its kiln2; jobs/beside-job.toml with
    its profile beside it (not in ./profiles). Yields the journal path and kiln2's URL."""
    sim = SimPlant(load_plant_config(), speed=60.0, seed=4)
    await sim.start()
    try:
        url = sim.devices["kiln2"].url
        jobs = tmp / "jobs"
        jobs.mkdir()
        (jobs / "beside-bake.toml").write_text(bake)
        (jobs / "beside-job.toml").write_text(JOB)
        journal = tmp / "journal.sqlite"
        (tmp / "kilnctl.toml").write_text(
            f'journal = "{journal}"\n'
            f'[devices.kiln2]\ndriver = "omron_e5cc"\nurl = "{url}"\n'
            f'[kilns.kiln2]\ncontroller = "kiln2"\nmax_temp = "1000 C"\n' + extra_config
        )
        yield journal, url
    finally:
        await sim.close()


async def outcome_of(proc: asyncio.subprocess.Process) -> tuple[str, str]:
    """(outcome, reason) of the run a `kilnctl run|resume --json` process follows."""
    outcome = ("", "no run_finished event")
    async with asyncio.timeout(45):
        async for event in events(proc):
            if event["kind"] == "run_finished":
                outcome = event["outcome"], event.get("reason", "")
        await proc.wait()
    return outcome


async def test_run_of_a_job_file_uses_refs_beside_it_and_records_defaults(tmp_path: Path) -> None:
    # Before: `run jobs/beside-job.toml` looked for beside-bake only in ./profiles and failed.
    # The site counts holds from 100 °C as vitreous enamel here, so this short bake relies
    # on the class defaults (3 min warn, 5 min abort) without taking hours.
    config = '[vitreous_enamel]\nfrom_temp = "100 C"\n'
    async with job_beside_its_refs(tmp_path, BAKE, config) as (journal, url):
        proc = await kilnctl(
            tmp_path, "run", "jobs/beside-job.toml", "--lot", "L1", "--json", "--speed", "60"
        )
        assert await outcome_of(proc) == ("completed", "")
        assert proc.returncode == 0
        assert await heat_output("kiln2", url) == 0.0
    report = subprocess.run(
        [sys.executable, "-m", "kilnctl.cli.main", "report", "last", "--journal", str(journal)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert report.returncode == 0, report.stderr
    assert "Defaults used" in report.stdout
    assert "beside-bake segments[0].warn_hold" in report.stdout
    assert "beside-bake segments[0].max_hold" in report.stdout
    assert "5 min (vitreous enamel default for a hold at 120 °C" in report.stdout


async def test_resume_of_a_killed_run_finds_the_refs_beside_the_job_again(
    tmp_path: Path,
) -> None:
    # Before: resume looked the job and its refs up in ./profiles only, so a run started
    # from jobs/beside-job.toml could not be resumed ("cannot load the recipe again").
    bake = BAKE.replace('hold = "1 min"', 'hold = "3 min"\nmax_hold = "1 h"\nwarn_hold = "1 h"')
    async with job_beside_its_refs(tmp_path, bake) as (_, url):
        run = await kilnctl(
            tmp_path, "run", "jobs/beside-job.toml", "--lot", "L2", "--json", "--speed", "60"
        )
        async with asyncio.timeout(45):
            async for event in events(run):
                if event["kind"] == "segment" and event.get("phase") == "hold":
                    run.kill()  # a crash mid-hold: no clean-up runs
                    break
            await run.wait()
        resumed = await kilnctl(tmp_path, "resume", "--json", "--speed", "60")
        assert await outcome_of(resumed) == ("completed", "")
        assert resumed.returncode == 0
        assert await heat_output("kiln2", url) == 0.0


PLANT = {
    "devices": {"k": {"driver": "omron_e5cc", "url": "modbus-tcp://127.0.0.1:1?unit=1"}},
    "kilns": {"k": {"controller": "k", "max_temp": "1000 C"}},
    "vitreous_enamel": {"from_temp": "100 C", "warn_hold": "1 min", "max_hold": "2 min"},
}


def _profile(**limits: str) -> FiringProfile:
    segment = {"rate": "max", "target": "120 C", "hold": "4 min", **limits}
    return FiringProfile.model_validate({"name": "p", "max_temp": 300, "segments": [segment]})


def test_the_engine_aborts_a_hold_past_the_class_default_unless_the_file_says() -> None:
    plant = Plant.model_validate(PLANT)

    def dry_run(profile: FiringProfile) -> dict[str, Any]:
        # a loop of its own each: the virtual clock's pump expects to own its loop
        return asyncio.run(simulate(profile, plant, RecipeLibrary([]), kiln="k", lot=None))

    summary = dry_run(_profile())
    # the file set no max_hold: the plant's class default (2 min) aborts the 4-min hold
    assert summary["outcome"] == "aborted"
    assert summary["reason"].endswith("s at temperature > 120 s")
    own = dry_run(_profile(max_hold="10 min"))
    # the file's own max_hold wins; the default warn_hold (1 min) still warns
    assert own["outcome"] == "completed"
    assert any("at temperature > 60 s" in a for a in own["alarms"])
