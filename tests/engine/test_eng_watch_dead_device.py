"""One dead device never stops the plant watch of the others.

The breaker's incident: a run fails when kiln1 stops answering (`sim-fault kiln1
no_response`); the safe-keeper retries kiln1's heat-off, as it must. The watch read every
idle device in one loop, so each period it waited on the dead kiln1 (its read costs the
line's time-outs, and on RS-485 it also waited behind the keeper's retries: see
tests/drivers/test_drv_late_reply.py): kiln2, on its own Modbus TCP line, was read once
every ~36 s of service time instead of every period, so no stuck-relay or over-temperature
check for it either. Here: simulated Eurotherm 3216s behind real TCP sockets (one line
each), the real driver, the engine and its keeper on a scaled clock.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from eng_models import plant

from drivers.registry import open_device
from kilnctl.clock import ScaledClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.safekeeper import SAFE_ATTEMPTS
from simulators.devices import build
from simulators.servers.modbus_tcp import ModbusTcpServer

SPEED = 60.0
PERIOD_S = 1.0  # EngineSettings.period_s: the watch period


@asynccontextmanager
async def two_kilns() -> AsyncIterator[tuple[ScaledClock, Engine, dict[str, object]]]:
    """kiln1 and kiln2, each a simulated 3216 on its own TCP server (line); 0.3 s time-out,
    1 retry (the driver's default): a read of a dead unit costs 0.6 s real, 36 s here."""
    clock = ScaledClock(SPEED)
    sims, servers, devices = {}, [], {}
    try:
        for name in ("kiln1", "kiln2"):
            sims[name] = build("eurotherm3216", unit=1, time_fn=clock.now)
            server = ModbusTcpServer({1: sims[name]})
            await server.start()
            servers.append(server)
            devices[name] = open_device(
                name, "eurotherm3216", server.url(1) + "&timeout=0.3&retries=1"
            )
        kilns = {name: {"controller": name} for name in devices}
        engine = Engine(devices, plant(kilns), None, None, clock)
        yield clock, engine, sims
    finally:
        for device in devices.values():
            await device.close()  # type: ignore[attr-defined]
        for server in servers:
            await server.close()


async def test_a_dead_kiln_held_by_the_keeper_does_not_stop_the_watch_of_the_other(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="kilnctl.engine.safekeeper")
    async with two_kilns() as (clock, engine, sims):
        watch = engine.start_watch()
        try:
            async with asyncio.timeout(30):
                while set(watch.latest) != {"kiln1", "kiln2"}:
                    await clock.sleep(PERIOD_S)
                sims["kiln1"].wire.no_response = True  # type: ignore[attr-defined]
                assert not await engine.safekeeper.make_safe(engine.devices["kiln1"], "test")
                assert "kiln1" in engine.safekeeper.unsafe_devices()
                dead_since = clock.wall_time()
                await clock.sleep(120)  # two minutes of the keeper retrying kiln1
                # kiln2 read every period throughout: its last reading is fresh, its
                # watch period one period (before: ~36 s, waiting on kiln1 each time)
                fresh = clock.wall_time() - watch.latest["kiln2"]["t"]
                assert fresh <= 2 * PERIOD_S
                assert watch.periods["kiln2"] <= 2 * PERIOD_S
                # the dead one shows as not answering: its last reading ages
                assert watch.latest["kiln1"]["t"] < dead_since
                assert "kiln1" in engine.safekeeper.unsafe_devices()
        finally:
            await watch.stop()
            await engine.safekeeper.stop()
    # the keeper's retries are numbered on (before: "attempt 1 failed" at every retry)
    numbers = [
        int(m.group(1))
        for r in caplog.records
        if (m := re.search(r"making kiln1 safe \(test\), attempt (\d+) failed", r.getMessage()))
    ]
    assert numbers[: SAFE_ATTEMPTS + 1] == list(range(1, SAFE_ATTEMPTS + 2))
    assert numbers == sorted(set(numbers))
