"""One owner per device across real processes, against the simulated plant over real
sockets and ptys: a second `kilnctl run`/`resume`/`tune`/`serve` on a kiln another
process drives is refused at once with the holder named, and nothing it could write
reaches the kiln; while `kilnctl serve` holds an RS-485 line, `run` is refused and
`read`/`devices` answer through the service; kill -9 of the holder frees the claim at once.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from eng_procs import finish, kilnctl, next_event, simulated_plant, stop, write_config

from drivers.registry import open_device
from kilnctl.journal import Journal
from kilnctl.service.client import ServiceClient, ServiceUnavailable

SPEED = ("--speed", "60")


async def setpoint_c(url: str) -> float:
    """The kiln's working setpoint, read back from its controller."""
    kiln = open_device("kiln2", "omron_e5cc", url)
    try:
        return float((await kiln.read()).sp_c)  # type: ignore[union-attr]
    finally:
        await kiln.close()


async def test_second_process_on_a_kiln_is_refused_and_kill_9_frees_it(tmp_path: Path) -> None:
    async with simulated_plant(tmp_path) as urls:
        url = urls["kiln2"]  # the Omron E5CC over Modbus TCP
        spare = url.replace("127.0.0.1", "localhost")  # one controller, two config names
        write_config(
            tmp_path,
            {"kiln2": ("omron_e5cc", url), "kiln2_spare": ("omron_e5cc", spare)},
            ["kiln2", "kiln2_spare"],
        )
        first = await kilnctl(tmp_path, "run", "hold-790", "--kiln", "kiln2", "--lot", "A",
                              "--json", *SPEED)  # fmt: skip
        later = None
        try:
            run_a = (await next_event(first, "run_started"))["run_id"]
            await next_event(first, "sample")
            assert await setpoint_c(url) == 790.0
            others = [
                await kilnctl(tmp_path, "run", "hold-795", "--kiln", "kiln2_spare", "--lot", "B",
                              "--json", *SPEED),
                await kilnctl(tmp_path, "resume", run_a, "--json", *SPEED),
                await kilnctl(tmp_path, "tune", "kiln2", "--setpoint", "795", *SPEED),
                await kilnctl(tmp_path, "serve", "--socket", str(tmp_path / "s.sock"), *SPEED),
            ]  # fmt: skip
            holder = f"is held by kilnctl run (pid {first.pid}, run {run_a}, since "
            for done in await asyncio.gather(*(finish(p, 20) for p in others)):
                assert done.returncode == 2, done.err
                assert holder in done.err, done.err
                assert "Traceback" not in done.err
                assert not any(e["kind"] == "run_started" for e in done.events())
            # nothing of theirs reached the kiln, and the journal still has A's run going
            assert await setpoint_c(url) == 790.0
            with Journal(tmp_path / "journal.sqlite") as journal:
                assert [r.run_id for r in journal.unfinished_runs()] == [run_a]
                assert len(journal.runs()) == 1

            first.kill()  # kill -9: the kernel drops the claim with the process
            await first.wait()
            later = await kilnctl(tmp_path, "run", "hold-795", "--kiln", "kiln2_spare",
                                  "--lot", "C", "--json", *SPEED)  # fmt: skip
            await next_event(later, "sample")  # claimed at once, no stale lock to clear
            assert await setpoint_c(url) == 795.0
            later.send_signal(signal.SIGTERM)
            done = await finish(later)
            assert done.returncode == 1
            assert [e["outcome"] for e in done.events() if e["kind"] == "run_finished"] == [
                "aborted"
            ]
        finally:
            await stop(first)
            if later is not None:
                await stop(later)


async def attach(sock: Path, proc: object) -> ServiceClient:
    async with asyncio.timeout(20):
        while True:
            assert getattr(proc, "returncode", None) is None, "the service died"
            try:
                return await ServiceClient.connect(sock, timeout_s=1)
            except ServiceUnavailable:
                await asyncio.sleep(0.05)  # polling for the child to bind; no time passes


async def test_run_is_refused_and_read_goes_through_the_service_holding_the_line(
    tmp_path: Path,
) -> None:
    async with simulated_plant(tmp_path) as urls:
        # two Eurotherm 3216 on one RS-485 line (one pty), units 1 and 2
        write_config(
            tmp_path,
            {
                "kiln1": ("eurotherm3216", urls["kiln1"]),
                "nickel_heater": ("eurotherm3216", urls["nickel_heater"]),
            },
            ["kiln1"],
        )
        sock = tmp_path / "s.sock"
        service = await kilnctl(tmp_path, "serve", "--socket", str(sock), *SPEED)
        try:
            await (await attach(sock, service)).close()
            run, read, devices = await asyncio.gather(
                finish(await kilnctl(tmp_path, "run", "hold-790", "--kiln", "kiln1",
                                     "--lot", "A", *SPEED), 20),
                finish(await kilnctl(tmp_path, "read", "nickel_heater"), 20),
                finish(await kilnctl(tmp_path, "devices"), 20),
            )  # fmt: skip
            via = f"(via kilnctl serve, pid {service.pid})"
            assert run.returncode == 2, run.err
            assert f"kiln1 (serial line {urls['kiln1'].split('?')[0][len('modbus-rtu://'):]}) "\
                   f"is held by kilnctl serve (pid {service.pid}, since " in run.err, run.err
            assert "through that service" in run.err
            assert "comms" not in run.out + run.err and "could not make" not in run.out
            assert read.returncode == 0, read.err
            assert read.out.startswith("nickel_heater: pv ") and via in read.out
            assert devices.returncode == 0, devices.out
            assert devices.out.count(via) == 2, devices.out
            for word in ("disconnected", "no response", "bad frame"):
                assert word not in devices.out

            service.kill()  # kill -9 of the holder: the line is free at once
            await service.wait()
            direct = await finish(await kilnctl(tmp_path, "read", "kiln1"), 20)
            assert direct.returncode == 0, direct.err
            assert direct.out.startswith("kiln1: pv ") and "via" not in direct.out
        finally:
            await stop(service)
