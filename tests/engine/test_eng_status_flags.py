"""The controller's own status flags on the virtual clock: manual at the panel, remote
setpoint not followed, PV over range and the controller's alarm, each raising its alarm
with its safe action and clearing when the flag goes away; direct mode ignores the flags
that only mean something when kilnctl streams a setpoint."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from eng_models import TinyKiln, plant

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import AlarmCleared, AlarmRaised, Event, StartJob
from kilnctl.recipes.models import FiringProfile

T0 = 1_700_000_000.0  # the VirtualClock's epoch

RAMP = FiringProfile.model_validate(
    {"name": "p", "max_temp": 900, "segments": [{"rate": 300, "target": 400, "hold": 60}]}
)


async def fire(
    during: Any, mode: str = "setpoint", profile: FiringProfile = RAMP
) -> tuple[str, list[Event], TinyKiln]:
    clock = VirtualClock()
    kiln = TinyKiln("ctl", clock.now)
    eng = Engine(
        {"ctl": kiln}, plant({"k1": {"controller": "ctl", "mode": mode}}), None, None, clock
    )
    q: asyncio.Queue[Event] = eng.subscribe(maxsize=100_000)
    run_id = await eng.submit(StartJob(ref="p", kiln="k1", recipe=profile))
    assert run_id is not None
    await during(clock, kiln)
    outcome = await eng.wait(run_id)
    events = []
    while not q.empty():
        events.append(q.get_nowait())
    return outcome, events, kiln


def raised(events: list[Event], code: str) -> list[AlarmRaised]:
    return [e for e in events if isinstance(e, AlarmRaised) and e.code == code]


def cleared(events: list[Event], code: str) -> list[AlarmCleared]:
    return [e for e in events if isinstance(e, AlarmCleared) and e.code == code]


def end_t(events: list[Event]) -> float:
    return events[-1].t - T0


async def test_manual_at_the_panel_holds_the_schedule_and_alarms_critical() -> None:
    held: list[float] = []

    async def panel(clock: VirtualClock, kiln: TinyKiln) -> None:
        await clock.sleep(600)  # ramping: setpoint 20 + 50 °C
        kiln.flags.add("manual")
        await clock.sleep(20)
        held.append(kiln.sp)
        await clock.sleep(280)
        held.append(kiln.sp)
        kiln.flags.discard("manual")

    outcome, events, kiln = await fire(panel)
    assert outcome == "completed" and kiln.is_safe
    [alarm] = raised(events, "controller_manual")
    assert (alarm.severity, alarm.action) == ("critical", "hold")
    assert "cannot switch it off" in alarm.message
    assert alarm.t - T0 == pytest.approx(600, abs=2)
    assert held[0] == pytest.approx(held[1]) and held[0] == pytest.approx(70, abs=1)
    assert cleared(events, "controller_manual")[0].t - T0 == pytest.approx(900, abs=2)
    # 380 °C at 300 °C/h = 4560 s, + 60 s hold, + ~300 s held in manual
    assert end_t(events) == pytest.approx(4620 + 300, abs=5)


async def test_direct_mode_ignores_manual_and_remote_sp_fail() -> None:
    # in direct mode kilnctl itself switches the controller to manual to write the output
    async def flags(clock: VirtualClock, kiln: TinyKiln) -> None:
        kiln.flags.update({"manual", "remote_sp_fail"})

    outcome, events, _ = await fire(flags, mode="direct")
    assert outcome == "completed"
    assert not [e for e in events if isinstance(e, AlarmRaised)]


async def test_remote_sp_fail_holds_after_a_few_periods_and_clears_on_recovery() -> None:
    async def controller(clock: VirtualClock, kiln: TinyKiln) -> None:
        await clock.sleep(300)
        kiln.flags.add("remote_sp_fail")  # one keep-alive late: tolerated
        await clock.sleep(3)
        kiln.flags.discard("remote_sp_fail")
        await clock.sleep(297)
        kiln.flags.add("remote_sp_fail")
        await clock.sleep(120)
        kiln.flags.discard("remote_sp_fail")

    outcome, events, _ = await fire(controller)
    assert outcome == "completed"
    [alarm] = raised(events, "remote_sp_fail")
    assert (alarm.severity, alarm.action) == ("alarm", "hold")
    assert alarm.t - T0 == pytest.approx(606, abs=2)
    assert cleared(events, "remote_sp_fail")[0].t - T0 == pytest.approx(720, abs=2)
    # held while flagged (3 s + 120 s): a reading taken while the controller does not
    # follow the streamed setpoint never moves the schedule, even before the alarm
    assert end_t(events) == pytest.approx(4620 + 123, abs=2)


async def test_pv_over_range_is_heat_off_and_abort() -> None:
    async def over(clock: VirtualClock, kiln: TinyKiln) -> None:
        await clock.sleep(600)
        kiln.flags.add("over_range")

    outcome, events, kiln = await fire(over)
    assert outcome == "aborted" and kiln.is_safe
    [alarm] = raised(events, "pv_over_range")
    assert (alarm.severity, alarm.action) == ("critical", "heat_off")
    assert end_t(events) == pytest.approx(600, abs=2)


async def test_controller_alarm_is_a_warning_that_clears() -> None:
    async def alarm_relay(clock: VirtualClock, kiln: TinyKiln) -> None:
        await clock.sleep(600)
        kiln.flags.add("alarm")
        await clock.sleep(100)
        kiln.flags.discard("alarm")

    outcome, events, _ = await fire(alarm_relay)
    assert outcome == "completed"
    [alarm] = raised(events, "controller_alarm")
    assert (alarm.severity, alarm.action) == ("warning", "notify")
    assert cleared(events, "controller_alarm")[0].t - T0 == pytest.approx(700, abs=2)
    assert end_t(events) == pytest.approx(4620, abs=3)  # the run went on


async def test_acknowledging_the_controller_alarm_acknowledges_it_at_the_controller() -> None:
    from kilnctl.engine.messages import AckAlarm

    class LatchingKiln(TinyKiln):
        """A controller whose alarm stays latched until acknowledged (Eurotherm AC.ALL)."""

        acks = 0

        async def acknowledge_alarms(self) -> None:
            self.acks += 1
            self.flags.discard("alarm")

    clock = VirtualClock()
    kiln = LatchingKiln("ctl", clock.now)
    eng = Engine({"ctl": kiln}, plant({"k1": {"controller": "ctl"}}), None, None, clock)
    q: asyncio.Queue[Event] = eng.subscribe(maxsize=100_000)
    run_id = await eng.submit(StartJob(ref="p", kiln="k1", recipe=RAMP))
    assert run_id is not None
    await clock.sleep(600)
    kiln.flags.add("alarm")  # latched: it would stay for the rest of the run
    await clock.sleep(100)
    await eng.submit(AckAlarm(run_id, alarm_id="k1:controller_alarm", who="test"))
    assert await eng.wait(run_id) == "completed"
    events = [q.get_nowait() for _ in range(q.qsize())]
    assert kiln.acks == 1
    assert cleared(events, "controller_alarm")[0].t - T0 == pytest.approx(700, abs=2)
