"""Controller status flags over real wires: the simulated Eurotherm 3216 behind a real
Modbus TCP socket, the real driver, the engine on a scaled clock. Someone at the panel
switches the controller to manual (A-M, register 273) in the middle of a firing: the run
holds with a critical alarm, then goes on when the panel goes back to automatic; the
setpoint keep-alive keeps the controller's remote-SP-fail bit (10 s without a write) off
through the held setpoint and the soak."""

from __future__ import annotations

import asyncio

import pytest
from eng_models import plant

from drivers.eurotherm3216 import Eurotherm3216
from drivers.registry import open_device
from kilnctl.clock import ScaledClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import AlarmCleared, AlarmRaised, Event, RunFinished, Sample, StartJob
from kilnctl.recipes.models import FiringProfile
from simulators.devices import build
from simulators.servers.modbus_tcp import ModbusTcpServer

SPEED = 60.0
A_M = 273  # Eurotherm auto/manual, 1 = manual (DEVICES.md)

PROFILE = FiringProfile.model_validate(
    {"name": "p", "max_temp": 300, "segments": [{"rate": 1200, "target": 90, "hold": 30}]}
)


async def until(
    queue: asyncio.Queue[Event], kind: type[Event], code: str = ""
) -> tuple[Event, list[Event]]:
    """The next event of `kind` (and alarm `code`), and the events before it."""
    before: list[Event] = []
    while True:
        event = await queue.get()
        if isinstance(event, kind) and getattr(event, "code", "") == code:
            return event, before
        before.append(event)


async def test_manual_at_the_panel_over_modbus_holds_then_resumes() -> None:
    clock = ScaledClock(SPEED)
    eurotherm = build("eurotherm3216", unit=1, time_fn=clock.now)
    server = ModbusTcpServer({1: eurotherm})
    await server.start()
    ctl = open_device("ctl", "eurotherm3216", server.url(1) + "&timeout=0.3")
    assert isinstance(ctl, Eurotherm3216)
    try:
        engine = Engine({"ctl": ctl}, plant({"k1": {"controller": "ctl"}}), None, None, clock)
        queue = engine.subscribe(maxsize=100_000)
        run_id = await engine.submit(StartJob(ref="p", kiln="k1", recipe=PROFILE))
        assert run_id is not None
        async with asyncio.timeout(30):
            await clock.sleep(60)  # ramping
            eurotherm.write_register(A_M, 1)  # the panel: manual
            raised, before = await until(queue, AlarmRaised, "controller_manual")
            assert isinstance(raised, AlarmRaised) and raised.severity == "critical"
            assert "cannot switch it off" in raised.message
            await clock.sleep(20)
            eurotherm.write_register(A_M, 0)  # back to automatic
            auto_t = clock.wall_time()
            _, since_raised = await until(queue, AlarmCleared, "controller_manual")
            # held while in manual; the alarm clears CLEAR_AFTER_S later (no flapping)
            in_manual = [e for e in since_raised if e.t < auto_t]
            finished, after = await until(queue, RunFinished)
        assert isinstance(finished, RunFinished) and finished.outcome == "completed"
        others = [e for e in before + since_raised + after if isinstance(e, AlarmRaised)]
        assert others == []  # in particular no remote_sp_fail through holds and soak
        held = [e.values["sp_c"] for e in in_manual if isinstance(e, Sample)]
        assert len(held) >= 15 and max(held) - min(held) < 0.01  # the ramp did not run on
        assert 20.0 < held[0] < 89.0
        reading = await ctl.read()
        assert not reading.manual and reading.sp_c == pytest.approx(0.0, abs=0.5)
    finally:
        await ctl.close()
        await server.close()
