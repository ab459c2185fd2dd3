"""Firing runs through the Engine on the virtual clock: trajectories, control modes,
operator commands, and every kiln interlock tripped by an injected fault (devices safe)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from eng_models import TinyKiln, plant

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine, EngineError
from kilnctl.engine.messages import (
    AlarmRaised,
    Event,
    ExtendHold,
    Pause,
    Resume,
    RunFinished,
    Sample,
    SkipSegment,
    StartJob,
)
from kilnctl.engine.settings import EngineSettings
from kilnctl.recipes.models import FiringProfile


def profile(
    *segments: dict[str, Any], trip: float | None = None, max_temp: float = 900.0
) -> FiringProfile:
    return FiringProfile.model_validate(
        {"name": "p", "max_temp": max_temp, "trip": trip, "segments": list(segments)}
    )


def engine_for(
    kiln: TinyKiln, clock: VirtualClock, mode: str = "setpoint", **settings: Any
) -> Engine:
    return Engine(
        {"ctl": kiln},
        plant({"k1": {"controller": "ctl", "mode": mode}}),
        None,
        None,
        clock,
        EngineSettings(**settings),
    )


def drain(q: asyncio.Queue[Event]) -> list[Event]:
    out = []
    while not q.empty():
        out.append(q.get_nowait())
    return out


async def fire(
    prof: FiringProfile,
    kiln: TinyKiln | None = None,
    mode: str = "setpoint",
    during: Any = None,
    **settings: Any,
) -> tuple[str, list[Event], TinyKiln]:
    clock = VirtualClock()
    kiln = kiln or TinyKiln("ctl", clock.now)
    kiln.time_fn = clock.now
    eng = engine_for(kiln, clock, mode, **settings)
    q = eng.subscribe(maxsize=100_000)
    run_id = await eng.submit(StartJob(ref="p", kiln="k1", recipe=prof))
    assert run_id is not None
    if during is not None:
        await during(eng, run_id, clock, kiln)
    outcome = await eng.wait(run_id)
    return outcome, drain(q), kiln


def samples(events: list[Event]) -> list[Sample]:
    return [e for e in events if isinstance(e, Sample)]


def alarms(events: list[Event]) -> list[str]:
    return [e.code for e in events if isinstance(e, AlarmRaised)]


async def test_setpoint_stream_follows_the_hand_computed_ramp() -> None:
    outcome, events, kiln = await fire(profile({"rate": 300, "target": 790, "hold": 60}))
    assert outcome == "completed"
    by_t = {round(s.t - 1_700_000_000.0): s.values["sp_c"] for s in samples(events)}
    assert by_t[3600] == pytest.approx(320.0)
    assert by_t[9239] == pytest.approx(790 - 300 / 3600)
    assert by_t[9240] == pytest.approx(790.0)
    assert max(by_t) == pytest.approx(9300, abs=1)  # 60 s hold after reaching at 9240 s
    seqs = [s.seq for s in samples(events)]
    assert seqs == list(range(1, len(seqs) + 1))
    assert kiln.is_safe
    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "completed"


async def test_direct_mode_pid_tracks_a_ramp() -> None:
    prof = profile({"rate": 300, "target": 600, "hold": 600})
    outcome, events, kiln = await fire(prof, mode="direct")
    assert outcome == "completed"
    errors = [abs(s.values["sp_c"] - s.values["pv_c"]) for s in samples(events)[600:]]
    assert max(errors) < 10.0
    assert kiln.direct and kiln.is_safe


async def test_pause_skip_and_extend_from_commands() -> None:
    prof = profile({"rate": 360, "target": 400, "hold": 600}, {"rate": 360, "target": 300})

    async def operate(eng: Engine, run_id: str, clock: VirtualClock, kiln: TinyKiln) -> None:
        await clock.sleep(1000.5)  # sp = 20 + 100 = 120
        await eng.submit(Pause(run_id))
        await clock.sleep(500)
        assert kiln.sp == pytest.approx(120.0, abs=0.2)
        await eng.submit(Resume(run_id))
        await clock.sleep(3000)  # ramp ends at 1000 + 500 + 2800 s; hold running
        await eng.submit(ExtendHold(run_id, seconds=300))
        await clock.sleep(100)
        await eng.submit(SkipSegment(run_id))

    outcome, events, _kiln = await fire(prof, during=operate)
    assert outcome == "completed"
    kinds = [e.to_dict().get("action") for e in events if e.kind == "operator"]
    assert kinds == ["pause", "resume", "extend", "skip"]
    end = samples(events)[-1]
    # skipped the hold at ~4400 s, then 100 °C down at 360 °C/h = 1000 s
    assert end.t - 1_700_000_000.0 == pytest.approx(4600 + 1000, abs=3)


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("tc_open", "tc_break"),
        ("stuck_relay", "stuck_relay"),  # cut the power: heat off does nothing here
        # every element lost at once at full output: the PV stops following the heat,
        # which it cannot tell from an open door (held for the door grace, then heat off;
        # before the stall rule, failure_to_heat 22.5 min later)
        ("element_failure", "door_open_long"),
    ],
)
async def test_kiln_fault_trips_its_alarm_and_leaves_heat_off(fault: str, code: str) -> None:
    prof = profile({"rate": None, "target": 790, "hold": 3600})

    async def inject(eng: Engine, run_id: str, clock: VirtualClock, kiln: TinyKiln) -> None:
        await clock.sleep(600)
        kiln.inject(fault)

    outcome, events, kiln = await fire(prof, during=inject)
    assert outcome == "aborted"
    assert code in alarms(events)
    assert kiln.is_safe


async def test_stuck_relay_alarms_loudly_at_output_zero() -> None:
    prof = profile({"rate": None, "target": 500, "hold": 3600})

    async def inject(eng: Engine, run_id: str, clock: VirtualClock, kiln: TinyKiln) -> None:
        await clock.sleep(1200)  # at 500 °C holding
        kiln.heat = 1500.0  # a stuck relay: full power, nothing regulating
        kiln.inject("stuck_relay")

    outcome, events, kiln = await fire(prof, during=inject)
    # the run stops on the stuck relay itself (action: cut the power), before the
    # deviation alarm, whose heat off would do nothing against a welded relay
    assert alarms(events) == ["stuck_relay"]
    assert outcome == "aborted" and kiln.is_safe


async def test_over_temperature_trip() -> None:
    prof = profile({"rate": None, "target": 800, "hold": 3600}, trip=850.0, max_temp=850.0)

    async def overheat(eng: Engine, run_id: str, clock: VirtualClock, kiln: TinyKiln) -> None:
        await clock.sleep(1200)
        kiln.set_pv(860.0)

    outcome, events, kiln = await fire(prof, during=overheat)
    assert outcome == "aborted"
    assert "over_temperature" in alarms(events) and kiln.is_safe


async def test_over_firing_past_max_hold_aborts_after_a_warning() -> None:
    prof = profile({"rate": None, "target": 790, "hold": 150, "warn_hold": 180, "max_hold": 300})

    async def extend(eng: Engine, run_id: str, clock: VirtualClock, kiln: TinyKiln) -> None:
        await clock.sleep(1000)
        await eng.submit(ExtendHold(run_id, seconds=600))

    outcome, events, kiln = await fire(prof, during=extend)
    assert alarms(events)[:2] == ["hold_warn", "over_fire"]
    assert outcome == "aborted" and kiln.is_safe


async def test_a_door_opening_holds_and_heat_goes_off_after_the_door_grace() -> None:
    # a long soak, not a coat: its own hold limits replace the vitreous enamel defaults
    prof = profile(
        {"rate": None, "target": 790, "hold": 3600, "warn_hold": 7200, "max_hold": 7200}
    )

    async def door(eng: Engine, run_id: str, clock: VirtualClock, kiln: TinyKiln) -> None:
        await clock.sleep(1000)
        kiln.set_pv(690.0)  # door opened to load: recovers at 3000 °C/h in ~2 min
        await clock.sleep(300)
        kiln.heat = 0.0
        kiln.set_pv(690.0)  # now it does not recover: heat off after the door grace

    outcome, events, kiln = await fire(prof, during=door, seek_start=False)
    raised = [e for e in events if isinstance(e, AlarmRaised)]
    # each opening raises the door alarm (the first cleared once the door was shut)
    assert [a.code for a in raised] == ["door_open", "door_open", "door_open_long"]
    assert raised[0].t - 1_700_000_000.0 == pytest.approx(1000, abs=2)
    assert raised[1].t - 1_700_000_000.0 == pytest.approx(1300, abs=2)
    assert raised[2].t - 1_700_000_000.0 == pytest.approx(1300 + 180, abs=3)
    assert outcome == "aborted" and kiln.is_safe


async def test_comms_loss_holds_then_stops_with_devices_safe() -> None:
    prof = profile({"rate": 300, "target": 790})

    async def cut(eng: Engine, run_id: str, clock: VirtualClock, kiln: TinyKiln) -> None:
        await clock.sleep(600)
        kiln.inject("no_response")
        await clock.sleep(10)
        sp_held = kiln.sp
        kiln.clear()
        await clock.sleep(20)  # link back: the schedule continues from where it was held
        assert kiln.sp == pytest.approx(sp_held + 20 * 300 / 3600, abs=0.2)
        kiln.inject("no_response")

    outcome, events, kiln = await fire(prof, during=cut, comms_stop_s=60.0)
    assert outcome == "failed"
    assert alarms(events).count("comms_loss") == 2 and "comms_lost" in alarms(events)
    assert kiln.safe_calls >= 1


async def test_material_limit_refuses_a_hot_firing_for_zinc_alloy() -> None:
    from kilnctl.recipes.models import Job

    clock = VirtualClock()
    kiln = TinyKiln("ctl", clock.now)
    prof = profile({"rate": None, "target": 790})
    job = Job.model_validate(
        {
            "name": "j",
            "lot": {"material": "zinc_alloy", "pin_count": 10, "area_per_pin": 0.1},
            "steps": [{"kind": "firing", "ref": "p", "kiln": "k1"}],
        }
    )
    eng = Engine(
        {"ctl": kiln},
        plant({"k1": {"controller": "ctl"}}),
        _Library({"p": prof, "j": job}),
        None,
        clock,
    )
    # refused at the start, with validate's message (the whole job is checked up front)
    with pytest.raises(EngineError, match="a zinc_alloy lot melts at 381 °C"):
        await eng.submit(StartJob(ref="j"))
    assert eng.runs == {}
    assert kiln.setpoints == []


class _Library:
    def __init__(self, recipes: dict[str, Any]) -> None:
        self.recipes = recipes

    def get(self, name: str) -> Any:
        return self.recipes[name]
