"""Pause holds the kiln where it is; a reading that is not the kiln's temperature never
moves the schedule (issue 6, item 5). Engine behaviour on the virtual clock against the
in-process simulated kiln (thermal lag, noise, its own PID) and the small TinyKiln."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from eng_models import TinyKiln, plant

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import AlarmRaised, Event, Pause, Resume, SegmentChanged, StartJob
from kilnctl.recipes.models import FiringProfile
from simulators.inprocess import SimKilnController

MAX_TO_790 = FiringProfile.model_validate(
    {
        "name": "coat",
        "max_temp": 850,
        # a long soak, not a coat: its own hold limits replace the vitreous enamel defaults
        "segments": [
            {"rate": "max", "target": 790, "hold": "10 min", "warn_hold": "1 h", "max_hold": "1 h"}
        ],
    }
)


def drain(queue: asyncio.Queue[Event]) -> list[Event]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


@pytest.mark.parametrize("mode", ["setpoint", "direct"])
async def test_pause_during_a_max_rate_ramp_holds_the_pv_at_pause(mode: str) -> None:
    # Before: the setpoint of a "max" ramp is its target, so a paused kiln went on
    # heating at 100 % (466 -> 790 °C while shown PAUSED).
    clock = VirtualClock()
    kiln = SimKilnController("ctl", clock.now, seed=3)
    cfg = SimpleNamespace(controller="ctl", mode=mode, max_temp_c=1000.0)
    engine = Engine({"ctl": kiln}, SimpleNamespace(kilns={"k1": cfg}, tanks={}), None, None, clock)
    queue = engine.subscribe(maxsize=1_000_000)
    run_id = await engine.submit(StartJob(ref="coat", kiln="k1", recipe=MAX_TO_790))
    assert run_id is not None
    while (await kiln.read()).pv_c < 466.0:
        await clock.sleep(1.0)
    pv_at_pause = (await kiln.read()).pv_c
    await engine.submit(Pause(run_id))  # taken at the next control period (<= 1 s)
    await clock.sleep(30 * 60.0)
    during = [e for e in drain(queue) if e.kind == "sample"]
    held = [s for s in during if s.t >= during[-1].t - 20 * 60]  # after settling
    assert held, "samples while paused"
    held_sp = {round(s.values["sp_c"], 3) for s in held}
    assert len(held_sp) == 1  # one setpoint all along: the PV when paused
    (sp,) = held_sp
    assert sp == pytest.approx(pv_at_pause, abs=3.0)
    pvs = [s.values["pv_c"] for s in held]
    assert max(pvs) < pv_at_pause + 15.0  # lag of the elements: a little overshoot only
    assert min(pvs) > pv_at_pause - 15.0
    outputs = [s.values["out_pct"] for s in held]
    assert sum(outputs) / len(outputs) < 50.0  # holding (~30 %), not heating at 100 %
    if mode == "setpoint":  # what the controller regulates to is what was streamed
        assert (await kiln.read()).sp_c == pytest.approx(sp, abs=0.01)
    await engine.submit(Resume(run_id))
    assert await engine.wait(run_id) == "completed"  # and on to 790 °C after resuming


async def test_a_controlled_ramp_paused_holds_at_the_pv_and_goes_on_from_there() -> None:
    clock = VirtualClock()
    kiln = TinyKiln("ctl", clock.now, heat_c_per_h=100.0)  # lags a 300 °C/h ramp
    engine = Engine({"ctl": kiln}, plant({"k1": {"controller": "ctl"}}), None, None, clock)
    profile = FiringProfile.model_validate(
        {"name": "p", "max_temp": 900, "segments": [{"rate": 300, "target": 600}]}
    )
    run_id = await engine.submit(StartJob(ref="p", kiln="k1", recipe=profile))
    assert run_id is not None
    await clock.sleep(600.5)  # SP 20 + 50 = 70 °C, PV 20 + 16.7 °C behind it
    pv = kiln.pv
    await engine.submit(Pause(run_id))
    await clock.sleep(300)
    assert kiln.sp == pytest.approx(pv, abs=0.1)  # not the 70 °C the ramp had reached
    assert kiln.pv == pytest.approx(pv, abs=0.1)
    await engine.submit(Resume(run_id))
    await clock.sleep(2.0)
    assert kiln.sp == pytest.approx(pv + 300 / 3600 * 2, abs=0.2)  # no jump on resuming
    await engine.close()


T0 = 1_700_000_000.0
"""VirtualClock's wall time at now() == 0 (events carry wall time)."""


def segment_events(events: list[Event]) -> list[tuple[str, float]]:
    return [(e.phase, e.t) for e in events if isinstance(e, SegmentChanged)]


async def test_tc_open_on_the_simulator_trips_before_any_hold() -> None:
    # Before: the broken thermocouple's 1372 °C reading ended the "max" ramp, printing
    # "kiln1: hold at 790 °C" before the tc_break alarm.
    clock = VirtualClock()
    kiln = SimKilnController("ctl", clock.now, seed=3)
    cfg = SimpleNamespace(controller="ctl", mode="setpoint", max_temp_c=1000.0)
    engine = Engine({"ctl": kiln}, SimpleNamespace(kilns={"k1": cfg}, tanks={}), None, None, clock)
    queue = engine.subscribe(maxsize=1_000_000)
    run_id = await engine.submit(StartJob(ref="coat", kiln="k1", recipe=MAX_TO_790))
    assert run_id is not None
    await clock.sleep(600.0)
    kiln.inject("tc_open")
    injected = clock.now()
    assert await engine.wait(run_id) == "aborted"
    events = drain(queue)
    assert [phase for phase, _ in segment_events(events)] == ["ramp"]
    (alarm,) = [e for e in events if isinstance(e, AlarmRaised)]
    assert alarm.code == "tc_break"
    assert alarm.t - T0 - injected <= 1.0  # the first reading after the break: 1 period
    assert (await kiln.read()).sp_c <= 0.0  # heat off, read back from the controller


@pytest.mark.parametrize(
    ("flags", "pv_c", "alarm"),
    [
        (set(), 1700.0, "tc_break"),  # PV outside the sensor's range, no flag set
        ({"over_range"}, 1372.0, "pv_over_range"),
        ({"remote_sp_fail"}, 790.0, "remote_sp_fail"),  # PV real, controller not following
    ],
)
async def test_an_invalid_reading_never_moves_the_schedule(
    flags: set[str], pv_c: float, alarm: str
) -> None:
    clock = VirtualClock()
    kiln = TinyKiln("ctl", clock.now, heat_c_per_h=600.0)
    engine = Engine({"ctl": kiln}, plant({"k1": {"controller": "ctl"}}), None, None, clock)
    queue = engine.subscribe(maxsize=1_000_000)
    run_id = await engine.submit(StartJob(ref="coat", kiln="k1", recipe=MAX_TO_790))
    assert run_id is not None
    await clock.sleep(600.0)  # ramping at 600 °C/h: ~120 °C
    kiln.flags |= flags
    kiln.set_pv(pv_c)
    kiln.heat = kiln.cool = 0.0  # the bogus reading stays
    await clock.sleep(60.0)
    events = drain(queue)
    assert [phase for phase, _ in segment_events(events)] == ["ramp"]  # no hold reached
    assert alarm in [e.code for e in events if isinstance(e, AlarmRaised)]
    await engine.close()
