"""Issue 6 items 3 and 4 on the in-process simulated plant (KilnModel physics with lag and
noise, on the virtual clock): a stuck relay is critical, cuts the power and stays raised
after the run; the plant watch judges kilns and tanks in no run; an open door is detected
within seconds, holds the schedule, and turns the heat off after the profile's door grace.
Detection times are asserted in control periods (1 s)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from drivers.protocols import TemperatureReading
from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine, EngineError
from kilnctl.engine.interlocks import KilnInterlocks, KilnLimits
from kilnctl.engine.messages import (
    AckAlarm,
    AlarmAcked,
    AlarmCleared,
    AlarmRaised,
    Event,
    Notice,
    StartJob,
)
from kilnctl.engine.schedule import FiringSchedule
from kilnctl.engine.settings import EngineSettings
from kilnctl.engine.watch import WATCH_JOB
from kilnctl.journal import Journal
from kilnctl.recipes.loader import content_hash
from kilnctl.recipes.models import FiringProfile
from simulators.inprocess import SimContactor, SimKilnController, SimRectifier
from simulators.physics.kiln import KilnParams

PERIOD_S = 1.0


def hold_profile(target: float, hold_s: float, **extra: Any) -> FiringProfile:
    return FiringProfile.model_validate(
        {
            "name": "hold",
            "max_temp": target + 30,
            # a soak, not a coat: its own hold limits replace the vitreous enamel defaults
            "segments": [
                {
                    "rate": "max",
                    "target": target,
                    "hold": hold_s,
                    "warn_hold": max(hold_s, 300),
                    "max_hold": max(hold_s, 300),
                }
            ],
            **extra,
        }
    )


@dataclass
class Cell:
    clock: VirtualClock
    engine: Engine
    kiln: SimKilnController
    contactor: SimContactor | None
    rectifier: SimRectifier
    events: asyncio.Queue[Event]

    def drain(self) -> list[Event]:
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out


def cell(
    *,
    contactor: bool = True,
    initial_c: float | None = None,
    watch: bool = True,
    journal: Journal | None = None,
    same_plant_as: Cell | None = None,
) -> Cell:
    """One kiln (max 1000 °C, optional contactor) and one tank, the watch running.
    `same_plant_as`: a new engine (a restarted service) on that cell's clock and devices;
    its watch carries on the journal's unfinished watch records."""
    if same_plant_as is not None:
        old = same_plant_as
        clock, kiln, cont, rect = old.clock, old.kiln, old.contactor, old.rectifier
    else:
        clock = VirtualClock()
        kiln = SimKilnController("ctl", clock.now, KilnParams(initial_c=initial_c), seed=5)
        cont = SimContactor("k1_contactor", kiln) if contactor else None
        rect = SimRectifier("rect", clock.now, seed=2)
    devices: dict[str, object] = {"ctl": kiln, "rect": rect}
    if cont is not None:
        devices["k1_contactor"] = cont
    plant = SimpleNamespace(
        kilns={
            "k1": SimpleNamespace(
                controller="ctl",
                mode="setpoint",
                max_temp_c=1000.0,
                contactor="k1_contactor" if cont else None,
            )
        },
        tanks={"ni": SimpleNamespace(rectifier="rect", max_current_a=50.0)},
    )
    engine = Engine(devices, plant, None, journal, clock, EngineSettings(period_s=PERIOD_S))
    events = engine.subscribe(maxsize=1_000_000)
    if watch:
        records = journal.unfinished_runs() if journal is not None else []
        carry = [r.run_id for r in records if r.job_name == WATCH_JOB]
        engine.start_watch(carry)
    return Cell(clock, engine, kiln, cont, rect, events)


def raised(events: list[Event], code: str) -> list[AlarmRaised]:
    return [e for e in events if isinstance(e, AlarmRaised) and e.code == code]


def cleared(events: list[Event], code: str) -> list[AlarmCleared]:
    return [e for e in events if isinstance(e, AlarmCleared) and e.code == code]


async def test_stuck_relay_in_a_run_cuts_the_power_and_stays_raised_after_the_run() -> None:
    """The issue's drill: kiln1 holding ~870 °C, `sim-fault kiln1 stuck_relay`. Before:
    stuck_relay notify, flapping every 6 s, the run aborted on deviation_high, the kiln
    climbed 871 -> 922 °C after the run with nothing raised. Now: one critical alarm,
    the run stops on it, the contactor is opened and read back, the alarm stays."""
    c = cell(initial_c=870.0)
    run_id = await c.engine.submit(StartJob(ref="hold", kiln="k1", recipe=hold_profile(870, 7200)))
    assert run_id is not None
    await c.clock.sleep(600)
    inject_t = c.clock.wall_time()
    c.kiln.inject("stuck_relay")
    outcome = await c.engine.wait(run_id)
    await c.clock.sleep(600)  # ten minutes after the run
    events = c.drain()
    assert outcome == "aborted"
    watch = c.engine.watch
    assert watch is not None
    # raised once in the run (no flapping), then carried over once by the watch
    [alarm, carried] = raised(events, "stuck_relay")
    assert (alarm.run_id, carried.run_id) == (run_id, watch.run_id)
    assert f"found in run {run_id}" in carried.message
    assert (alarm.severity, alarm.action) == ("critical", "cut_power")
    periods = (alarm.t - inject_t) / PERIOD_S
    # measured: 112 periods (output falls to 0 first; then the kiln is 28 °C over its setpoint,
    # or the output has been 0 past the 90 s thermal-lag settle time)
    assert periods <= 130
    assert not raised(events, "deviation_high")  # heat off would do nothing here
    assert not cleared(events, "stuck_relay")
    cut = [e for e in events if isinstance(e, Notice) and e.topic == "cut_power"]
    assert cut and "read back open" in cut[0].message
    assert c.contactor is not None and not await c.contactor.is_closed()
    # the watch carries the alarm on, latched: shown until a person acknowledges it
    assert [a.spec.code for a in watch.alarms.of("k1")] == ["stuck_relay"]
    pv = (await c.kiln.read()).pv_c
    assert pv < 870.0 + 28  # the contactor stopped the climb
    await c.engine.close()


async def test_without_a_contactor_the_operator_is_told_to_cut_the_mains() -> None:
    c = cell(contactor=False, initial_c=870.0)
    run_id = await c.engine.submit(StartJob(ref="hold", kiln="k1", recipe=hold_profile(870, 7200)))
    assert run_id is not None
    await c.clock.sleep(600)
    c.kiln.inject("stuck_relay")
    assert await c.engine.wait(run_id) == "aborted"
    finished_pv = (await c.kiln.read()).pv_c
    await c.clock.sleep(600)
    events = c.drain()
    assert (await c.kiln.read()).pv_c > finished_pv + 20  # still heating: nothing stops it
    cut = [e for e in events if isinstance(e, Notice) and e.topic == "cut_power"]
    assert "no contactor configured: cut the mains power to kiln k1" in cut[0].message
    assert not cleared(events, "stuck_relay")
    watch = c.engine.watch
    assert watch is not None and watch.alarms.of("k1")[0].present
    await c.engine.close()


async def test_watch_finds_a_stuck_relay_on_an_idle_kiln_and_latches_it() -> None:
    c = cell(initial_c=400.0)
    await c.kiln.safe()
    await c.clock.sleep(120)
    inject_t = c.clock.wall_time()
    c.kiln.inject("stuck_relay")
    await c.clock.sleep(120)
    events = c.drain()
    [alarm] = raised(events, "stuck_relay")
    assert alarm.action == "cut_power" and "between runs" in alarm.message
    assert (alarm.t - inject_t) / PERIOD_S <= 110  # measured: ~92 (90 s settle, then the rise)
    assert c.contactor is not None and c.contactor.opened == 1
    # the contactor cured it: the condition has gone, but nobody acknowledged
    await c.clock.sleep(600)
    watch = c.engine.watch
    assert watch is not None
    assert not cleared(c.drain(), "stuck_relay") and watch.alarms.any_active
    await c.engine.submit(AckAlarm(watch.run_id, who="ann", alarm_id=alarm.alarm_id))
    after = c.drain()
    assert [type(e) for e in after] == [AlarmAcked, AlarmCleared]
    assert not watch.alarms.any_active
    await c.engine.close()


async def test_a_latched_watch_alarm_outlives_a_restart_with_its_action(tmp_path: Path) -> None:
    """A stuck relay found by the watch, not acknowledged, and the engine closed (the
    service stopped cleanly): before, the watch's record was finished "completed" and the
    next service knew nothing of it. Now the restarted watch raises it again, not
    acknowledged, opens the contactor again (read back), refuses a run on the kiln, and
    lets it go only once acknowledged and the PV has stopped rising."""
    journal = Journal(tmp_path / "j.sqlite")
    c = cell(initial_c=400.0, journal=journal)
    await c.kiln.safe()
    await c.clock.sleep(120)
    c.kiln.inject("stuck_relay")
    await c.clock.sleep(120)
    [alarm] = raised(c.drain(), "stuck_relay")
    assert c.contactor is not None and c.contactor.opened == 1
    await c.engine.close()
    [record] = journal.unfinished_runs()  # the watch's record stays open, its alarm up

    c2 = cell(journal=journal, same_plant_as=c)
    await c2.clock.sleep(2)
    [again] = raised(c2.drain(), "stuck_relay")
    assert again.alarm_id == alarm.alarm_id and again.run_id == record.run_id
    assert "still raised when the service restarted" in again.message
    watch = c2.engine.watch
    assert watch is not None and [a.acked for a in watch.alarms.active] == [False]
    assert c.contactor.opened == 2  # its action again: contactor opened, read back
    with pytest.raises(EngineError, match=r"held safe by the plant watch's alarm k1:stuck_relay"):
        await c2.engine.submit(StartJob(ref="hold", kiln="k1", recipe=hold_profile(300, 60)))
    await c2.clock.sleep(600)  # the contactor cured it: gone, but nobody acknowledged
    assert watch.alarms.any_active and not cleared(c2.drain(), "stuck_relay")
    await c2.engine.submit(AckAlarm(watch.run_id, who="ann", alarm_id=alarm.alarm_id))
    assert [type(e) for e in c2.drain()] == [AlarmAcked, AlarmCleared]
    run_id = await c2.engine.submit(StartJob(ref="hold", kiln="k1", recipe=hold_profile(300, 60)))
    assert run_id is not None
    await c2.engine.close()
    # nothing left raised: the watch's record is finished, the next start carries nothing
    assert [r.run_id for r in journal.unfinished_runs()] == []
    journal.close()


async def test_a_run_killed_while_stopping_on_its_alarm_is_not_resumed(tmp_path: Path) -> None:
    """A run that raised an alarm that stops runs (here stuck_relay) and died before its
    end was journaled: before, `resume` carried on heating. Now it is refused with the
    alarm named, and the watch keeps the alarm raised (kilnctl serve's restart)."""
    journal = Journal(tmp_path / "j.sqlite")
    t0 = VirtualClock().wall_time()
    run_id = journal.start_run(
        job_name="hold", lot_id="", started_at=t0,
        recipe_hashes={"hold": content_hash(hold_profile(300, 60))},
        meta={"ref": "hold", "kiln": "k1"},
    )  # fmt: skip
    journal.checkpoint(run_id, t0, {"step_index": 0, "step_state": {}, "seq": {}})
    journal.record_event(
        run_id, t0, "alarm_raised",
        {"alarm_id": "k1:stuck_relay", "source": "k1", "code": "stuck_relay",
         "severity": "critical", "action": "cut_power",
         "message": "k1: heating with output 0 % (stuck relay?): cut the kiln's mains power: "
                    "rose 3.4 °C in 20 s with output 0 %"},
    )  # fmt: skip
    c = cell(initial_c=400.0, journal=journal)
    c.engine.library = SimpleNamespace(get=lambda name: hold_profile(300, 60))
    await c.engine.resume(run_id)
    assert journal.run(run_id).outcome == "stopped"
    [notice] = [e for e in c.drain() if isinstance(e, Notice) and e.topic == "resume"]
    assert "stopping on alarm k1:stuck_relay" in notice.message
    watch = c.engine.watch
    assert watch is not None and [a.alarm_id for a in watch.alarms.active] == ["k1:stuck_relay"]
    await c.engine.close()
    journal.close()


async def test_watch_trips_on_pv_above_the_kilns_rating() -> None:
    c = cell(initial_c=1010.0)  # above the kiln's 1000 °C rating, nothing commanded
    await c.clock.sleep(3)
    [alarm] = raised(c.drain(), "over_temperature")
    assert alarm.severity == "critical" and "rating of 1000" in alarm.message
    assert alarm.t - c.clock.wall_time() + 3 <= 1 * PERIOD_S  # the first watch period
    assert c.contactor is not None and c.contactor.opened == 1
    await c.engine.close()


async def test_watch_finds_current_flowing_with_the_rectifier_off() -> None:
    c = cell()
    await c.rectifier.set_voltage_limit(6.0)
    await c.rectifier.set_current(10.0)
    await c.rectifier.enable()
    c.rectifier.inject("output_stuck")  # the output stage shorts
    await c.rectifier.safe()  # output off, setpoint 0: the current flows on
    await c.clock.sleep(3)
    [alarm] = raised(c.drain(), "output_stuck_on")
    assert alarm.severity == "critical" and "with the output off" in alarm.message
    await c.engine.close()


async def test_watch_leaves_devices_in_a_run_to_the_run() -> None:
    c = cell(initial_c=20.0)
    run_id = await c.engine.submit(StartJob(ref="hold", kiln="k1", recipe=hold_profile(300, 60)))
    assert run_id is not None
    assert await c.engine.wait(run_id) == "completed"
    await c.clock.sleep(300)  # cooling after the run: falls, never rises
    assert not [e for e in c.drain() if isinstance(e, AlarmRaised)]
    await c.engine.close()


# ------------------------------------------------------------------ door or lid


async def fire_with_door(open_at: float, open_for: float | None, grace_s: float) -> Cell:
    """Hold 790 °C for 20 min on a hot kiln; open the door at open_at for open_for s."""
    c = cell(initial_c=790.0, watch=False)
    profile = hold_profile(790, 1200, door_grace=grace_s)
    run_id = await c.engine.submit(StartJob(ref="hold", kiln="k1", recipe=profile))
    assert run_id is not None
    await c.clock.sleep(open_at)
    c.kiln.set_door(True)
    if open_for is not None:
        await c.clock.sleep(open_for)
        c.kiln.set_door(False)
    await c.engine.wait(run_id)
    return c


async def test_door_opened_while_holding_is_detected_in_seconds_and_holds_the_schedule() -> None:
    """The issue's drill: `sim-fault kiln1 door_open` raised nothing; the kiln heated at
    100 % with the door open and the run aborted 22.5 min later on failure_to_heat."""
    c = await fire_with_door(300.0, 60.0, grace_s=180.0)
    events = c.drain()
    [door] = raised(events, "door_open")
    assert (door.severity, door.action) == ("alarm", "hold")
    start = events[0].t
    periods = (door.t - start - 300.0) / PERIOD_S
    assert periods <= 15  # measured: 10 periods (8 °C fall within a 10 s window)
    finished = events[-1]
    # held while open (~50 s) and until the PV came back (~30 s): the 20 min soak is
    # counted at temperature only
    assert finished.to_dict()["outcome"] == "completed"
    assert finished.t - start == pytest.approx(1200 + 75, abs=40)
    assert not raised(events, "failure_to_heat") and not raised(events, "door_open_long")
    [shut] = cleared(events, "door_open")  # the door shut: the hold ended, no flapping
    assert shut.t - door.t < 120
    await c.engine.close()


async def test_door_left_open_past_the_grace_turns_the_heat_off() -> None:
    c = await fire_with_door(300.0, None, grace_s=120.0)
    events = c.drain()
    [door] = raised(events, "door_open")
    [long] = raised(events, "door_open_long")
    assert long.action == "heat_off"
    assert long.t - door.t == pytest.approx(120, abs=2)
    assert events[-1].to_dict()["outcome"] == "aborted"
    await c.clock.sleep(2)  # the controller's next output update
    reading = await c.kiln.read()
    assert reading.sp_c <= 0.0 and reading.output_pct == 0.0
    await c.engine.close()


def test_failure_to_heat_words_a_fall_as_a_fall() -> None:
    """Before: "failure_to_heat: rose -76.0 °C" for a kiln that fell 76 °C."""
    profile = hold_profile(900, 60)
    schedule = FiringSchedule.from_profile(profile, catchup_band_c=None, reach_band_c=2.0)
    schedule.start(0.0, 700.0, seek=False)
    checks = KilnInterlocks(replace(KilnLimits(), door_drop_c=1000.0))
    found: dict[str, str] = {}
    for t in range(0, 23 * 60 + 1):  # falling 3.4 °C/min at full power
        pv = 700.0 - t * 3.4 / 60
        schedule.advance(float(t), pv)
        found = checks.check(float(t), TemperatureReading(pv, 900, 100.0), schedule)
    message = found["failure_to_heat"]
    assert message.startswith("fell 76.5 °C") and "-" not in message.split("°C")[0]


async def test_the_watch_stops_even_when_a_device_request_loses_the_cancel() -> None:
    """On Python 3.11 a cancel that meets a reply arriving at the same instant is lost in
    asyncio.wait_for (pymodbus awaits each reply so): the read returns its reading as if
    never cancelled. The watch must stop all the same, or `kilnctl serve` never exits on
    SIGTERM (it hung in about one shutdown in two right after a device came back)."""
    c = cell()
    await c.clock.sleep(3)
    read = c.kiln.read
    blocked = asyncio.Event()

    async def read_losing_the_cancel() -> TemperatureReading:
        blocked.set()
        # the request in flight when stop() cancels; the cancel swallowed as 3.11's wait_for
        # does when the reply is already there
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        return await read()

    c.kiln.read = read_losing_the_cancel  # type: ignore[method-assign]
    async with asyncio.timeout(5):
        await blocked.wait()
        await c.engine.close()  # stops the watch: must not hang
    watch = c.engine.watch
    assert watch is not None and watch._task is None


async def door_abort_then_shut(shut_after_s: float) -> tuple[Cell, float]:
    """A max-rate preheat from cold, the door opened at 247 °C until the run aborts on
    door_open_long, shut shut_after_s later: (the cell, the PV when the heat was cut)."""
    c = cell()
    profile = hold_profile(790, 1200, door_grace=180.0)
    run_id = await c.engine.submit(StartJob(ref="preheat", kiln="k1", recipe=profile))
    assert run_id is not None
    while (await c.kiln.read()).pv_c < 247.0:
        await c.clock.sleep(1)
    c.kiln.set_door(True)
    assert await c.engine.wait(run_id) == "aborted"
    cut_pv = (await c.kiln.read()).pv_c
    await c.clock.sleep(shut_after_s)
    c.kiln.set_door(False)
    return c, cut_pv


@pytest.mark.parametrize("shut_after_s", [60.0, 300.0])
async def test_a_door_abort_then_the_door_shut_is_no_stuck_relay(shut_after_s: float) -> None:
    """The breaker's drill: a max-rate preheat from cold, `sim-fault kiln1 door_open` at
    ~247 °C, the run aborted on door_open_long, then the door shut (`--clear`) a while
    later. Before: the watch raised a critical, latched stuck_relay ("rose 3.3 °C in 60 s
    with output 0 %") on a kiln whose heat had been cut: once the door is shut the chamber
    reheats from the walls (+20 °C in two minutes). Now: nothing is raised, the kiln is
    free; it never climbs back above the PV read when the heat went off."""
    c, cut_pv = await door_abort_then_shut(shut_after_s)
    lowest = reheated = (await c.kiln.read()).pv_c  # the coldest reading, the top after it
    for _ in range(900):
        await c.clock.sleep(1)
        pv = (await c.kiln.read()).pv_c
        reheated = pv if pv < lowest else max(reheated, pv)
        lowest = min(lowest, pv)
    # it did reheat, by more than the 3 °C of the rule, but not to where it was
    assert lowest + 3.0 < reheated < cut_pv
    events = c.drain()
    assert raised(events, "door_open_long")
    assert not raised(events, "stuck_relay")
    watch = c.engine.watch
    assert watch is not None and not watch.alarms.any_active
    await c.engine.close()


@pytest.mark.parametrize("shut_after_s", [60.0, 300.0])
async def test_a_welded_relay_after_a_door_abort_is_still_found(shut_after_s: float) -> None:
    """The same drill, then `sim-fault kiln1 stuck_relay` as the door is shut: found once
    the chamber climbs past the PV it had when the heat was cut, or, still below it, the
    reheat time after its lowest PV (a kiln cooled far with the door open)."""
    c, _ = await door_abort_then_shut(shut_after_s)
    inject_t = c.clock.wall_time()
    c.kiln.inject("stuck_relay")
    await c.clock.sleep(600)
    [alarm] = raised(c.drain(), "stuck_relay")
    # measured: 45 periods (past the ceiling) / 87 (cooled to ~147 °C, 80 °C below it)
    assert (alarm.t - inject_t) / PERIOD_S <= 110
    await c.engine.close()
