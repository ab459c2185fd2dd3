"""`kilnctl demo`: the plant config gets the simulators' URLs; a failing demo still stops
its simulators and service (no stray processes)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from kilnctl.cli.cmd_demo import kilnctl_argv
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
