"""Resume from a journal checkpoint after a simulated power cut (the journal stops taking
writes, as if the process died): the setpoint goes on from the last one sent (the outage
is not run through), a paused run comes back paused, sample seq contiguous; or a safe stop
with the reason when the outage was long or the PV is far from the schedule. (Real
processes killed with SIGKILL: test_eng_sigkill.py.)"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from eng_crash import DyingJournal
from eng_models import TinyKiln, plant

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import (
    Abort,
    Notice,
    Pause,
    Resume,
    RunFinished,
    Sample,
    StartJob,
    StateChanged,
)
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
    def __init__(self, profile: FiringProfile = PROFILE) -> None:
        self.profile = profile

    def get(self, name: str) -> Any:
        assert name == "ramp"
        return self.profile


async def crash_at(
    path: Path,
    clock: VirtualClock,
    kiln: TinyKiln,
    t: float,
    settings: EngineSettings | None = None,
    pause_at: float | None = None,
    library: Library | None = None,
) -> str:
    """Run the ramp profile (or `library`'s); pause it `pause_at` s in (if given); the
    process dies at t."""
    journal = DyingJournal(path)
    eng = Engine(
        {"ctl": kiln},
        plant({"k1": {"controller": "ctl"}}),
        library or Library(),
        journal,
        clock,
        settings or EngineSettings(checkpoint_s=10.0),
    )
    run_id = await eng.submit(StartJob(ref="ramp", kiln="k1", lot_id="L1"))
    assert run_id is not None
    if pause_at is not None:
        await clock.sleep(pause_at)
        await eng.submit(Pause(run_id))
    await clock.sleep(t - (pause_at or 0.0))
    journal.die()
    pv = kiln.pv
    await eng.submit(Abort(run_id))
    await eng.wait(run_id)
    kiln.set_pv(pv)  # the kiln keeps its heat; only the software died
    journal.close()
    return run_id


async def resume(
    path: Path, clock: VirtualClock, kiln: TinyKiln, run_id: str, library: Library | None = None
) -> tuple[str, Journal, list[Any]]:
    journal = Journal(path)
    eng = Engine(
        {"ctl": kiln}, plant({"k1": {"controller": "ctl"}}), library or Library(), journal, clock
    )
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


async def test_ramp_goes_on_from_the_last_setpoint_sent_not_through_the_outage(
    tmp_path: Path,
) -> None:
    # killed mid-ramp at 300 °C/h, power back after 5 min: running the outage through
    # would put the setpoint 25 °C on
    clock = VirtualClock()
    kiln = TinyKiln("ctl", clock.now)
    path = tmp_path / "j.sqlite"
    run_id = await crash_at(path, clock, kiln, 1000.5, EngineSettings())
    with Journal(path) as journal:
        last = list(journal.samples(run_id))[-1]
    pv = kiln.pv
    await clock.sleep(300)
    kiln.set_pv(pv - 5.0)
    _, journal, events = await resume(path, clock, kiln, run_id)
    resumed = [e for e in events if isinstance(e, Sample)]
    assert resumed[0].values["sp_c"] == pytest.approx(last.values["sp_c"], abs=1e-9)
    assert resumed[0].seq == last.seq + 1
    (notice,) = [e.message for e in events if isinstance(e, Notice)]
    assert f"resumed at setpoint {last.values['sp_c']:.1f} °C" in notice
    assert "5.0 min outage is not counted" in notice
    # the whole ramp is still run at its rate: the outage made the run longer
    ramp_s = (790 - 20) / 300 * 3600
    assert resumed[-1].t - last.t == pytest.approx(300 + ramp_s - 1000 + 600, abs=5)
    assert journal.runs()[0].outcome == "completed"
    journal.close()


async def test_paused_run_comes_back_paused_at_its_held_setpoint(tmp_path: Path) -> None:
    # paused at 320 °C on a 300 °C/h ramp, killed 60 s later, power back after 5 min
    clock = VirtualClock()
    kiln = TinyKiln("ctl", clock.now)
    path = tmp_path / "j.sqlite"
    run_id = await crash_at(path, clock, kiln, 3660.5, EngineSettings(), pause_at=3600.5)
    with Journal(path) as journal:
        held = list(journal.samples(run_id))[-1].values["sp_c"]
    assert held == pytest.approx(320.0, abs=0.2)
    await clock.sleep(300)
    kiln.set_pv(held - 10.0)  # the kiln cooled a little with the heat off

    journal = Journal(path)
    eng = Engine({"ctl": kiln}, plant({"k1": {"controller": "ctl"}}), Library(), journal, clock)
    queue = eng.subscribe(maxsize=100_000)
    await eng.resume(run_id)
    await clock.sleep(600)  # ten minutes later it is still held there
    events = [queue.get_nowait() for _ in range(queue.qsize())]
    assert StateChanged(run_id, events[1].t, "run", "paused", events[1].reason) in events
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert notices == [f"firing resumed paused at {held:.1f} °C (PV {held - 10:.1f} °C), "
                       "held there: press r to continue"]  # fmt: skip
    still = [e.values["sp_c"] for e in events if isinstance(e, Sample)]
    assert len(still) == 600 and set(still) == {held}
    assert kiln.sp == held

    await eng.submit(Resume(run_id))  # r
    await clock.sleep(60)
    after = [queue.get_nowait() for _ in range(queue.qsize())]
    moving = [e for e in after if isinstance(e, Sample)]
    assert moving[-1].values["sp_c"] == pytest.approx(held + 300 / 3600 * 60, abs=0.1)
    await eng.submit(Abort(run_id))
    assert await eng.wait(run_id) == "aborted"
    seqs = [s.seq for s in journal.samples(run_id)]
    assert seqs == list(range(1, len(seqs) + 1))
    journal.close()


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
        and "from the setpoint the run would go on from" in finished[0].reason
    )
    assert journal.runs()[0].outcome == "stopped"


@pytest.mark.parametrize(("fell_c", "outcome"), [(60.0, "stopped"), (10.0, "completed")])
async def test_a_max_rate_heat_up_that_cooled_in_the_outage_stops_safely(
    tmp_path: Path, fell_c: float, outcome: str
) -> None:
    """Killed 5 min into a full-power heat-up to 790 °C; while the process was down the
    kiln lost 60 °C (or 10 °C). Before, a `max` ramp was exempt from the band (any PV
    below the target passed) and went on whatever the fall; a rate ramp at the same point
    is stopped. Now the PV must be within the band (28 °C) of where it was when the run
    died: 60 °C lost stops safely, saying so; 10 °C resumes."""
    library = Library(
        FiringProfile.model_validate(
            {
                "name": "ramp",
                "max_temp": 900,
                "segments": [
                    {"rate": "max", "target": 790, "hold": 60, "warn_hold": 300, "max_hold": 600}
                ],
            }
        )
    )
    clock = VirtualClock()
    kiln = TinyKiln("ctl", clock.now)
    run_id = await crash_at(tmp_path / "j.sqlite", clock, kiln, 300.5, library=library)
    died_at_c = kiln.pv
    assert 200 < died_at_c < 700  # in the heat-up
    await clock.sleep(600)
    kiln.set_pv(died_at_c - fell_c)
    _, journal, events = await resume(tmp_path / "j.sqlite", clock, kiln, run_id, library)
    [finished] = [e for e in events if isinstance(e, RunFinished)]
    assert finished.outcome == outcome, finished.reason
    if outcome == "stopped":
        assert f"fell {fell_c:.1f} °C during the outage" in finished.reason
        assert kiln.safe_calls >= 2
    journal.close()


class NickelTank:
    """A nickel step to 6 Ah at 36 A (600 s) on an ideal rectifier, for a 100-pin lot."""

    def __init__(self, clock: VirtualClock) -> None:
        from eng_models import TinyHeater, TinyRectifier

        from kilnctl.recipes.models import Lot, PlatingRecipe

        self.recipe = PlatingRecipe.model_validate(
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
        self.lot = Lot.model_validate({"material": "brass", "pin_count": 100, "area_per_pin": 0.12})
        self.rect = TinyRectifier("rect", clock.now)
        self.devices: dict[str, object] = {
            "rect": self.rect,
            "heat": TinyHeater("heat", clock.now, 57.0),
        }
        self.tanks = plant(tanks={"ni": {"rectifier": "rect", "heater": "heat"}})

    def get(self, name: str) -> Any:
        return self.recipe

    def engine(self, journal: Journal, clock: VirtualClock, settings: EngineSettings) -> Engine:
        return Engine(self.devices, self.tanks, self, journal, clock, settings)


async def test_plating_step_resumes_with_its_amp_hours(tmp_path: Path) -> None:
    clock = VirtualClock()
    tank = NickelTank(clock)
    journal = DyingJournal(tmp_path / "j.sqlite")
    settings = EngineSettings(checkpoint_s=10.0)
    eng = tank.engine(journal, clock, settings)
    run_id = await eng.submit(StartJob(ref="ni", lot=tank.lot))
    assert run_id is not None
    await clock.sleep(305.5)  # 3.05 Ah passed; the last checkpoint was at 300 s
    journal.die()
    await eng.submit(Abort(run_id))
    await eng.wait(run_id)
    journal.close()
    await clock.sleep(60)

    journal2 = Journal(tmp_path / "j.sqlite")
    eng2 = tank.engine(journal2, clock, settings)
    await eng2.resume(run_id)
    assert await eng2.wait(run_id) == "completed"
    (step,) = eng2.runs[run_id].results[-1]["steps"]
    # the step counts 6 Ah in all, the 300 s before the outage included
    assert step["amp_hours"] == pytest.approx(6.0, rel=1e-6)
    assert step["plating_s"] == pytest.approx(600.0, abs=1.5)
    assert clock.now() == pytest.approx(305.5 + 60 + 300, abs=3)
    journal2.close()


async def test_paused_plating_comes_back_paused_with_its_output_off(tmp_path: Path) -> None:
    # the paused flag belongs to the run, not to a kiln: a tank stays paused too
    clock = VirtualClock()
    tank = NickelTank(clock)
    journal = DyingJournal(tmp_path / "j.sqlite")
    eng = tank.engine(journal, clock, EngineSettings())
    run_id = await eng.submit(StartJob(ref="ni", lot=tank.lot))
    assert run_id is not None
    await clock.sleep(200.5)  # 2 Ah
    await eng.submit(Pause(run_id))
    await clock.sleep(60)
    journal.die()
    await eng.submit(Abort(run_id))
    await eng.wait(run_id)
    journal.close()
    await clock.sleep(60)

    journal2 = Journal(tmp_path / "j.sqlite")
    eng2 = tank.engine(journal2, clock, EngineSettings())
    queue = eng2.subscribe(maxsize=100_000)
    await eng2.resume(run_id)
    await clock.sleep(120)
    assert not tank.rect.on
    events = [queue.get_nowait() for _ in range(queue.qsize())]
    assert ("run", "paused") in [(e.source, e.state) for e in events if isinstance(e, StateChanged)]
    ah = [e.values["amp_hours"] for e in events if isinstance(e, Sample) and e.source == "ni"]
    assert len(ah) >= 100 and len(set(ah)) == 1 and ah[0] == pytest.approx(2.0, abs=0.02)
    await eng2.submit(Resume(run_id))
    assert await eng2.wait(run_id) == "completed"
    (step,) = eng2.runs[run_id].results[-1]["steps"]
    assert step["amp_hours"] == pytest.approx(6.0, rel=1e-6)
    assert step["plating_s"] == pytest.approx(600.0, abs=1.5)
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
