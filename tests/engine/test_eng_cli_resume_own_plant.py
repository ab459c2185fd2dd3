"""`kilnctl run --speed 60` on a plant config of one's own (not the bundled one) pointed
at the running simulators, killed, then `kilnctl resume --speed 60`: the resumed run's
time goes on from where it was. Before, each process started its own 60x clock at its
own start, so the resumed samples were stamped minutes *before* the last ones (the
batch record and InfluxDB got two stretches over the same times) and the resume said
"the -3.8 min outage is not counted"."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest
from eng_cli import events, kilnctl
from test_eng_cli_resume import simulated_plant

from kilnctl.sim_link import SIM_URLS_ENV

PLANT = """
sample_period = "1 s"
[devices.kiln2]
driver = "omron_e5cc"
url = "{url}"
[kilns.kiln2]
controller = "kiln2"
max_temp = "1000 C"
"""


async def _until(proc: asyncio.subprocess.Process, samples: int) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async for event in events(proc):
        seen.append(event)
        if event["kind"] == "sample" and sum(e["kind"] == "sample" for e in seen) == samples:
            break
    return seen


async def test_a_run_resumed_on_its_own_plant_config_goes_on_in_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SIM_URLS_ENV, str(tmp_path / "sim.json"))
    common = ("--journal", str(tmp_path / "journal.sqlite"), "--json", "--speed", "60")
    procs: list[asyncio.subprocess.Process] = []
    try:
        async with simulated_plant(tmp_path) as url, asyncio.timeout(50):
            (tmp_path / "kilnctl.toml").write_text(PLANT.format(url=url))
            procs.append(run := await kilnctl(tmp_path, "run", "cli-ramp", "--kiln", "kiln2",
                                              "--lot", "R5", *common))  # fmt: skip
            before = await _until(run, 20)
            run.kill()
            await run.wait()
            procs.append(again := await kilnctl(tmp_path, "resume", *common))
            after = await _until(again, 3)
            again.send_signal(signal.SIGTERM)  # ends the test: abort, heat off
            await again.wait()
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    last_t = [e["t"] for e in before if e["kind"] == "sample"][-1]
    first_t = next(e["t"] for e in after if e["kind"] == "sample")
    assert first_t > last_t, f"resumed {last_t - first_t:.0f} s before the last sample"
    notices = [e["message"] for e in after if e["kind"] == "notice"]
    assert not any("-" in m.split("outage")[0].split("the ")[-1] for m in notices), notices
