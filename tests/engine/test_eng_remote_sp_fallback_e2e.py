"""The Eurotherm's remote-setpoint timeout over real wires: the simulated 3216 behind a real
Modbus TCP socket, the real driver, the engine on a scaled clock.

HA028651 §15.5: StAt (75) b14 "Remote (comms) SP Fail"; the unit falls back to its local
setpoint when Rm.SP (26) is not refreshed within its timeout (5 s, from third-party
summaries of HA028651; unverified on hardware). The engine's keep-alive (2 s) keeps a held
setpoint fresh through the whole soak; a line dead for longer than the timeout makes the
unit fall back, and the first reading after it raises the fallback alarm in that same
control period; the next write puts the unit back on the remote setpoint.
"""

from __future__ import annotations

import asyncio

from eng_models import plant

from drivers.eurotherm3216 import Eurotherm3216
from drivers.registry import open_device
from kilnctl.clock import ScaledClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.firing import SP_KEEPALIVE_S
from kilnctl.engine.messages import AlarmCleared, AlarmRaised, Event, RunFinished, Sample, StartJob
from kilnctl.recipes.models import FiringProfile
from simulators.devices import build
from simulators.devices.eurotherm3216 import Eurotherm3216 as SimEurotherm
from simulators.servers.modbus_tcp import ModbusTcpServer

SPEED = 60.0
PERIOD_S = 1.0

PROFILE = FiringProfile.model_validate(
    {"name": "p", "max_temp": 300, "segments": [{"rate": 2400, "target": 50, "hold": 40}]}
)


async def test_a_fallback_to_the_local_setpoint_is_alarmed_in_the_period_it_shows() -> None:
    clock = ScaledClock(SPEED)
    eurotherm = build("eurotherm3216", unit=1, time_fn=clock.now)
    server = ModbusTcpServer({1: eurotherm})
    await server.start()
    ctl = open_device("ctl", "eurotherm3216", server.url(1) + "&timeout=0.3&retries=0")
    assert isinstance(ctl, Eurotherm3216)
    events: list[Event] = []
    try:
        engine = Engine({"ctl": ctl}, plant({"k1": {"controller": "ctl"}}), None, None, clock)
        queue = engine.subscribe(maxsize=100_000)
        run_id = await engine.submit(StartJob(ref="p", kiln="k1", recipe=PROFILE))
        assert run_id is not None
        async with asyncio.timeout(30):
            await clock.sleep(55)  # ramped, soaking on a held setpoint: keep-alives only
            assert not eurotherm.read_holding(75, 1)[0] & (1 << 14)  # StAt b14
            eurotherm.wire.no_response = True  # the line goes dead...
            await clock.sleep(8)  # ...for longer than the unit's 5 s timeout
            assert eurotherm.read_holding(75, 1)[0] & (1 << 14) and eurotherm.fallback
            eurotherm.wire.clear()
            while not (events and isinstance(events[-1], RunFinished)):
                events.append(await queue.get())
    finally:
        await ctl.close()
        await server.close()
    [raised] = [e for e in events if isinstance(e, AlarmRaised) and e.code == "remote_sp_fallback"]
    assert (raised.severity, raised.action) == ("alarm", "notify")
    assert "local setpoint" in raised.message
    # Detected in the period the fallback first shows: no sample after the dead line
    # comes before the alarm by a period or more.
    first_after = min(
        e.t for e in events if isinstance(e, Sample) and e.t > raised.t - 10 * PERIOD_S
    )
    assert raised.t - first_after < PERIOD_S
    [cleared] = [e for e in events if isinstance(e, AlarmCleared) and e.code == raised.code]
    assert cleared.t - raised.t <= 2 * PERIOD_S + 0.5  # back on the remote setpoint
    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "completed"
    assert not eurotherm.fallback and eurotherm.rm_sp_c == 0.0  # safe at the end
    # No other fallback through the soak: the keep-alive stayed inside the timeout.
    others = [e for e in events if isinstance(e, AlarmRaised) and e.code == "remote_sp_fail"]
    assert others == []


def test_the_keep_alive_is_well_inside_the_remote_setpoint_timeout() -> None:
    """A held setpoint re-sent every SP_KEEPALIVE_S survives two late control periods
    before the unit's timeout (the old 5 s keep-alive equalled it)."""
    unit = build("eurotherm3216", unit=1, time_fn=lambda: 0.0)
    assert isinstance(unit, SimEurotherm)
    assert unit.remote_sp_timeout_s > SP_KEEPALIVE_S + 2 * PERIOD_S
