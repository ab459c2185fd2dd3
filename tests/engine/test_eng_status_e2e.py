"""Controller status flags over real wires: the simulated Eurotherm 3216 behind a real
Modbus TCP socket, the real driver, the engine on a scaled clock. Someone at the panel
switches the controller to manual (A-M, register 273) in the middle of a firing: the run
holds with a critical alarm, then goes on when the panel goes back to automatic; the
setpoint keep-alive keeps the controller's remote-SP-fail bit (5 s without a write) off
through the held setpoint and the soak.

The remote-setpoint timeout: HA028651 §15.5, StAt (75) b14 "Remote (comms) SP Fail"; the
unit falls back to its local setpoint when Rm.SP (26) is not refreshed within its timeout
(5 s, from third-party summaries of HA028651; unverified on hardware). A line dead for longer
than that makes the unit fall back; the first reading after it raises the fallback alarm in
that same control period, and the next write puts the unit back on the remote setpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from eng_models import plant

from drivers.eurotherm3216 import Eurotherm3216
from drivers.registry import open_device
from kilnctl.clock import ScaledClock
from kilnctl.engine.alarms import CLEAR_AFTER_S
from kilnctl.engine.engine import Engine
from kilnctl.engine.firing import SP_KEEPALIVE_S
from kilnctl.engine.messages import AlarmCleared, AlarmRaised, Event, RunFinished, Sample, StartJob
from kilnctl.recipes.models import FiringProfile
from simulators.devices import build
from simulators.devices.eurotherm3216 import Eurotherm3216 as SimEurotherm
from simulators.servers.modbus_tcp import ModbusTcpServer

SPEED = 60.0
PERIOD_S = 1.0
A_M = 273  # Eurotherm auto/manual, 1 = manual (docs/devices.md)

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


class _UnitTime:
    """The test clock's simulated seconds, with the `speed` that tells the simulated unit
    its comms timeout runs in real time (as simulators.timebase.ScaledTime does)."""

    def __init__(self, clock: ScaledClock) -> None:
        self.speed = clock.speed
        self._now = clock.now

    def __call__(self) -> float:
        return self._now()


@asynccontextmanager
async def firing(
    profile: FiringProfile,
    url_extra: str = "",
    shows: int = 1,
    comms_in_real_time: bool = True,
    **driver_options: Any,
) -> AsyncIterator[tuple[ScaledClock, SimEurotherm, Eurotherm3216, asyncio.Queue[Event]]]:
    """A run of `profile` on a simulated 3216 (showing `shows` decimals) behind a real TCP socket,
    the real driver and the engine on the scaled clock: (clock, simulated unit, driver,
    event queue). `comms_in_real_time`: the unit's remote-SP timeout counts real seconds, as
    `kilnctl sim --speed` has it (simulators.timebase.comms_timeout); else simulated ones
    (5 s at x60 is 83 ms real: a loaded test machine's scheduling delay would look like a
    dead line)."""
    clock = ScaledClock(SPEED)
    unit_time = _UnitTime(clock) if comms_in_real_time else clock.now
    eurotherm = build("eurotherm3216", unit=1, time_fn=unit_time, decimals=shows)
    assert isinstance(eurotherm, SimEurotherm)
    server = ModbusTcpServer({1: eurotherm})
    await server.start()
    url = server.url(1) + "&timeout=0.3" + url_extra
    ctl = open_device("ctl", "eurotherm3216", url, **driver_options)
    assert isinstance(ctl, Eurotherm3216)
    try:
        engine = Engine({"ctl": ctl}, plant({"k1": {"controller": "ctl"}}), None, None, clock)
        queue = engine.subscribe(maxsize=100_000)
        run_id = await engine.submit(StartJob(ref="p", kiln="k1", recipe=profile))
        assert run_id is not None
        yield clock, eurotherm, ctl, queue
    finally:
        await ctl.close()
        await server.close()


async def test_manual_at_the_panel_over_modbus_holds_then_resumes() -> None:
    async with firing(PROFILE) as (clock, eurotherm, ctl, queue):
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


SOAK = FiringProfile.model_validate(
    {"name": "p", "max_temp": 300, "segments": [{"rate": 2400, "target": 50, "hold": 40}]}
)


async def test_a_fallback_to_the_local_setpoint_is_alarmed_in_the_period_it_shows() -> None:
    events: list[Event] = []
    # the unit's own 5 s in simulated seconds: the dead line outlasts it in 8 of them
    async with firing(SOAK, "&retries=0", comms_in_real_time=False) as (
        clock,
        eurotherm,
        _,
        queue,
    ):
        async with asyncio.timeout(30):
            await clock.sleep(55)  # ramped, soaking on a held setpoint: keep-alives only
            assert not eurotherm.read_holding(75, 1)[0] & (1 << 14)  # StAt b14
            eurotherm.wire.no_response = True  # the line goes dead...
            await clock.sleep(8)  # ...for longer than the unit's 5 s timeout
            assert eurotherm.read_holding(75, 1)[0] & (1 << 14) and eurotherm.fallback
            eurotherm.wire.clear()
            while not (events and isinstance(events[-1], RunFinished)):
                events.append(await queue.get())
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
    # back on the remote setpoint within 2 periods; the alarm then clears once that has
    # lasted CLEAR_AFTER_S (no alarm flaps)
    assert cleared.t - raised.t <= 2 * PERIOD_S + CLEAR_AFTER_S + 0.5
    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "completed"
    assert eurotherm.rm_sp_c == eurotherm.tg_sp_c == 0.0  # safe, and so is a fallback
    # No other fallback through the soak: the keep-alive stayed inside the timeout.
    others = [e for e in events if isinstance(e, AlarmRaised) and e.code == "remote_sp_fail"]
    assert others == []


def test_the_keep_alive_is_well_inside_the_remote_setpoint_timeout() -> None:
    """A held setpoint re-sent every SP_KEEPALIVE_S survives two late control periods
    before the unit's timeout (the old 5 s keep-alive equalled it)."""
    unit = build("eurotherm3216", unit=1, time_fn=lambda: 0.0)
    assert isinstance(unit, SimEurotherm)
    assert unit.remote_sp_timeout_s > SP_KEEPALIVE_S + 2 * PERIOD_S


async def test_a_decimal_point_the_unit_does_not_show_fails_the_run_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The unit shows whole degrees; the plant config says one decimal. The first setpoint
    write is refused: the run fails with the device, both values and the fix in its reason
    (no traceback), and the unit is left safe in its own resolution."""
    async with firing(PROFILE, shows=0, decimals=1) as (_, eurotherm, _, queue):
        async with asyncio.timeout(30):
            finished, _ = await until(queue, RunFinished)
    assert isinstance(finished, RunFinished) and finished.outcome == "failed"
    assert "ctl" in finished.reason and "shows 0 decimal" in finished.reason
    assert "decimals = 1" in finished.reason
    assert not [r for r in caplog.records if r.exc_info]  # no traceback
    assert eurotherm.remote and eurotherm.rm_sp_c == 0.0 and eurotherm.tg_sp_c <= 0.0
