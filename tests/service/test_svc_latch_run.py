"""A latched plant-watch alarm holds its kiln also against `kilnctl run`, not only against
the service that raised it: a stuck relay found by `kilnctl serve`, not acknowledged, the
service stopped; a `kilnctl run` on the kiln must be refused before any write (before,
it streamed 150 °C to the kiln whose power the alarm had asked to cut)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from test_svc_serve_cli import (
    _sim_device,
    _stuck_relay_found,
    attach,
    first,
    serving,
    simulated_plant,
)

from drivers.registry import open_device
from kilnctl.cli.cmd_demo import kilnctl_argv


async def _kiln2_sp(url: str) -> float:
    """kiln2's setpoint read back from the simulated Omron E5CC over Modbus TCP."""
    kiln = open_device("kiln2", "omron_e5cc", url)
    try:
        return float((await kiln.read()).sp_c)  # type: ignore[union-attr]
    finally:
        await kiln.close()


async def test_kilnctl_run_is_refused_on_a_kiln_held_by_a_latched_watch_alarm(
    tmp_path: Path,
) -> None:
    async with simulated_plant(tmp_path) as url:
        async with serving(tmp_path) as proc:
            client, alarm = await _stuck_relay_found(tmp_path, proc)
            assert alarm["code"] == "stuck_relay"
            await client.close()
        _sim_device(tmp_path).clear()  # relay repaired; nobody has acknowledged the alarm
        sp_before = await _kiln2_sp(url)
        run = await asyncio.create_subprocess_exec(
            *kilnctl_argv("run", "svc-bake", "--kiln", "kiln2", "--lot", "S7",
                          "--speed", "60", "--journal", str(tmp_path / "journal.sqlite")),
            cwd=tmp_path, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )  # fmt: skip
        try:
            out, err = await asyncio.wait_for(run.communicate(), 15)
        except TimeoutError:  # the old behaviour: the run went on heating the held kiln
            sp_during = await _kiln2_sp(url)
            run.kill()
            await run.wait()
            raise AssertionError(f"kilnctl run started on kiln2: SP {sp_during} °C") from None
        text = (out + err).decode()
        assert run.returncode == 2, text
        assert "Traceback" not in text
        assert f"held safe by the plant watch's alarm {alarm['alarm_id']}" in text
        assert "not acknowledged" in text and "kilnctl serve" in text
        assert await _kiln2_sp(url) == sp_before  # nothing written to the kiln


async def test_the_plant_watch_is_no_candidate_for_a_command_without_a_run_id(
    tmp_path: Path,
) -> None:
    """Once the plant watch has raised an alarm, its record is in the service's run book
    for the rest of the service's life. Before, `kilnctl pause` / `abort` with one real
    run active then failed: "several runs active (WATCH_ID, RUN_ID): give run" — an
    abort refused in the moment it is wanted. The watch is no run: only `ack` finds it."""
    async with simulated_plant(tmp_path) as url, serving(tmp_path) as proc:
        client, alarm = await _stuck_relay_found(tmp_path, proc)
        _sim_device(tmp_path).clear()
        await client.request("ack", alarm=alarm["alarm_id"], who="ann")  # no run id
        await first(client, "alarm_cleared")  # the PV stopped rising: a run may start
        await client.request("start", job="svc-bake", kiln="kiln2", lot="S8")
        paused = await client.request("pause")  # no run id: the only run
        assert paused is not None
        await client.request("abort", reason="drill")
        await first(client, "run_finished")
        assert await _kiln2_sp(url) <= 0.0  # heat off, read back
        await client.close()


async def _kilnctl_run(tmp: Path, lot: str, timeout_s: float) -> tuple[int | None, str]:
    """`kilnctl run svc-bake --kiln kiln2` at 60x: its exit code (None: still running at
    `timeout_s`, then killed) and everything it printed."""
    run = await asyncio.create_subprocess_exec(
        *kilnctl_argv("run", "svc-bake", "--kiln", "kiln2", "--lot", lot,
                      "--speed", "60", "--journal", str(tmp / "journal.sqlite")),
        cwd=tmp, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )  # fmt: skip
    assert run.stdout is not None
    printed = bytearray()

    async def read() -> None:
        assert run.stdout is not None
        while chunk := await run.stdout.read(65536):
            printed.extend(chunk)

    reader = asyncio.get_running_loop().create_task(read())
    try:
        await asyncio.wait_for(run.wait(), timeout_s)
    except TimeoutError:
        run.kill()
        await run.wait()
        await reader
        return None, printed.decode()
    await reader
    return run.returncode, printed.decode()


async def test_a_stuck_relay_found_by_kilnctl_run_holds_the_kiln_after_it_exits(
    tmp_path: Path,
) -> None:
    """`kilnctl run` (no service) holding kiln2 at 150 °C finds its relay welded: it cuts
    the power (tells the operator) and aborts. Before, the process exited and the alarm
    went with it: the next `kilnctl run` on kiln2 started at once, and a `kilnctl serve`
    started later knew nothing of it. Now the alarm stays in force in a plant-watch
    record: the next run is refused before any write, and the service raises it again
    (not acknowledged) and takes the acknowledgement."""
    async with simulated_plant(tmp_path) as url:
        run = await asyncio.create_subprocess_exec(
            *kilnctl_argv("run", "svc-bake", "--kiln", "kiln2", "--lot", "S10", "--json",
                          "--speed", "60", "--journal", str(tmp_path / "journal.sqlite")),
            cwd=tmp_path, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )  # fmt: skip
        assert run.stdout is not None
        try:
            async with asyncio.timeout(40):
                async for line in run.stdout:  # holding at 150 °C: weld the relay
                    if b'"kind": "segment"' in line and b'"hold"' in line:
                        _sim_device(tmp_path).inject("stuck_relay")
                await run.wait()
        finally:
            if run.returncode is None:
                run.kill()
                await run.wait()
        _sim_device(tmp_path).clear()  # relay replaced; nobody acknowledged the alarm
        sp_before = await _kiln2_sp(url)
        code, printed = await _kilnctl_run(tmp_path, "S11", 15)
        assert code == 2, printed
        assert "held safe by the plant watch's alarm kiln2:stuck_relay" in printed
        assert await _kiln2_sp(url) == sp_before  # nothing written to the kiln
        async with serving(tmp_path) as proc:
            client = await attach(tmp_path, proc)
            (view,) = (await client.request("status"))["runs"]
            assert [(a["alarm_id"], a["acked"]) for a in view["alarms"]] == [
                ("kiln2:stuck_relay", False)
            ]
            await client.request("ack", alarm="kiln2:stuck_relay", who="ann")
            await client.close()
