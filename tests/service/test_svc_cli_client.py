"""The command line as a client of a real `kilnctl serve` process on the simulated plant
(issue 8, items 3-5): status, start, pause, resume, extend, abort from a shell; `kilnctl run`
hands the job to the service; the journal is found from another folder; the run is marked
simulated, its report opens with outcome and reason, and QC that does not apply is refused.

Every command is a real `kilnctl` subprocess; the service is another, on the socket and
journal the per-test XDG directories give it (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path

import pytest
from child_output import drained
from test_svc_serve_cli import simulated_plant

from kilnctl.cli.cmd_demo import kilnctl_argv
from kilnctl.journal_location import default_journal_path
from kilnctl.service.client import ServiceClient, ServiceUnavailable
from kilnctl.service.protocol import default_socket_path


async def cli(cwd: Path, *args: str) -> tuple[int, str, str]:
    """Run `kilnctl ARGS` to its end: (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *kilnctl_argv(*args), cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(30):
        out, err = await proc.communicate()
    assert b"Traceback" not in err, err.decode()
    return int(proc.returncode or 0), out.decode(), err.decode()


async def wait_for_service(proc: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(20):
        while True:
            assert proc.returncode is None, "the service died"
            try:
                client = await ServiceClient.connect(default_socket_path(), timeout_s=1)
            except ServiceUnavailable:
                await asyncio.sleep(0.05)  # polling for the child to bind; no time passes
                continue
            await client.close()
            return


async def status(cwd: Path) -> dict:  # type: ignore[type-arg]
    code, out, err = await cli(cwd, "status", "--json")
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


async def test_a_shell_does_what_the_tui_does(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    async with simulated_plant(tmp_path):
        # no --socket, no --journal: the defaults every other command finds too
        serve = drained(await asyncio.create_subprocess_exec(
            *kilnctl_argv("serve", "--speed", "60"), cwd=tmp_path,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        ))  # fmt: skip
        try:
            await wait_for_service(serve)
            code, out, _ = await cli(elsewhere, "status")
            assert code == 0 and "no active runs" in out and "simulated time x60" in out
            assert f"journal: {default_journal_path()}" in out

            before = time.time()
            code, out, err = await cli(elsewhere, "start", "svc-bake", "--lot", "L1",
                                       "--kiln", "kiln2", "--who", "ana")  # fmt: skip
            assert code == 0, err
            run = re.search(r"started run (\S+):", out).group(1)  # type: ignore[union-attr]
            # simulated time: the id carries the real time it started, and says "sim"
            stamp, marker = run.split("-")[:2], run.split("-")[2]
            started = time.mktime(time.strptime("-".join(stamp), "%Y%m%d-%H%M%S"))
            assert marker == "sim" and abs(started - time.timezone - before) < 5

            async with asyncio.timeout(20):
                while not (snap := await status(elsewhere))["runs"][0]["samples"]:
                    pass
            (view,) = snap["runs"]
            assert (view["run_id"], view["lot"], view["state"]) == (run, "L1", "running")
            code, out, _ = await cli(elsewhere, "status")
            assert f"run {run}" in out and "svc-bake  lot L1  [RUNNING]" in out
            assert re.search(r"kiln2: PV +[\d.]+ °C +SP", out), out

            code, out, err = await cli(elsewhere, "pause", "--run", run[:20])
            assert code == 0 and f"paused: run {run}" in out, err
            assert (await status(elsewhere))["runs"][0]["state"] == "paused"
            code, out, err = await cli(elsewhere, "resume")  # the service's paused run
            assert code == 0 and f"resumed: run {run} (in the service)" in out, err
            assert (await status(elsewhere))["runs"][0]["state"] != "paused"
            code, out, err = await cli(elsewhere, "extend", "600")
            assert code == 0 and "hold extended by 600 s" in out, err
            code, _, err = await cli(elsewhere, "ack", "no-such-alarm")
            assert code == 2 and err.count("\n") == 1 and "no-such-alarm" in err

            # `kilnctl run` does not fight the service for the devices
            code, _, err = await cli(elsewhere, "run", "svc-bake", "--lot", "L2", "--kiln",
                                     "kiln2")  # fmt: skip
            assert code == 2 and "kilnctl start svc-bake --lot L2 --kiln kiln2" in err

            code, out, err = await cli(elsewhere, "abort", "--reason", "test over", "--who", "ana")
            assert code == 0, err
            async with asyncio.timeout(20):
                while (await status(elsewhere))["runs"]:
                    pass
        finally:
            if serve.returncode is None:
                serve.terminate()
            async with asyncio.timeout(30):
                await serve.wait()

    # the journal, found from another folder, tells what happened and why
    code, out, _ = await cli(elsewhere, "runs")
    assert out.splitlines()[0] == f"journal: {default_journal_path()}"
    row = next(line for line in out.splitlines() if line.startswith(run))
    assert "(sim)" in row and "aborted" in row and "test over (ana)" in row
    code, out, _ = await cli(elsewhere, "runs", "--json")
    (data,) = [json.loads(line) for line in out.splitlines()]
    assert (data["state"], data["reason"]) == ("aborted", "test over (ana)")
    assert data["simulated"] == "simulated time x60"

    code, out, _ = await cli(elsewhere, "report", "last")
    head = out.splitlines()[:6]
    assert head[2] == "**Outcome: aborted: test over (ana)**"
    assert head[4].startswith("**Simulated run** (simulated time x60)")

    # QC: a plating thickness does not apply to a firing-only run
    qc = ("qc", "last", "--adhesion", "pass", "--visual-defects", "0", "--sample-size", "10")
    code, _, err = await cli(elsewhere, *qc, "--thickness-um", "5.0,5.1")
    assert code == 2 and "had no plating step" in err
    code, out, err = await cli(elsewhere, *qc)
    assert code == 0, err
    code, out, _ = await cli(elsewhere, "report", "last", "--format", "json")
    (entry,) = json.loads(out)["qc"]
    record = json.loads(out)["run"]
    assert entry["t"] >= record["finished_at"]  # never before the run's end
    code, out, _ = await cli(elsewhere, "report", "last")
    qc_line = next(line for line in out.splitlines() if "(real time)" in line)
    assert "+-" not in qc_line and "pass" in qc_line
    assert os.environ["XDG_STATE_HOME"] in str(default_journal_path())


async def test_run_on_a_terminal_offers_the_service(tmp_path: Path) -> None:
    """`kilnctl run` while the service runs asks to hand the job over: Enter starts it in
    the service; "n" starts nothing and names the command to use."""
    from svc_plant import running_service

    from kilnctl.cli.cmd_control import hand_to_service
    from kilnctl.cli.main import UserError

    asked: list[str] = []

    def no(question: str) -> str:
        asked.append(question)
        return "n"

    async with running_service(tmp_path, socket=default_socket_path()) as h:
        with pytest.raises(UserError, match="kilnctl start pins --lot T9"):
            await asyncio.to_thread(hand_to_service, "pins", "T9", None, no)
        assert asked == ["Hand the job to the service instead? [Y/n] "] and not h.engine.runs
        code = await asyncio.to_thread(hand_to_service, "pins", "T9", None, lambda q: "")
        assert code == 0
        (handle,) = h.engine.runs.values()
        assert handle.job_name == "pins"
    # no service: None, the job runs in this process as before
    assert await asyncio.to_thread(hand_to_service, "pins", "T9", None, no) is None
