"""`kilnctl demo`: the plant config gets the simulators' URLs; a failing demo still stops
its simulators and service (no stray processes)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest
from child_output import drained

from kilnctl.cli.cmd_demo import ANSWER_AFTER_S, SPEED, demo_journal_path, kilnctl_argv
from kilnctl.engine.job import UNLOAD_MARGIN_MIN_S
from kilnctl.journal import Journal
from kilnctl.plant import EXAMPLE_PLANT, load_plant, resolve_plant
from kilnctl.sim_link import SIM_URLS_ENV


def test_the_bundled_plant_follows_the_running_simulators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's service finds its private simulators through $KILNCTL_SIM_URLS."""
    example = load_plant(EXAMPLE_PLANT)
    urls = {
        name: f"modbus-tcp://127.0.0.1:{5000 + i}?unit=1" for i, name in enumerate(example.devices)
    }
    urls_file = tmp_path / "urls.json"
    doc = {"pid": os.getpid(), "speed": 60, "control": "tcp://127.0.0.1:1",
           "devices": {name: {"url": url} for name, url in urls.items()}}  # fmt: skip
    urls_file.write_text(json.dumps(doc))
    monkeypatch.setenv(SIM_URLS_ENV, str(urls_file))
    plant, sim = resolve_plant(EXAMPLE_PLANT)
    assert sim is not None and sim.speed == 60
    assert {n: d.url for n, d in plant.devices.items()} == urls
    assert {n: d.driver for n, d in plant.devices.items()} == {
        n: d.driver for n, d in example.devices.items()
    }
    assert plant.kilns == example.kilns and plant.tanks == example.tanks
    # a stale file (its simulator gone) is ignored: the placeholders stay
    doc["pid"] = 2**22 + 12345
    urls_file.write_text(json.dumps(doc))
    plant, sim = resolve_plant(EXAMPLE_PLANT)
    assert sim is None and plant == example


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


async def test_failed_demo_stops_its_children(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        *kilnctl_argv("demo", "--headless", "--job", "no-such-job"),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    async with asyncio.timeout(50):
        _, stderr = await proc.communicate()
    assert proc.returncode == 2, stderr.decode()
    assert "the demo job did not start" in stderr.decode() and "no-such-job" in stderr.decode()
    assert b"Traceback" not in stderr
    assert _processes_mentioning(str(tmp_path)) == []
    # its children use the per-test runtime folder (socket, URLs file): none is left
    assert _processes_mentioning(os.environ["XDG_RUNTIME_DIR"]) == []


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited


async def test_hung_up_demo_stops_safe_then_service_then_simulators(tmp_path: Path) -> None:
    """The terminal goes away (SIGHUP): the demo aborts its run (devices safe), stops the
    service and then the simulators, keeps its journal; meanwhile both were reachable
    from another shell on the default socket and URLs file."""
    proc = drained(await asyncio.create_subprocess_exec(
        *kilnctl_argv("demo", "--headless"),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "TMPDIR": str(tmp_path)},
    ))  # fmt: skip
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(40):
            while b"started as" not in (line := await proc.stdout.readline()):
                assert line, (await proc.stderr.read()).decode()  # type: ignore[union-attr]
        run = line.decode().split("started as ")[1].split()[0]
        children = _children(proc.pid)
        assert len(children) == 2  # sim, serve
        for argv in (("status",), ("sim-ctl", "list")):
            other = await asyncio.create_subprocess_exec(
                *kilnctl_argv(*argv), stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await other.communicate()
            assert other.returncode == 0, err.decode()
            assert argv != ("status",) or run.encode() in out
        proc.send_signal(signal.SIGHUP)
        async with asyncio.timeout(40):
            out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert b"Traceback" not in err
    assert not any(_alive(pid) for pid in children)
    assert list(tmp_path.iterdir()) == []  # its temporary folder is gone
    journal_path = demo_journal_path()
    assert f"journal kept at {journal_path}" in err.decode()
    with Journal(journal_path) as journal:
        info = journal.run(run)
        reason = journal.finish_reasons()[run]
    # aborted by the demo while the simulators still answered: not "failed" on lost devices
    assert (info.outcome, reason) == ("aborted", "demo stopped (demo)")


def test_the_demo_answers_inside_the_unload_window() -> None:
    """Answering slower than the unload window raised 'unload now (over-firing)' alarms."""
    assert ANSWER_AFTER_S * SPEED < UNLOAD_MARGIN_MIN_S
