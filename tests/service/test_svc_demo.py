"""`kilnctl demo`: the plant config gets the simulators' URLs; a failing demo still stops
its simulators and service (no stray processes)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from kilnctl.cli.cmd_demo import kilnctl_argv, plant_with_urls
from kilnctl.plant import EXAMPLE_PLANT, Plant
from kilnctl.recipes.loader import parse_toml


def test_plant_config_gets_the_simulator_urls() -> None:
    text = EXAMPLE_PLANT.read_text(encoding="utf-8")
    plant = Plant.model_validate(parse_toml(text, EXAMPLE_PLANT))
    urls = {
        name: f"modbus-tcp://127.0.0.1:{5000 + i}?unit=1" for i, name in enumerate(plant.devices)
    }
    urls["not_in_config"] = "serial:///dev/null"
    patched = Plant.model_validate(parse_toml(plant_with_urls(text, urls), EXAMPLE_PLANT))
    assert {n: d.url for n, d in patched.devices.items()} == {n: urls[n] for n in plant.devices}
    assert {n: d.driver for n, d in patched.devices.items()} == {
        n: d.driver for n, d in plant.devices.items()
    }
    assert patched.kilns == plant.kilns and patched.tanks == plant.tanks


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
