"""The demo's plant at 60x: kiln1, a Eurotherm 3216 on the RTU line it shares with the two
bath heaters, fired through the real driver over the simulator's pty. The line stalls for
about a second (one reply 1.0 s late, `kilnctl sim-ctl wire kiln1 late 1.0`: the next
request waits it out), as a loaded bus does. Before, the unit's 5 s remote-setpoint
timeout counted simulated time (83 ms real) and the stall made it fall back to its local
setpoint: a spurious `remote_sp_fallback`. A real unit counts its own (real) clock, and
so does the simulator now (simulators.timebase.comms_timeout); a real fallback is still
alarmed in the period it shows (test_eng_status_e2e)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from test_eng_e2e_sim import plant_on
from test_eng_late_reply_e2e import PROFILE, SPEED, Library

from drivers.registry import open_device
from kilnctl.clock import ScaledClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import AlarmRaised, RunFinished, Sample, StartJob
from simulators.plant import Plant as SimPlant
from simulators.plant_config import load_plant_config
from simulators.plant_control import execute


async def test_a_stalled_line_at_60x_is_no_remote_setpoint_fallback(tmp_path: Path) -> None:
    sim = SimPlant(load_plant_config(), speed=SPEED, seed=5)  # the bundled plant as shipped
    await sim.start()
    devices: dict[str, Any] = {}
    try:
        plant = plant_on({name: dev.url for name, dev in sim.devices.items()})
        cfg = plant.devices["kiln1"]
        devices["kiln1"] = open_device("kiln1", cfg.driver, cfg.url, **cfg.options)
        engine = Engine(devices, plant, Library(), None, ScaledClock(SPEED))
        queue = engine.subscribe(maxsize=100_000)
        run_id = await engine.submit(StartJob(ref=PROFILE.name, lot_id="RSP", kiln="kiln1"))
        assert run_id is not None
        samples = 0
        alarms: list[AlarmRaised] = []
        async with asyncio.timeout(50):
            while True:
                event = await queue.get()
                if isinstance(event, Sample) and event.source == "kiln1":
                    samples += 1
                    if samples == 5:  # in the ramp: the line stalls ~1 s
                        assert execute(sim.devices, "wire kiln1 late 1.0") == "ok"
                elif isinstance(event, AlarmRaised):
                    alarms.append(event)
                elif isinstance(event, RunFinished):
                    break
        assert (event.outcome, event.reason) == ("completed", "")
        assert [a.code for a in alarms] == []  # no remote_sp_fallback / remote_sp_fail
    finally:
        for device in devices.values():
            await device.close()
        await sim.close()
