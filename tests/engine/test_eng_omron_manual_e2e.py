"""An Omron E5CC switched to manual at its panel mid-firing, over real wires (the
simulated E5CC behind a real Modbus TCP socket, the real driver, the engine on a scaled
clock): the run holds with a critical alarm within one control period, and when the
operator aborts, the heat is off as read back from the controller (automatic, STOP,
output 0 %), though the panel had left it at 100 % manual output."""

from __future__ import annotations

import asyncio

from eng_models import plant

from drivers.omron_e5cc import OmronE5cc
from drivers.registry import open_device
from kilnctl.clock import ScaledClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import Abort, AlarmRaised, Event, RunFinished, Sample, StartJob
from kilnctl.recipes.models import FiringProfile
from simulators.devices import build
from simulators.devices.omron_e5cc import OmronE5CC
from simulators.servers.modbus_tcp import ModbusTcpServer

SPEED = 60.0
PROFILE = FiringProfile.model_validate(
    {"name": "p", "max_temp": 300, "segments": [{"rate": 600, "target": 200, "hold": 600}]}
)


async def next_event(queue: asyncio.Queue[Event], kind: type[Event]) -> Event:
    while True:
        event = await queue.get()
        if isinstance(event, kind):
            return event


async def test_manual_at_the_panel_then_abort_leaves_the_e5cc_heat_off() -> None:
    clock = ScaledClock(SPEED)
    e5cc = build("omron_e5cc", unit=1, time_fn=clock.now, decimals=1)
    assert isinstance(e5cc, OmronE5CC)
    server = ModbusTcpServer({1: e5cc})
    await server.start()
    ctl = open_device("ctl", "omron_e5cc", server.url(1) + "&timeout=0.3")
    assert isinstance(ctl, OmronE5cc)
    engine = Engine({"ctl": ctl}, plant({"k1": {"controller": "ctl"}}), None, None, clock)
    try:
        queue = engine.subscribe(maxsize=100_000)
        run_id = await engine.submit(StartJob(ref="p", kiln="k1", recipe=PROFILE))
        assert run_id is not None
        async with asyncio.timeout(30):
            await clock.sleep(30)  # ramping
            e5cc.panel(manual=True, manual_output_pct=100.0)
            switched = clock.wall_time()
            raised = await next_event(queue, AlarmRaised)
            assert isinstance(raised, AlarmRaised) and raised.code == "controller_manual"
            assert raised.t - switched <= 1.0 + 0.5  # within one 1 s control period
            await next_event(queue, Sample)
            await engine.submit(Abort(run_id))
            finished = await next_event(queue, RunFinished)
        assert isinstance(finished, RunFinished) and finished.outcome == "aborted"
        await clock.sleep(2)  # the controller's next control updates
        reading = await ctl.read()
        assert (reading.output_pct, reading.manual, reading.sp_c) == (0.0, False, 0.0)
        assert not e5cc.loop.running and e5cc.nv_writes == 0
    finally:
        await engine.close()
        await ctl.close()
        await server.close()
