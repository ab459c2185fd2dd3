"""Helpers for the cross-process claim tests: the simulated plant on real sockets and
ptys, a plant config pointing at it, and `kilnctl` subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from child_output import drained

from simulators.plant import Plant as SimPlant
from simulators.plant_config import load_plant_config

PROFILE = """kind = "firing"
name = "hold-{target}"
max_temp = "900 C"
[[segments]]
rate = "max"
target = "{target} C"
hold = "2 h"
"""


@asynccontextmanager
async def simulated_plant(tmp: Path) -> AsyncIterator[dict[str, str]]:
    """The bundled simulated plant at x60 (device name -> URL); profiles hold-790 and
    hold-795 in tmp/profiles."""
    sim = SimPlant(load_plant_config(), speed=60.0, seed=11)
    await sim.start()
    try:
        (tmp / "profiles").mkdir()
        for target in (790, 795):
            (tmp / "profiles" / f"hold-{target}.toml").write_text(PROFILE.format(target=target))
        yield {name: dev.url for name, dev in sim.devices.items()}
    finally:
        await sim.close()


def write_config(tmp: Path, devices: dict[str, tuple[str, str]], kilns: Iterable[str]) -> Path:
    """kilnctl.toml in tmp: devices name -> (driver, url); each kiln uses its namesake."""
    lines = [f'journal = "{tmp / "journal.sqlite"}"']
    for name, (driver, url) in devices.items():
        lines += [f"[devices.{name}]", f'driver = "{driver}"', f'url = "{url}"']
    for kiln in kilns:
        lines += [f"[kilns.{kiln}]", f'controller = "{kiln}"', 'max_temp = "1000 C"']
    path = tmp / "kilnctl.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def kilnctl(tmp: Path, *args: str) -> asyncio.subprocess.Process:
    """`kilnctl ARGS` in tmp (its kilnctl.toml), stdout and stderr piped and read all
    along (child_output)."""
    return drained(await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kilnctl.cli.main", *args,
        cwd=tmp, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONWARNINGS": "error"},
    ))  # fmt: skip


@dataclass
class Done:
    returncode: int
    out: str
    err: str

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines() if line.startswith("{")]


async def finish(proc: asyncio.subprocess.Process, timeout_s: float = 30) -> Done:
    """Wait for a process to end (bounded); its exit code and output."""
    async with asyncio.timeout(timeout_s):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return Done(proc.returncode, out.decode(), err.decode())


async def next_event(proc: asyncio.subprocess.Process, kind: str) -> dict[str, Any]:
    """The next JSON-line event of `kind` on a `kilnctl run --json` stdout."""
    assert proc.stdout is not None
    async with asyncio.timeout(30):
        async for line in proc.stdout:
            if line.startswith(b"{"):
                event = json.loads(line)
                if event["kind"] == kind:
                    return dict(event)
    raise AssertionError(f"the run ended before a {kind} event")


async def stop(proc: asyncio.subprocess.Process) -> None:
    """Kill a process still running at the end of a test."""
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
