"""Resume from a journal checkpoint after a simulated power cut (the journal stops taking
writes, as if the process died): no setpoint jump, contiguous sample seq, or a safe stop
with the reason when the outage was long or the PV is far from the schedule."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from eng_crash import DyingJournal
from eng_models import TinyKiln, plant

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import Abort, Notice, RunFinished, StartJob
from kilnctl.engine.settings import EngineSettings
from kilnctl.journal import Journal
from kilnctl.recipes.models import FiringProfile

PROFILE = FiringProfile.model_validate(
    {
        "name": "ramp",
        "max_temp": 900,
        # a 10-min soak, not a coat: its own limits replace the vitreous enamel defaults
        "segments": [
            {"rate": 300, "target": 790, "hold": 600, "warn_hold": 900, "max_hold": 1200}
        ],
    }
)


class Library:
    def get(self, name: str) -> Any:
        assert name == "ramp"
        return PROFILE


async def crash_at(path: Path, clock: VirtualClock, kiln: TinyKiln, t: float) -> str:
    journal = DyingJournal(path)
    eng = Engine(
        {"ctl": kiln},
        plant({"k1": {"controller": "ctl"}}),
        Library(),
        journal,
        clock,
        EngineSettings(checkpoint_s=10.0),
    )
    run_id = await eng.submit(StartJob(ref="ramp", kiln="k1", lot_id="L1"))
    assert run_id is not None
    await clock.sleep(t)
    journal.die()
    pv = kiln.pv
    await eng.submit(Abort(run_id))
    await eng.wait(run_id)
    kiln.set_pv(pv)  # the kiln keeps its heat; only the software died
    journal.close()
    return run_id


async def resume(
    path: Path, clock: VirtualClock, kiln: TinyKiln, run_id: str
) -> tuple[str, Journal, list[Any]]:
    journal = Journal(path)
    eng = Engine({"ctl": kiln}, plant({"k1": {"controller": "ctl"}}), Library(), journal, clock)
    q = eng.subscribe(maxsize=100_000)
    assert [r.run_id for r in journal.unfinished_runs()] == [run_id]
    await eng.resume(run_id)
    if run_id in eng.runs:
        await eng.wait(run_id)
    events = []
    while not q.empty():
        events.append(q.get_nowait())
    return run_id, journal, events


async def test_short_outage_resumes_without_a_setpoint_jump(tmp_path: Path) -> None:
    clock = VirtualClock()
    kiln = TinyKiln("ctl", clock.now)
    run_id = await crash_at(tmp_path / "j.sqlite", clock, kiln, 3605.5)
    pv = kiln.pv
    await clock.sleep(120)  # two-minute power cut: the kiln loses a few degrees
    kiln.set_pv(pv - 5.0)
    _, journal, events = await resume(tmp_path / "j.sqlite", clock, kiln, run_id)
    assert [(e.outcome, e.reason) for e in events if isinstance(e, RunFinished)] == [
        ("completed", "")
    ]
    samples = list(journal.samples(run_id))
    seqs = [s.seq for s in samples]
    assert seqs == list(range(1, len(seqs) + 1))  # none lost, none duplicated
    # the schedule is where it should be: setpoint continuous in time across the outage
    for before, after in itertools.pairwise(samples):
        rate = 300 / 3600 * (after.t - before.t)
        assert after.values["sp_c"] - before.values["sp_c"] <= rate + 1e-6
    assert max(s.values["sp_c"] for s in samples) == pytest.approx(790.0)
    assert journal.runs()[0].outcome == "completed"


async def test_long_outage_stops_safely_and_says_why(tmp_path: Path) -> None:
    clock = VirtualClock()
    kiln = TinyKiln("ctl", clock.now)
    run_id = await crash_at(tmp_path / "j.sqlite", clock, kiln, 1000.5)
    await clock.sleep(20 * 60)
    _, journal, events = await resume(tmp_path / "j.sqlite", clock, kiln, run_id)
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert notices and "longer than 15 min" in notices[0]
    assert journal.runs()[0].outcome == "stopped"
    assert kiln.safe_calls >= 2


async def test_pv_far_from_schedule_stops_safely(tmp_path: Path) -> None:
    clock = VirtualClock()
    kiln = TinyKiln("ctl", clock.now)
    run_id = await crash_at(tmp_path / "j.sqlite", clock, kiln, 2000.5)
    await clock.sleep(60)
    kiln.set_pv(40.0)  # door left open / element gone: far below the schedule
    _, journal, events = await resume(tmp_path / "j.sqlite", clock, kiln, run_id)
    finished = [e for e in events if isinstance(e, RunFinished)]
    assert (
        finished[0].outcome == "stopped"
        and "from where the schedule should be" in finished[0].reason
    )
    assert journal.runs()[0].outcome == "stopped"


async def test_plating_step_resumes_with_its_amp_hours(tmp_path: Path) -> None:
    from eng_models import TinyHeater, TinyRectifier

    from kilnctl.recipes.models import Lot, PlatingRecipe

    recipe = PlatingRecipe.model_validate(
        {
            "name": "ni",
            "steps": [
                {
                    "name": "nickel",
                    "kind": "electro",
                    "tank": "ni",
                    "current": 36,
                    "end": {"amp_hours": 6.0},
                    "deposit": "nickel",
                }
            ],
        }
    )
    lot = Lot.model_validate({"material": "brass", "pin_count": 100, "area_per_pin": 0.12})
    clock = VirtualClock()
    rect = TinyRectifier("rect", clock.now)
    devices: dict[str, object] = {"rect": rect, "heat": TinyHeater("heat", clock.now, 57.0)}
    tanks = plant(tanks={"ni": {"rectifier": "rect", "heater": "heat"}})

    class Plating:
        def get(self, name: str) -> Any:
            return recipe

    journal = DyingJournal(tmp_path / "j.sqlite")
    settings = EngineSettings(checkpoint_s=10.0)
    eng = Engine(devices, tanks, Plating(), journal, clock, settings)
    run_id = await eng.submit(StartJob(ref="ni", lot=lot))
    assert run_id is not None
    await clock.sleep(305.5)  # 3.05 Ah passed; the last checkpoint was at 300 s
    journal.die()
    await eng.submit(Abort(run_id))
    await eng.wait(run_id)
    journal.close()
    await clock.sleep(60)

    journal2 = Journal(tmp_path / "j.sqlite")
    eng2 = Engine(devices, tanks, Plating(), journal2, clock, settings)
    await eng2.resume(run_id)
    assert await eng2.wait(run_id) == "completed"
    (step,) = eng2.runs[run_id].results[-1]["steps"]
    # the step counts 6 Ah in all, the 300 s before the outage included
    assert step["amp_hours"] == pytest.approx(6.0, rel=1e-6)
    assert step["plating_s"] == pytest.approx(600.0, abs=1.5)
    assert clock.now() == pytest.approx(305.5 + 60 + 300, abs=3)
    journal2.close()


def test_a_max_rate_heat_up_resumes_wherever_the_kiln_has_got_to() -> None:
    from kilnctl.engine.resume import resume_refusal
    from kilnctl.engine.schedule import FiringSchedule

    preheat = FiringProfile.model_validate(
        {"name": "pre", "max_temp": 830, "segments": [{"rate": "max", "target": 790, "hold": 600}]}
    )
    settings = EngineSettings()
    schedule = FiringSchedule.from_profile(preheat)
    schedule.start(0.0, 20.0)
    schedule.advance(600.0, 300.0)  # checkpoint: 10 min into the heat-up, PV 300 °C
    saved = schedule.to_dict()
    # 3 min outage; the kiln cooled a little: the setpoint is 790 °C, the kiln far below it
    # but exactly where a full-power heat-up is: resume
    assert resume_refusal(schedule, 780.0, 280.0, settings) is None
    # PV well above the target is no heat-up: refused
    schedule.restore(saved)
    assert resume_refusal(schedule, 780.0, 850.0, settings) is not None
