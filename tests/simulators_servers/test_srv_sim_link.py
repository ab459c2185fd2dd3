"""One simulated plant per URLs file, across real processes: a second `kilnctl sim` on the
same file is refused naming the first (which keeps its file and its place); a second one on
its own file runs beside it, and each command finds the plant its URLs file names."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from child_output import drained
from test_srv_devices import read_listing

from kilnctl.sim_link import SIM_URLS_ENV, running_sim


async def _sim(urls: Path) -> asyncio.subprocess.Process:
    return drained(await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kilnctl.cli.main", "sim", "--urls", str(urls), "--speed", "60",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    ))  # fmt: skip


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            await proc.communicate()


async def test_a_second_sim_on_the_same_urls_file_is_refused_naming_the_first(
    tmp_path: Path,
) -> None:
    urls, other = tmp_path / "urls.json", tmp_path / "other.json"
    first = await _sim(urls)
    second = third = None
    try:
        assert first.stdout is not None
        await read_listing(first.stdout)
        second = await _sim(urls)
        async with asyncio.timeout(20):
            _, err = await second.communicate()
        assert second.returncode == 2, err.decode()
        assert err.decode().strip().endswith(
            f"a simulated plant already runs with the URLs file {urls} (pid {first.pid}, "
            f"control port {running_sim(urls).control}): stop it first, or give this one "  # type: ignore[union-attr]
            f"its own file (--urls OTHER.json) and point the other commands at it with "
            f"{SIM_URLS_ENV}=OTHER.json"
        ), err.decode()
        sim = running_sim(urls)  # the first keeps its file: commands still find it
        assert sim is not None and sim.pid == first.pid

        third = await _sim(other)  # its own file: both run
        assert third.stdout is not None
        await read_listing(third.stdout)
        beside = running_sim(other)
        assert beside is not None and beside.pid == third.pid and beside.urls != sim.urls
        await _stop(third)
        assert not other.exists() and running_sim(urls) == sim  # the first's is untouched
    finally:
        for proc in (third, second, first):
            if proc is not None:
                await _stop(proc)
    assert not urls.exists()
