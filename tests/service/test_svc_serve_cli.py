"""`kilnctl serve` as a process against the simulated plant over real wires: clients
attach, a job runs, SIGTERM puts the kiln safe and exits 0 without a traceback; a
restarted service resumes the unfinished run from the journal: paused if it was paused,
at the setpoint it last sent, with no sample lost."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from child_output import drained
from eng_cli import heat_output

from kilnctl.cli.cmd_demo import kilnctl_argv
from kilnctl.journal import Journal
from kilnctl.service.client import RequestFailed, ServiceClient, ServiceUnavailable
from kilnctl.sim_link import SIM_URLS_ENV
from simulators.plant import Plant as SimPlant
from simulators.plant_config import load_plant_config

PROFILE = """
name = "svc-bake"
kind = "firing"
max_temp = "300 C"
[[segments]]
rate = "max"
target = "150 C"
hold = "2 h"
"""
PLANT = """
sample_period = "1 s"
[devices.kiln2]
driver = "omron_e5cc"
url = "{url}"
[kilns.kiln2]
controller = "kiln2"
max_temp = "1000 C"
"""


_SIMS: dict[Path, SimPlant] = {}


def _sim_device(tmp: Path) -> Any:
    """kiln2's simulated device (its model: inject / clear) in the running plant."""
    return _SIMS[tmp].devices["kiln2"].model


@asynccontextmanager
async def simulated_plant(tmp: Path) -> AsyncIterator[str]:
    """The simulated plant at x60; tmp holds kilnctl.toml (its URL) and profiles/."""
    sim = SimPlant(load_plant_config(), speed=60.0, seed=5)
    await sim.start()
    _SIMS[tmp] = sim
    try:
        url = sim.devices["kiln2"].url
        (tmp / "profiles").mkdir()
        (tmp / "profiles" / "svc-bake.toml").write_text(PROFILE)
        (tmp / "kilnctl.toml").write_text(PLANT.format(url=url))
        yield url
    finally:
        _SIMS.pop(tmp, None)
        await sim.close()


async def serve(tmp: Path, sim_clock: bool = False) -> asyncio.subprocess.Process:
    """The service on tmp's plant, at --speed 60 or (`sim_clock`) on the clock of the
    simulator plant the bundled plant config is pointed at."""
    speed = () if sim_clock else ("--speed", "60")
    # its log is read all along (child_output): a full pipe would block the service
    return drained(await asyncio.create_subprocess_exec(
        *kilnctl_argv("serve", "--socket", str(tmp / "s.sock"),
        *speed, "--journal", str(tmp / "journal.sqlite")),
        cwd=tmp, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONWARNINGS": "error"},
    ))  # fmt: skip


async def ended(proc: asyncio.subprocess.Process) -> bytes:
    """Wait for a service process to exit; its whole log (stderr)."""
    _, logged = await proc.communicate()
    return logged


async def stopped(proc: asyncio.subprocess.Process, timeout_s: float = 30) -> bytes:
    """SIGTERM the service and wait for it: it must exit 0 without a traceback. Its log
    (stderr); a hang says what the service logged, not just that it hung."""
    proc.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(timeout_s):
            logged = await ended(proc)
    except TimeoutError:
        proc.kill()
        raise AssertionError((await ended(proc)).decode(errors="replace")[-3000:]) from None
    assert proc.returncode == 0 and b"Traceback" not in logged, logged.decode()[-3000:]
    return logged


@asynccontextmanager
async def serving(tmp: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """`kilnctl serve` on tmp's plant, `stopped` after the body, or killed if the body
    failed first."""
    proc = await serve(tmp)
    try:
        yield proc
        await stopped(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
            await ended(proc)


async def attach(tmp: Path, proc: asyncio.subprocess.Process) -> ServiceClient:
    async with asyncio.timeout(20):
        while True:
            assert proc.returncode is None, "the service died"
            try:
                return await ServiceClient.connect(tmp / "s.sock", timeout_s=1)
            except ServiceUnavailable:
                await asyncio.sleep(0.05)  # polling for the child to bind; no time passes


async def first(client: ServiceClient, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(20):
        async for event in client.events():
            if event["kind"] == kind:
                return event
    raise AssertionError(f"no {kind} event")


async def test_sigterm_leaves_the_kiln_safe_and_exits_0(tmp_path: Path) -> None:
    async with simulated_plant(tmp_path) as url:
        proc = await serve(tmp_path)
        try:
            async with await attach(tmp_path, proc) as client:
                await client.request("subscribe")
                run = (await client.request("start", job="svc-bake", kiln="kiln2", lot="S1"))["run"]
                await first(client, "sample")
            # detached: the run goes on
            proc.send_signal(signal.SIGHUP)  # the terminal that started it closed
            async with await attach(tmp_path, proc) as client:
                (view,) = (await client.request("status"))["runs"]
                assert view["run_id"] == run and view["state"] != "finished"
            proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                stderr = await ended(proc)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 0, stderr.decode()
        assert b"Traceback" not in stderr
        assert b"SIGHUP ignored" in stderr
        assert not (tmp_path / "s.sock").exists()
        assert await heat_output("kiln2", url) == 0.0


async def test_restarted_service_resumes_the_unfinished_run(tmp_path: Path) -> None:
    async with simulated_plant(tmp_path):
        proc = await serve(tmp_path)
        try:
            async with await attach(tmp_path, proc) as client:
                await client.request("subscribe")
                run = (await client.request("start", job="svc-bake", kiln="kiln2", lot="S2"))["run"]
                await first(client, "sample")
            proc.kill()  # a crash: the run stays unfinished in the journal
            await proc.wait()
            proc = await serve(tmp_path)
            async with await attach(tmp_path, proc) as client:
                # the engine decides: continue, or stop safely and say why (here the scaled
                # clock of the new process starts behind the old one's accelerated wall time)
                (record,) = (await client.request("runs"))["runs"]
                assert record["run_id"] == run
                active = [r["run_id"] for r in (await client.request("status"))["runs"]]
                if record["outcome"] is None:
                    assert active == [run]
                    await client.request("abort", run=run)
                else:
                    assert record["outcome"] == "stopped" and active == []
            proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                await ended(proc)
            assert proc.returncode == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


RAMP = """
name = "svc-ramp"
kind = "firing"
max_temp = "400 C"
[[segments]]
rate = "600 C/h"
target = "300 C"
hold = "10 min"
"""


async def _samples_until(
    client: ServiceClient, done: Any, streamed: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Samples from the event stream up to the first for which done(sample) is true (all
    also added to `streamed`)."""
    seen = []
    async with asyncio.timeout(20):
        async for event in client.events():
            if event["kind"] == "sample":
                seen.append(event)
                streamed.append(event)
                if done(event):
                    return seen
    raise AssertionError("the event stream ended")


async def _kill(proc: asyncio.subprocess.Process) -> None:
    proc.kill()  # SIGKILL: the run stays unfinished in the journal
    await ended(proc)


async def test_killed_service_resumes_paused_then_from_its_last_setpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # on the simulators' own clock (the bundled plant pointed at them): an outage lasts as
    # long as the service takes to start again, as in the plant
    monkeypatch.setenv(SIM_URLS_ENV, str(tmp_path / "sim.json"))
    sim = SimPlant(load_plant_config(), speed=60.0, seed=7)
    await sim.start()
    procs: list[asyncio.subprocess.Process] = []
    streamed: list[dict[str, Any]] = []
    try:
        sim.write_urls(tmp_path / "sim.json")
        (tmp_path / "profiles").mkdir()
        (tmp_path / "profiles" / "svc-ramp.toml").write_text(RAMP)
        # 1. paused at ~40 °C by a client, killed a minute later
        procs.append(proc := await serve(tmp_path, sim_clock=True))
        async with await attach(tmp_path, proc) as client:
            await client.request("subscribe")
            run = (await client.request("start", job="svc-ramp", kiln="kiln2", lot="S3"))["run"]
            await _samples_until(client, lambda s: s["values"]["sp_c"] >= 40.0, streamed)
            await client.request("pause", run=run)
            await first(client, "state")
            paused = await _samples_until(client, lambda s: True, streamed)
            a_minute_on = paused[0]["t"] + 60
            held = (await _samples_until(client, lambda s: s["t"] >= a_minute_on, streamed))[-1]
        await _kill(proc)

        # 2. restarted: the run is back, paused at its held setpoint; resumed, it goes on
        procs.append(proc := await serve(tmp_path, sim_clock=True))
        async with await attach(tmp_path, proc) as client:
            await client.request("subscribe")
            (view,) = (await client.request("status"))["runs"]
            assert view["run_id"] == run and view["state"] == "paused"
            held_sp = held["values"]["sp_c"]
            still = await _samples_until(client, lambda s: s["t"] >= held["t"] + 30, streamed)
            assert {s["values"]["sp_c"] for s in still} == {held_sp}
            await client.request("resume", run=run)
            moving = await _samples_until(
                client, lambda s: s["values"]["sp_c"] > held_sp + 3, streamed
            )
            # on from the held setpoint at the ramp's rate (600 °C/h), sample by sample: no
            # jump to where the ramp would be after the outage. Bounded by the samples' own
            # times, not by a guess at how soon the resume lands (later on a loaded machine).
            sps = [(still[-1]["t"], held_sp)] + [(m["t"], m["values"]["sp_c"]) for m in moving]
            for (t0, sp0), (t1, sp1) in itertools.pairwise(sps):
                assert 0.0 <= sp1 - sp0 <= 600 / 3600 * (t1 - t0) + 0.01
        await _kill(proc)  # mid-ramp
        with Journal(tmp_path / "journal.sqlite") as journal:
            notices = [e.data["message"] for e in journal.events(run) if e.kind == "notice"]
            last = list(journal.samples(run))[-1]
        assert any(f"resumed paused at {held_sp:.1f} °C" in m for m in notices)

        # 3. restarted again: from the setpoint it last sent; nothing journaled was lost
        procs.append(proc := await serve(tmp_path, sim_clock=True))
        async with await attach(tmp_path, proc) as client:
            await client.request("subscribe")
            await _samples_until(client, lambda s: True, streamed)
            await client.request("abort", run=run)
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await ended(proc)
        assert proc.returncode == 0
        assert await heat_output("kiln2", sim.devices["kiln2"].url) == 0.0
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await sim.close()
    with Journal(tmp_path / "journal.sqlite") as journal:
        samples = list(journal.samples(run))
        assert journal.runs()[0].outcome == "aborted"
    assert [s.seq for s in samples] == list(range(1, len(samples) + 1))
    journaled = {(s.seq, s.t): s.values for s in samples}
    assert all(journaled.get((s["seq"], s["t"])) == s["values"] for s in streamed)  # none lost
    after = samples[last.seq]  # the first sample of the restarted service
    jump = after.values["sp_c"] - last.values["sp_c"]
    print(f"\nsetpoint after the service restarted - last before the kill: {jump:+.3f} °C")
    assert abs(jump) <= 5.0
async def _stuck_relay_found(
    tmp: Path, proc: asyncio.subprocess.Process
) -> tuple[ServiceClient, dict[str, Any]]:
    """A client subscribed to the service; kiln2's relay welded (the simulator's
    stuck_relay fault): the client and the first alarm the service raised."""
    client = await attach(tmp, proc)
    await client.request("subscribe")
    _sim_device(tmp).inject("stuck_relay")
    return client, await first(client, "alarm_raised")


async def test_service_watches_an_idle_kiln_and_latches_its_stuck_relay(tmp_path: Path) -> None:
    """Issue 6 item 3 across processes: with no run, a stuck relay on kiln2 (simulator
    process-side fault, Modbus TCP) raises a critical alarm in the service within seconds,
    shown by "status" until acknowledged; no run record is resumed from the watch's."""
    async with simulated_plant(tmp_path):
        proc = await serve(tmp_path)
        try:
            client, alarm = await _stuck_relay_found(tmp_path, proc)
            assert (alarm["code"], alarm["severity"], alarm["action"]) == (
                "stuck_relay", "critical", "cut_power",
            )  # fmt: skip
            notice = await first(client, "notice")
            assert "no contactor configured: cut the mains power to kiln kiln2" in notice["message"]
            (view,) = (await client.request("status"))["runs"]
            assert [a["alarm_id"] for a in view["alarms"]] == [alarm["alarm_id"]]
            await client.request("ack", alarm=alarm["alarm_id"], who="ann")
            acked = await first(client, "alarm_ack")
            assert acked["who"] == "ann"
            await client.close()
            await stopped(proc, timeout_s=60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


@pytest.mark.parametrize("stop", ["sigterm", "sigkill"])
async def test_a_latched_watch_alarm_outlives_a_restarted_service(
    tmp_path: Path, stop: str
) -> None:
    """A stuck relay on idle kiln2 (the simulator's stuck_relay fault, Modbus TCP), not
    acknowledged, then the service stopped (SIGTERM) or killed (kill -9) and started
    again. Before, the watch's record was finished and the alarm was gone after the
    restart; a run could start on the kiln. Now the new service shows it raised and not
    acknowledged, keeps the kiln safe (a run on it is refused, naming the alarm), and the
    alarm can be acknowledged there."""
    async with simulated_plant(tmp_path):
        proc = await serve(tmp_path)
        try:
            client, alarm = await _stuck_relay_found(tmp_path, proc)
            assert alarm["code"] == "stuck_relay"
            await client.close()
            if stop == "sigkill":
                await _kill(proc)
            else:
                await stopped(proc)
            proc = await serve(tmp_path)
            async with await attach(tmp_path, proc) as client:
                (view,) = (await client.request("status"))["runs"]
                assert [(a["alarm_id"], a["acked"]) for a in view["alarms"]] == [
                    (alarm["alarm_id"], False)
                ]
                with pytest.raises(RequestFailed, match="held safe by the plant watch's alarm"):
                    await client.request("start", job="svc-bake", kiln="kiln2", lot="S9")
                await client.request("ack", alarm=alarm["alarm_id"], who="ann")
                (view,) = (await client.request("status"))["runs"]
                assert [(a["alarm_id"], a["acked"]) for a in view["alarms"]] == [
                    (alarm["alarm_id"], True)
                ]
            proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                assert b"Traceback" not in await ended(proc)
        finally:
            if proc.returncode is None:
                proc.kill()
                await ended(proc)
