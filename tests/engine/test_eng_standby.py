"""The kiln kept hot between a job's firings (docs/process.md: preheated to 790 °C and held for
the session), on the virtual clock with the in-process simulated kiln and the shipped
enamel profiles: PV held while the operator takes 10 minutes to load, no setpoint dip at
the hand-over, journal samples contiguous; abort, alarm and the job's end leave the kiln
safe with no control loop left behind; resume after a crash during the standby."""

from __future__ import annotations

import asyncio
import itertools
import re
import statistics
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eng_crash import DyingJournal
from eng_models import plant

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import (
    Abort,
    AnswerPrompt,
    Event,
    Notice,
    PromptRaised,
    RunFinished,
    Sample,
    SkipSegment,
    StartJob,
    StateChanged,
    StepFinished,
    StepStarted,
)
from kilnctl.engine.settings import EngineSettings
from kilnctl.engine.standby import STANDBY_MAX_S
from kilnctl.journal import Journal
from kilnctl.recipes.loader import RecipeLibrary
from kilnctl.recipes.models import Job
from simulators.inprocess import SimKilnController

LOT = {"material": "gilding_metal", "pin_count": 100, "area_per_pin": 0.12}
PREHEAT = {"kind": "firing", "ref": "enamel-preheat", "kiln": "k1", "label": "preheat"}
COAT = {
    "kind": "firing",
    "ref": "enamel-coat-base",
    "kiln": "k1",
    "label": "coat 1",
    "prompt_before": "load the tray",
    "prompt_after": "unload the tray",
}
TWO_FIRINGS = Job.model_validate({"name": "two-firings", "lot": LOT, "steps": [PREHEAT, COAT]})
TEN_MIN = 600.0


class WatchedKiln(SimKilnController):
    """The simulated kiln and its controller, noting what the engine commanded when."""

    def __init__(self, name: str, clock: VirtualClock) -> None:
        super().__init__(name, clock.now, seed=1)
        self.clock = clock
        self.setpoints: list[tuple[float, float]] = []
        self.safe_at: list[float] = []

    async def set_setpoint(self, sp_c: float) -> None:
        self.setpoints.append((self.clock.now(), sp_c))
        await super().set_setpoint(sp_c)

    async def safe(self) -> None:
        self.safe_at.append(self.clock.now())
        await super().safe()


class Library:
    """The shipped profiles plus the test's jobs."""

    def __init__(self, *jobs: Job) -> None:
        self.shipped = RecipeLibrary()
        self.jobs = {j.name: j for j in jobs}

    def get(self, name: str) -> Any:
        return self.jobs.get(name) or self.shipped.get(name)


Act = Callable[[Engine, str, PromptRaised], Coroutine[Any, Any, None]]


def answer_after(seconds: float, clock: VirtualClock) -> Act:
    async def act(eng: Engine, run_id: str, prompt: PromptRaised) -> None:
        await clock.sleep(seconds)
        await eng.submit(AnswerPrompt(run_id, prompt_id=prompt.prompt_id, who="test"))

    return act


def abort_after(seconds: float, clock: VirtualClock) -> Act:
    async def act(eng: Engine, run_id: str, prompt: PromptRaised) -> None:
        await clock.sleep(seconds)
        await eng.submit(Abort(run_id, who="test"))

    return act


@dataclass
class Shop:
    """An engine on the virtual clock with simulated kilns k1 (ctl1) and k2 (ctl2)."""

    clock: VirtualClock = field(default_factory=VirtualClock)
    journal: Journal | None = None
    kilns: dict[str, WatchedKiln] = field(default_factory=dict)

    mode: str = "setpoint"

    def engine(self, *jobs: Job, checkpoint_s: float = 30.0) -> Engine:
        if not self.kilns:
            self.kilns = {n: WatchedKiln(n, self.clock) for n in ("ctl1", "ctl2")}
        kilns = {"k1": {"controller": "ctl1", "mode": self.mode}, "k2": {"controller": "ctl2"}}
        return Engine(
            dict(self.kilns),
            plant(kilns),
            Library(*jobs),
            self.journal,
            self.clock,
            EngineSettings(checkpoint_s=checkpoint_s),
        )

    async def follow(
        self, eng: Engine, run_id: str, queue: asyncio.Queue[Event], acts: dict[str, Act]
    ) -> list[Event]:
        """Events until the run finishes; each prompt gets its act (default: "ok" now)."""
        events: list[Event] = []
        tasks = set()
        while True:
            event = await queue.get()
            events.append(event)
            if isinstance(event, PromptRaised):
                act = acts.get(event.text, answer_after(0.0, self.clock))
                task = asyncio.get_running_loop().create_task(act(eng, run_id, event))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            elif isinstance(event, RunFinished):
                return events

    async def run(self, job: Job, acts: dict[str, Act]) -> tuple[str, list[Event]]:
        eng = self.engine(job)
        queue = eng.subscribe(maxsize=1_000_000)
        run_id = await eng.submit(StartJob(ref=job.name, lot_id="L1", who="test"))
        assert run_id is not None
        return run_id, await self.follow(eng, run_id, queue, acts)


def at(events: list[Event], kind: type[Event], **match: Any) -> float:
    """Time (engine's wall clock) of the first event of `kind` with those fields."""
    return next(
        e.t
        for e in events
        if isinstance(e, kind) and all(getattr(e, k) == v for k, v in match.items())
    )


def kiln_samples(events: list[Event], source: str = "k1") -> list[Sample]:
    return [e for e in events if isinstance(e, Sample) and e.source == source]


async def assert_left_safe(shop: Shop, kiln: WatchedKiln) -> None:
    """Heat off now, and no control loop still writing setpoints a simulated hour later."""
    writes = len(kiln.setpoints)
    await shop.clock.sleep(3600)
    assert len(kiln.setpoints) == writes
    reading = await kiln.read()
    assert kiln.safe_at and reading.sp_c == 0.0 and reading.output_pct == 0.0


async def test_kiln_held_at_790_while_the_operator_takes_10_minutes_to_load(
    tmp_path: Path,
) -> None:
    shop = Shop(journal=Journal(tmp_path / "j.sqlite"))
    run_id, events = await shop.run(
        TWO_FIRINGS, {"load the tray": answer_after(TEN_MIN, shop.clock)}
    )
    finished = [e for e in events if isinstance(e, RunFinished)]
    assert [(e.outcome, e.reason) for e in finished] == [("completed", "")]
    kiln = shop.kilns["ctl1"]
    wall0 = shop.clock.wall_time() - shop.clock.now()  # engine times are wall times
    preheat_done = at(events, StepFinished, label="preheat")
    asked = at(events, PromptRaised, text="load the tray")
    coat_done = at(events, StepFinished, label="coat 1")
    # during the 10-minute wait: PV within a few °C of 790, setpoint 790, in control
    waiting = [s for s in kiln_samples(events) if asked <= s.t < asked + TEN_MIN]
    assert len(waiting) >= TEN_MIN - 2
    assert all(abs(s.values["pv_c"] - 790.0) <= 3.0 for s in waiting)
    assert {s.values["sp_c"] for s in waiting} == {790.0}
    # the setpoint stream from the end of the preheat to the end of the coat never drops
    between = [sp for t, sp in kiln.setpoints if preheat_done - wall0 <= t <= coat_done - wall0]
    assert between and min(between) >= 790.0
    assert min(kiln.safe_at) >= coat_done - wall0  # not made safe before the job's end
    states = [e for e in events if isinstance(e, StateChanged) and e.source == "k1"]
    assert [s.state for s in states] == ["standby", "firing"]  # held, then handed over
    # the journal: one source, contiguous seq, no gap in time across the standby
    assert shop.journal is not None
    journal_samples = [s for s in shop.journal.samples(run_id) if s.source == "k1"]
    assert [s.seq for s in journal_samples] == list(range(1, len(journal_samples) + 1))
    assert {b.t - a.t for a, b in itertools.pairwise(journal_samples)} == {1.0}  # one period
    await assert_left_safe(shop, kiln)


async def test_direct_mode_holds_too_and_hands_its_pid_over_without_a_bump() -> None:
    shop = Shop(mode="direct")  # software PID writing SSR duty
    _, events = await shop.run(TWO_FIRINGS, {"load the tray": answer_after(TEN_MIN, shop.clock)})
    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "completed"
    asked = at(events, PromptRaised, text="load the tray")
    samples = kiln_samples(events)
    waiting = [s for s in samples if asked <= s.t < asked + TEN_MIN]
    assert all(abs(s.values["pv_c"] - 790.0) <= 3.0 for s in waiting)
    # from the preheat's hold to the standby the output goes on where the PID had it
    # (derivative on a noisy thermocouple: compare half-minute means), one period apart
    held = next(i for i, e in enumerate(events) if isinstance(e, StateChanged))
    before, after = kiln_samples(events[:held])[-30:], kiln_samples(events[held:])[:30]
    assert after[0].t - before[-1].t == 1.0
    mean_before, mean_after = (
        statistics.mean(s.values["out_pct"] for s in x) for x in (before, after)
    )
    assert mean_after == pytest.approx(mean_before, abs=10.0) and mean_before > 30.0


async def test_without_a_firing_next_on_that_kiln_it_goes_safe_at_once() -> None:
    other_kiln = {**COAT, "kiln": "k2", "prompt_before": "load kiln 2"}
    job = Job.model_validate({"name": "k1-then-k2", "lot": LOT, "steps": [PREHEAT, other_kiln]})
    shop = Shop()
    _, events = await shop.run(job, {"load kiln 2": answer_after(TEN_MIN, shop.clock)})
    wall0 = shop.clock.wall_time() - shop.clock.now()
    preheat_done = at(events, StepFinished, label="preheat") - wall0
    assert min(shop.kilns["ctl1"].safe_at) == pytest.approx(preheat_done, abs=1.0)
    assert not [e for e in events if isinstance(e, StateChanged) and e.state == "standby"]


async def test_no_standby_before_a_firing_whose_max_temperature_is_below_it() -> None:
    bake = {"kind": "firing", "ref": "soft-enamel-bake", "kiln": "k1", "prompt_before": "load"}
    job = Job.model_validate({"name": "hot-then-cool", "lot": LOT, "steps": [PREHEAT, bake]})
    shop = Shop()
    _, events = await shop.run(job, {})
    wall0 = shop.clock.wall_time() - shop.clock.now()
    preheat_done = at(events, StepFinished, label="preheat") - wall0
    assert min(shop.kilns["ctl1"].safe_at) == pytest.approx(preheat_done, abs=1.0)
    assert not [e for e in events if isinstance(e, StateChanged) and e.state == "standby"]


async def test_standby_spans_operator_prompt_steps_until_the_next_firing() -> None:
    pack = {"kind": "prompt", "label": "pack colours", "text": "pack the colour coat"}
    job = Job.model_validate({"name": "with-packing", "lot": LOT, "steps": [PREHEAT, pack, COAT]})
    shop = Shop()
    _, events = await shop.run(job, {"pack the colour coat": answer_after(TEN_MIN, shop.clock)})
    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "completed"
    kiln = shop.kilns["ctl1"]
    wall0 = shop.clock.wall_time() - shop.clock.now()
    coat_done = at(events, StepFinished, label="coat 1") - wall0
    assert min(kiln.safe_at) >= coat_done
    packing = at(events, PromptRaised, text="pack the colour coat")
    held = [s for s in kiln_samples(events) if packing <= s.t <= packing + TEN_MIN]
    assert min(s.values["pv_c"] for s in held) >= 787.0


async def test_skip_ends_the_standby_with_heat_off_and_the_job_goes_on() -> None:
    shop = Shop()

    async def skip_then_load(eng: Engine, run_id: str, prompt: PromptRaised) -> None:
        await shop.clock.sleep(60)
        await eng.submit(SkipSegment(run_id, who="test"))
        await answer_after(TEN_MIN, shop.clock)(eng, run_id, prompt)

    _, events = await shop.run(TWO_FIRINGS, {"load the tray": skip_then_load})
    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "completed"
    states = [(e.state, e.reason) for e in events if isinstance(e, StateChanged)]
    assert states == [
        ("standby", "held at 790 °C for the next firing"),
        ("off", "standby ended: heat off"),
    ]
    wall0 = shop.clock.wall_time() - shop.clock.now()
    skipped = at(events, PromptRaised, text="load the tray") + 60 - wall0
    assert min(shop.kilns["ctl1"].safe_at) == pytest.approx(skipped, abs=1.5)


async def test_a_standby_nobody_ends_goes_safe_after_its_time_limit() -> None:
    shop = Shop()
    late = STANDBY_MAX_S + TEN_MIN
    _, events = await shop.run(TWO_FIRINGS, {"load the tray": answer_after(late, shop.clock)})
    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "completed"
    wall0 = shop.clock.wall_time() - shop.clock.now()
    held = at(events, StateChanged, state="standby") - wall0
    ended = at(events, StateChanged, state="off") - wall0
    assert ended - held == pytest.approx(STANDBY_MAX_S, abs=2.0)
    assert min(shop.kilns["ctl1"].safe_at) == pytest.approx(ended, abs=1.0)


async def test_abort_during_standby_leaves_the_kiln_safe() -> None:
    shop = Shop()
    _, events = await shop.run(TWO_FIRINGS, {"load the tray": abort_after(300, shop.clock)})
    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "aborted"
    kiln = shop.kilns["ctl1"]
    wall0 = shop.clock.wall_time() - shop.clock.now()
    aborted_at = at(events, PromptRaised, text="load the tray") + 300 - wall0
    assert min(kiln.safe_at) == pytest.approx(aborted_at, abs=1.5)
    coat = [e for e in events if isinstance(e, StepFinished) and e.label == "coat 1"]
    assert coat[0].outcome == "aborted"
    await assert_left_safe(shop, kiln)


async def test_alarm_during_standby_aborts_the_job_with_the_kiln_safe() -> None:
    shop = Shop()

    async def break_thermocouple(eng: Engine, run_id: str, prompt: PromptRaised) -> None:
        await shop.clock.sleep(120)
        shop.kilns["ctl1"].inject("tc_open")

    _, events = await shop.run(TWO_FIRINGS, {"load the tray": break_thermocouple})
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert finished.outcome == "aborted" and "sensor break" in finished.reason
    # the controller's reading as an operator reads it: "PV reads 1372.0 °C", not a raw float
    assert re.search(r"sensor break \(PV reads -?\d+\.\d °C\)", finished.reason), finished.reason
    await assert_left_safe(shop, shop.kilns["ctl1"])


# ------------------------------------------------------------------ resume during standby


async def crash_during_standby(tmp_path: Path, outage_s: float) -> tuple[Shop, str, float]:
    """Run until 5 min into the "load the tray" wait, then the process dies; the power
    is off for outage_s (heat off). Returns the shop, the run id and the crash time."""
    shop = Shop()
    journal = DyingJournal(tmp_path / "j.sqlite")
    shop.journal = journal
    eng = shop.engine(TWO_FIRINGS, checkpoint_s=10.0)
    queue = eng.subscribe(maxsize=1_000_000)
    run_id = await eng.submit(StartJob(ref=TWO_FIRINGS.name, lot_id="L1", who="test"))
    assert run_id is not None
    died = asyncio.Event()

    async def die_while_waiting(eng: Engine, run_id: str, prompt: PromptRaised) -> None:
        await shop.clock.sleep(300)
        journal.die()
        died.set()
        await eng.submit(Abort(run_id))

    await shop.follow(eng, run_id, queue, {"load the tray": die_while_waiting})
    assert died.is_set()
    crashed = shop.clock.now()
    journal.close()
    await shop.clock.sleep(outage_s)
    shop.journal = Journal(tmp_path / "j.sqlite")
    return shop, run_id, crashed


async def test_resume_during_standby_holds_the_kiln_again_and_asks_again(
    tmp_path: Path,
) -> None:
    shop, run_id, crashed = await crash_during_standby(tmp_path, outage_s=60)
    eng = shop.engine(TWO_FIRINGS)
    queue = eng.subscribe(maxsize=1_000_000)
    await eng.resume(run_id)
    events = await shop.follow(eng, run_id, queue, {"load the tray": answer_after(120, shop.clock)})
    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "completed"
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert any(m.startswith("standby resumed at setpoint 790.0 °C") for m in notices)
    # commanded back to 790 before the operator was asked again
    kiln = shop.kilns["ctl1"]
    wall0 = shop.clock.wall_time() - shop.clock.now()
    asked = at(events, PromptRaised, text="load the tray") - wall0
    assert [sp for t, sp in kiln.setpoints if crashed < t <= asked] == [790.0]
    steps = [(e.label, e.index) for e in events if isinstance(e, StepStarted)]
    assert steps == [("coat 1", 1)]  # the preheat is done; the coat asks to load again
    assert shop.journal is not None
    samples = [s for s in shop.journal.samples(run_id) if s.source == "k1"]
    assert [s.seq for s in samples] == list(range(1, len(samples) + 1))
    await assert_left_safe(shop, kiln)


async def test_resume_after_the_kiln_cooled_during_standby_stops_safely(
    tmp_path: Path,
) -> None:
    # ten minutes with the heat off: PV falls ~40 °C, more than the 28 °C resume band
    shop, run_id, _ = await crash_during_standby(tmp_path, outage_s=TEN_MIN)
    eng = shop.engine(TWO_FIRINGS)
    queue = eng.subscribe(maxsize=1_000_000)
    await eng.resume(run_id)
    events = await shop.follow(eng, run_id, queue, {})
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.outcome == "stopped"
    assert "from the setpoint the run would go on from (790.0 °C)" in finished.reason
    assert not [e for e in events if isinstance(e, PromptRaised)]
    assert shop.journal is not None and shop.journal.runs()[0].outcome == "stopped"
    await assert_left_safe(shop, shop.kilns["ctl1"])


async def test_pins_left_in_the_hot_kiln_raise_an_unload_alarm_until_unloaded() -> None:
    from kilnctl.engine.messages import AlarmCleared, AlarmRaised

    coat2 = {**COAT, "label": "coat 2", "prompt_before": "load coat 2"}
    job = Job.model_validate({"name": "two-coats", "lot": LOT, "steps": [PREHEAT, COAT, coat2]})
    shop = Shop()
    # the technician takes 10 minutes to unload coat 1 while the kiln is kept hot
    _, events = await shop.run(job, {"unload the tray": answer_after(TEN_MIN, shop.clock)})
    raised = [e for e in events if isinstance(e, AlarmRaised) and e.code == "unload_late"]
    assert len(raised) == 1 and raised[0].source == "k1"
    asked = at(events, PromptRaised, text="unload the tray")
    # enamel-coat-base: warn past 3 min at temperature, 2 min hold -> a 60 s margin
    assert raised[0].t - asked == pytest.approx(60.0, abs=1.0)
    cleared = [e for e in events if isinstance(e, AlarmCleared) and e.code == "unload_late"]
    assert len(cleared) == 1 and cleared[0].t - asked == pytest.approx(TEN_MIN, abs=2.0)
