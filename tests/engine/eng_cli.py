"""`kilnctl` as a user runs it, for the engine's CLI tests: a subprocess (JSON-line events
on stdout, answers on stdin) and the simulated kiln's heat output read over its wire."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from drivers.registry import open_device


async def kilnctl(tmp: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kilnctl.cli.main", *args,
        cwd=tmp, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )  # fmt: skip


async def events(proc: asyncio.subprocess.Process) -> AsyncIterator[dict[str, Any]]:
    assert proc.stdout is not None
    async for line in proc.stdout:
        if line.startswith(b"{"):
            yield json.loads(line)


async def answer(proc: asyncio.subprocess.Process, text: str) -> None:
    """Type a line at the process's terminal questions."""
    assert proc.stdin is not None
    proc.stdin.write(text.encode() + b"\n")
    await proc.stdin.drain()


async def heat_output(name: str, url: str) -> float:
    """Heat output once the controller has acted on its last setpoint (it answers a new
    setpoint at its next control update, one simulated second later)."""
    kiln = open_device(name, "omron_e5cc", url)
    try:
        reading = await kiln.read()  # type: ignore[union-attr]
        async with asyncio.timeout(5):
            while reading.output_pct > 0 and reading.sp_c <= 0:
                await asyncio.sleep(0.02)
                reading = await kiln.read()  # type: ignore[union-attr]
        return float(reading.output_pct)
    finally:
        await kiln.close()
