"""`kilnctl run` and `kilnctl resume` killed with SIGKILL, as processes against the
simulated plant over its real wires, on the simulators' own clock (60x, so an outage
lasts as long as a process takes to start again, as in the plant):

- a run paused at the terminal and killed comes back paused at its held setpoint, says
  so, asks "[r]esume or [a]bort?", and goes on from there when resumed;
- a run killed mid-ramp goes on from the setpoint it last sent (not run on through the
  outage), and no sample it had written is lost.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from eng_cli import answer, events, heat_output, kilnctl

from kilnctl.journal import Journal
from kilnctl.sim_link import SIM_URLS_ENV
from simulators.plant import Plant as SimPlant
from simulators.plant_config import load_plant_config

RATE_C_PER_H = 600.0
PROFILE = f"""kind = "firing"
name = "cli-ramp"
max_temp = "400 C"
[[segments]]
rate = "{RATE_C_PER_H:g} C/h"
target = "300 C"
hold = "10 min"
"""


@asynccontextmanager
async def simulated_plant(tmp: Path) -> AsyncIterator[str]:
    """The simulated plant at 60x with its URLs file where kilnctl looks (the bundled plant
    config then points at it and takes its clock); tmp/profiles holds the ramp."""
    sim = SimPlant(load_plant_config(), speed=60.0, seed=6)
    await sim.start()
    try:
        sim.write_urls(tmp / "sim.json")
        (tmp / "profiles").mkdir()
        (tmp / "profiles" / "cli-ramp.toml").write_text(PROFILE)
        yield sim.devices["kiln2"].url
    finally:
        await sim.close()


async def _read_rest(proc: asyncio.subprocess.Process, seen: list[dict[str, Any]]) -> None:
    """After a kill: the events it printed before dying (still in the pipe)."""
    async for event in events(proc):
        seen.append(event)
    await proc.wait()


def _samples(seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in seen if e["kind"] == "sample"]


async def test_killed_run_resumes_paused_then_from_its_last_setpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SIM_URLS_ENV, str(tmp_path / "sim.json"))
    path = tmp_path / "journal.sqlite"
    common = ("--journal", str(path), "--json")
    procs: list[asyncio.subprocess.Process] = []
    printed: list[dict[str, Any]] = []  # every sample any process printed (= journaled)
    try:
        async with simulated_plant(tmp_path) as url, asyncio.timeout(50):
            # 1. run, pause at the terminal at ~40 °C, killed a minute later
            start = ("run", "cli-ramp", "--kiln", "kiln2", "--lot", "R1")
            run = await kilnctl(tmp_path, *start, *common)
            procs.append(run)
            seen: list[dict[str, Any]] = []
            paused_t: float | None = None
            asked = False
            async for event in events(run):
                seen.append(event)
                if event["kind"] == "sample" and event["values"]["sp_c"] >= 40 and not asked:
                    asked = True
                    run.send_signal(signal.SIGINT)
                    await answer(run, "p")  # ^C: [p]ause, [a]bort, or [c]ontinue?
                if event["kind"] == "state" and event["state"] == "paused":
                    paused_t = event["t"]
                a_minute_on = paused_t is not None and event["t"] >= paused_t + 60
                if a_minute_on and event["kind"] == "sample":
                    run.kill()
                    break
            await _read_rest(run, seen)
            printed += _samples(seen)
            held = printed[-1]["values"]["sp_c"]

            # 2. resumed: paused at the held setpoint, and told so; r goes on from there
            resumed = await kilnctl(tmp_path, "resume", *common)
            procs.append(resumed)
            seen = []
            still: list[float] = []
            moving: list[float] = []
            async for event in events(resumed):
                seen.append(event)
                running = event.get("state") == "running" and not still
                if running or event["kind"] == "run_finished":
                    resumed.kill()  # not resumed paused: the assertions below say so
                    break
                if event["kind"] != "sample":
                    continue
                if len(still) < 60:
                    still.append(event["values"]["sp_c"])
                    if len(still) == 60:
                        await answer(resumed, "r")  # resumed paused: [r]esume or [a]bort?
                    continue
                moving.append(event["values"]["sp_c"])
                if event["values"]["sp_c"] >= held + 3.0:  # running again: killed mid-ramp
                    resumed.kill()
                    break
            await _read_rest(resumed, seen)
            printed += _samples(seen)
            states = [(e["source"], e["state"]) for e in seen if e["kind"] == "state"]
            assert states[:1] == [("run", "paused")] and ("run", "running") in states
            notices = [e["message"] for e in seen if e["kind"] == "notice"]
            assert any(f"resumed paused at {held:.1f} °C" in m and "press r" in m for m in notices)
            assert set(still) == {held}
            assert held <= moving[0] <= held + RATE_C_PER_H / 3600 * 3  # from where it held

            # 3. resumed after the kill mid-ramp: from the last setpoint it sent
            with Journal(path) as journal:
                last = list(journal.samples(journal.runs()[-1].run_id))[-1]
            again = await kilnctl(tmp_path, "resume", *common)
            procs.append(again)
            seen = []
            async for event in events(again):
                seen.append(event)
                if event["kind"] == "sample" and len(_samples(seen)) == 10:
                    again.send_signal(signal.SIGTERM)  # ends the test: abort, heat off
            assert await again.wait() == 1
            printed += _samples(seen)
            first_after = _samples(seen)[0]
            jump = first_after["values"]["sp_c"] - last.values["sp_c"]
            print(f"\nsetpoint after resume at 60x - last before the kill: {jump:+.3f} °C")
            assert abs(jump) <= 5.0
            assert first_after["seq"] == last.seq + 1
            assert await heat_output("kiln2", url) == 0.0
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    with Journal(path) as journal:
        (record,) = journal.runs()
        samples = list(journal.samples(record.run_id))
    assert record.outcome == "aborted"
    assert [s.seq for s in samples] == list(range(1, len(samples) + 1))
    journaled = {(s.seq, s.t): s.values for s in samples}
    assert all(journaled.get((p["seq"], p["t"])) == p["values"] for p in printed)  # none lost
