"""Issue 10 §1 across processes: `kilnctl serve` reads an idle tank's bath heater (a
simulated Eurotherm 3216 on a pseudo-terminal RS-485 line, Modbus RTU) through its plant
watch, and `kilnctl status`, a third process, prints the bath temperature and the heater's
SP on the tank's line."""

from __future__ import annotations

import asyncio
from pathlib import Path

from test_svc_serve_cli import attach, ended, serve, stopped

from kilnctl.cli.cmd_demo import kilnctl_argv
from simulators.plant import Plant as SimPlant
from simulators.plant_config import load_plant_config

PLANT = """
sample_period = "1 s"
[devices.nickel_heater]
driver = "eurotherm3216"
url = "{heater}"
[devices.nickel_rectifier]
driver = "generic_rectifier"
url = "{rectifier}"
[tanks.nickel]
rectifier = "nickel_rectifier"
heater = "nickel_heater"
max_current = "50 A"
bath_temp = ["55 C", "60 C"]
"""


async def _status_text(tmp: Path) -> str:
    proc = await asyncio.create_subprocess_exec(
        *kilnctl_argv("status", "--socket", str(tmp / "s.sock")),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_kilnctl_status_shows_an_idle_tanks_bath_from_its_heater(tmp_path: Path) -> None:
    # Before: the watch read no bath heater; an idle tank's line had no bath at all.
    sim = SimPlant(load_plant_config(), speed=60.0, seed=5)
    await sim.start()
    try:
        heater_url = sim.devices["nickel_heater"].url
        assert heater_url.startswith("modbus-rtu://")  # a real pseudo-terminal line
        (tmp_path / "kilnctl.toml").write_text(
            PLANT.format(heater=heater_url, rectifier=sim.devices["nickel_rectifier"].url)
        )
        proc = await serve(tmp_path)
        try:
            client = await attach(tmp_path, proc)
            async with asyncio.timeout(20):
                while True:
                    (row,) = (await client.request("status"))["devices"]
                    if "bath_c" in row["bath"]:
                        break
                    await asyncio.sleep(0.05)  # waiting for the service's first read
            await client.close()
            # default_plant.toml: the nickel bath is kept at 57 °C, inside 55-60 °C
            assert row["state"] == "idle" and abs(row["bath"]["bath_c"] - 57.0) < 2.0
            assert isinstance(row["bath"]["sp_c"], float) and row["bath"]["band"] == [55.0, 60.0]
            line = next(ln for ln in (await _status_text(tmp_path)).splitlines() if "nickel" in ln)
            assert "bath 5" in line and "(SP " in line and "idle" in line, line
            assert "LOW" not in line and "HIGH" not in line and "old)" not in line, line
            await stopped(proc)
        finally:
            if proc.returncode is None:
                proc.kill()
                await ended(proc)
    finally:
        await sim.close()
