"""`kilnctl safe` and the service's keeper, across real processes: `kilnctl serve` drives
kiln2 (an Omron E5CC of the simulated plant over Modbus TCP, x60); its line goes dead
mid-firing. `kilnctl safe kiln2` asks the service, which aborts the run and reports kiln2
NOT confirmed (exit 1); the service holds it as unsafe in "status" and keeps retrying, and
on SIGTERM does not stop while kiln2 may be heating. The line comes back: the service
confirms kiln2 safe by itself and only then exits. `kilnctl safe` without a service then
opens the device itself and prints the state read back."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from child_output import drained
from eng_cli import heat_output
from test_svc_serve_cli import PROFILE, attach, first

from kilnctl.cli.cmd_demo import kilnctl_argv
from kilnctl.service.runview import RunBook
from simulators.plant import Plant as SimPlant
from simulators.plant_config import load_plant_config

PLANT = """
sample_period = "1 s"
[devices.kiln2]
driver = "omron_e5cc"
url = "{url}&timeout=0.2&retries=0"
[kilns.kiln2]
controller = "kiln2"
max_temp = "1000 C"
"""


@asynccontextmanager
async def simulated_kiln2(tmp: Path) -> AsyncIterator[SimPlant]:
    sim = SimPlant(load_plant_config(), speed=60.0, seed=6)
    await sim.start()
    try:
        (tmp / "profiles").mkdir()
        (tmp / "profiles" / "svc-bake.toml").write_text(PROFILE)
        (tmp / "kilnctl.toml").write_text(PLANT.format(url=sim.devices["kiln2"].url))
        yield sim
    finally:
        await sim.close()


def env(tmp: Path) -> dict[str, str]:
    # XDG_RUNTIME_DIR: `kilnctl safe` must not find a developer's own service
    return {**os.environ, "PYTHONWARNINGS": "error", "XDG_RUNTIME_DIR": str(tmp)}


async def kilnctl(tmp: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *kilnctl_argv(*args), cwd=tmp, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env(tmp),
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_service_keeps_at_it_and_kilnctl_safe_reports_the_read_back(
    tmp_path: Path,
) -> None:
    async with simulated_kiln2(tmp_path) as sim:
        kiln2 = sim.devices["kiln2"]
        socket = str(tmp_path / "s.sock")
        service = drained(await asyncio.create_subprocess_exec(
            *kilnctl_argv("serve", "--socket", socket, "--speed", "60"),
            cwd=tmp_path, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env(tmp_path),
        ))  # fmt: skip
        try:
            async with asyncio.timeout(45):
                client = await attach(tmp_path, service)
                await client.request("subscribe")
                await client.request("start", job="svc-bake", kiln="kiln2", lot="S1")
                await first(client, "sample")
                kiln2.wire.no_response = True

                code, out, _ = await kilnctl(tmp_path, "safe", "kiln2", "--socket", socket)
                assert code == 1
                assert out.startswith("kiln2: NOT confirmed safe: kiln2 (modbus-tcp://")
                # ended by the request, or by comms loss first (60 s simulated is 1 s)
                finished = await first(client, "run_finished")
                assert finished["outcome"] in ("aborted", "failed")
                status = await client.request("status")
                assert list(status["unsafe"]) == ["kiln2"] and status["runs"] == []
                assert kiln2.model.sp_c == 150.0  # type: ignore[attr-defined]  # heating

                await client.close()
                service.send_signal(signal.SIGTERM)
                assert service.stderr is not None
                while b"not stopping: kiln2 not confirmed safe" not in (
                    line := await service.stderr.readline()
                ):
                    assert line, "the service exited with kiln2 unconfirmed"
                kiln2.wire.clear()  # the service confirms kiln2 by itself, then stops
                rest = await service.stderr.read()
                assert await service.wait() == 0
            assert b"kiln2 confirmed safe after" in rest and b"LEFT UNSAFE" not in rest
            assert kiln2.model.sp_c == 0.0  # type: ignore[attr-defined]
            assert await heat_output("kiln2", kiln2.url) == 0.0
        finally:
            if service.returncode is None:
                service.kill()
                await service.wait()

        # no service now: kilnctl safe opens kiln2 itself and reads the state back
        code, out, _ = await kilnctl(tmp_path, "safe", "kiln2", "--json")
        assert code == 0
        report = json.loads(out)
        assert report["device"] == "kiln2" and report["confirmed"] is True
        assert (report["sp_c"], report["output_pct"]) == (0.0, 0.0)


def test_an_unsafe_device_of_an_ended_run_or_of_none_makes_no_ghost_run() -> None:
    book = RunBook()
    for run_id in ("", "run-forgotten"):  # made safe on demand; a run no longer kept
        book.apply(
            {"kind": "alarm_raised", "run_id": run_id, "t": 0.0, "alarm_id": "k:unsafe_device",
             "source": "k", "code": "unsafe_device", "severity": "critical", "action": "abort",
             "message": "k: safe state not confirmed"}
        )  # fmt: skip
    assert book.active() == [] and book.views == {}
