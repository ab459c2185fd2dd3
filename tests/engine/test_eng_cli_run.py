"""`kilnctl run` as a user runs it: a subprocess with a plant config pointing at the
simulated plant's real sockets, JSON-line events on stdout, prompts answered on stdin,
and Ctrl-C (SIGINT) answered "abort": the run ends aborted with the kiln's heat off."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from eng_cli import events, heat_output, kilnctl

from simulators.plant import Plant as SimPlant
from simulators.plant_config import load_plant_config

PROFILE = """kind = "firing"
name = "cli-bake"
max_temp = "300 C"
[[segments]]
rate = "max"
target = "120 C"
hold = "{hold}"
"""
JOB = """kind = "job"
name = "cli-job"
[lot]
material = "brass"
pin_count = 10
area_per_pin = "0.1 dm2"
[[steps]]
kind = "firing"
ref = "cli-bake"
kiln = "kiln2"
prompt_before = "load the tray"
"""


@asynccontextmanager
async def simulated_kiln(tmp: Path, hold: str) -> AsyncIterator[tuple[Path, str]]:
    """The simulated plant running; a plant config and profiles/ for kiln2 in `tmp`."""
    tmp.mkdir(exist_ok=True)
    sim = SimPlant(load_plant_config(), speed=60.0, seed=4)
    await sim.start()
    try:
        url = sim.devices["kiln2"].url
        (tmp / "profiles").mkdir()
        (tmp / "profiles" / "cli-bake.toml").write_text(PROFILE.format(hold=hold))
        (tmp / "profiles" / "cli-job.toml").write_text(JOB)
        config = tmp / "kilnctl.toml"
        config.write_text(
            f'journal = "{tmp / "journal.sqlite"}"\n'
            f'[devices.kiln2]\ndriver = "omron_e5cc"\nurl = "{url}"\n'
            f'[kilns.kiln2]\ncontroller = "kiln2"\nmax_temp = "1000 C"\n'
        )
        yield config, url
    finally:
        await sim.close()


async def test_run_job_answering_the_prompt_on_stdin(tmp_path: Path) -> None:
    async with simulated_kiln(tmp_path, "1 min") as (config, url):
        args = ("--config", str(config), "run", "cli-job", "--lot", "L7", "--json", "--speed")
        proc = await kilnctl(tmp_path, *args, "60")
        assert proc.stdin is not None
        kinds = []
        async with asyncio.timeout(45):
            async for event in events(proc):
                kinds.append(event["kind"])
                if event["kind"] == "prompt":
                    assert event["text"] == "load the tray"
                    proc.stdin.write(b"ok\n")
                    await proc.stdin.drain()
                if event["kind"] == "run_finished":
                    assert event["outcome"] == "completed"
            assert await proc.wait() == 0
        assert {"run_started", "prompt", "prompt_answer", "sample", "segment"} <= set(kinds), kinds
        assert await heat_output("kiln2", url) == 0.0


async def test_ctrl_c_asks_and_abort_leaves_the_kiln_safe(tmp_path: Path) -> None:
    async with simulated_kiln(tmp_path, "1 h") as (config, url):
        args = ("--config", str(config), "run", "cli-bake", "--kiln", "kiln2", "--lot", "L8")
        proc = await kilnctl(tmp_path, *args, "--json", "--speed", "60")
        assert proc.stdin is not None
        outcome = None
        async with asyncio.timeout(45):
            samples = 0
            async for event in events(proc):
                if event["kind"] == "sample":
                    samples += 1
                    if samples == 20:
                        proc.send_signal(signal.SIGINT)
                        proc.stdin.write(b"a\n")  # ^C: [p]ause, [a]bort, or [c]ontinue?
                        await proc.stdin.drain()
                if event["kind"] == "run_finished":
                    outcome = event["outcome"]
            assert await proc.wait() == 1
        assert outcome == "aborted"
        assert await heat_output("kiln2", url) == 0.0


async def test_sigterm_and_sighup_abort_and_leave_the_kiln_safe(tmp_path: Path) -> None:
    # no operator is left to answer after a service manager's SIGTERM or a closed terminal
    for signum in (signal.SIGTERM, signal.SIGHUP):
        async with simulated_kiln(tmp_path / signum.name, "1 h") as (config, url):
            args = ("--config", str(config), "run", "cli-bake", "--kiln", "kiln2", "--lot", "L9")
            proc = await kilnctl(tmp_path / signum.name, *args, "--json", "--speed", "60")
            finished = None
            async with asyncio.timeout(45):
                samples = 0
                async for event in events(proc):
                    if event["kind"] == "sample":
                        samples += 1
                        if samples == 10:
                            proc.send_signal(signum)
                    if event["kind"] == "run_finished":
                        finished = event
                assert await proc.wait() == 1
            assert finished is not None and finished["outcome"] == "aborted"
            assert f"{signum.name} received" in finished["reason"]
            assert await heat_output("kiln2", url) == 0.0
