"""Jobs: steps in order with prompts answered by the test; several runs in parallel;
a slow subscriber never blocks the engine; a busy kiln refuses a second run."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from eng_models import TinyHeater, TinyKiln, TinyRectifier, plant

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine, EngineError
from kilnctl.engine.messages import (
    AnswerPrompt,
    Event,
    PromptRaised,
    RunFinished,
    StartJob,
    StepFinished,
)
from kilnctl.recipes.models import FiringProfile, Job, PlatingRecipe


class Library:
    def __init__(self, *recipes: Any) -> None:
        self.recipes = {r.name: r for r in recipes}

    def get(self, name: str) -> Any:
        return self.recipes[name]


COAT = FiringProfile.model_validate(
    {
        "name": "coat",
        "max_temp": 850,
        "trip": 870,
        "segments": [
            {
                "rate": "max",
                "target": 790,
                "hold": "2 min",
                "warn_hold": "3 min",
                "max_hold": "5 min",
            },
            {"rate": "max", "target": 500},
        ],
    }
)
FLASH = PlatingRecipe.model_validate(
    {
        "name": "flash",
        "steps": [
            {"name": "rinse", "kind": "timed", "duration": "30 s"},
            {
                "name": "gold",
                "kind": "electro",
                "tank": "au",
                "current_density": 1.2,
                "end": {"time": "20 s"},
                "deposit": "gold",
                "voltage_limit": 6,
            },
        ],
    }
)
JOB = Job.model_validate(
    {
        "name": "pins",
        "lot": {"material": "gilding_metal", "pin_count": 100, "area_per_pin": 0.12},
        "steps": [
            {
                "kind": "firing",
                "ref": "coat",
                "kiln": "k1",
                "label": "coat 1",
                "prompt_before": "load coat 1",
                "prompt_after": "unload coat 1",
            },
            {"kind": "prompt", "text": "stone the pins"},
            {"kind": "plating", "ref": "flash"},
        ],
    }
)


def make_engine(clock: VirtualClock, kilns: int = 1) -> tuple[Engine, list[TinyKiln]]:
    kiln_models = [TinyKiln(f"ctl{i}", clock.now) for i in range(kilns)]
    devices: dict[str, object] = {k.name: k for k in kiln_models}
    devices["rect"] = TinyRectifier("rect", clock.now)
    devices["heat"] = TinyHeater("heat", clock.now, 62.0)
    p = plant(
        {f"k{i + 1}": {"controller": f"ctl{i}"} for i in range(kilns)},
        {"au": {"rectifier": "rect", "heater": "heat"}},
    )
    return Engine(devices, p, Library(COAT, FLASH, JOB), None, clock), kiln_models


async def test_job_runs_steps_in_order_with_prompts_answered_by_the_test() -> None:
    clock = VirtualClock()
    eng, (kiln,) = make_engine(clock)
    q = eng.subscribe(maxsize=100_000)
    run_id = await eng.submit(StartJob(ref="pins", lot_id="L42"))
    assert run_id is not None
    texts = []
    finished: list[StepFinished] = []
    while True:
        event = await q.get()
        if isinstance(event, PromptRaised):
            texts.append(event.text)
            await eng.submit(AnswerPrompt(run_id, prompt_id=event.prompt_id, who="test"))
        elif isinstance(event, StepFinished):
            finished.append(event)
        elif isinstance(event, RunFinished):
            assert event.outcome == "completed"
            break
    assert texts[:3] == ["load coat 1", "unload coat 1", "stone the pins"]
    assert len(texts) == 5  # + rinse start and rinse confirmation
    job_steps = [f for f in finished if "step" not in f.details]
    assert [f.label for f in job_steps] == ["coat 1", "prompt", "flash"]
    gold = next(f for f in finished if f.details.get("step") == "gold")
    # 1.2 A/dm² × 12 dm² = 14.4 A for 20 s = 0.08 Ah; 7.356·0.5·0.08·100/(19.3·12) µm
    assert gold.details["amp_hours"] == pytest.approx(14.4 * 20 / 3600)
    assert gold.details["thickness_um"] == pytest.approx(
        100 * 0.08 * 7.356 * 0.5 / (19.3 * 12), rel=1e-6
    )
    assert kiln.is_safe and eng.runs[run_id].results[-1]["outcome"] == "completed"


async def test_abort_answer_to_a_prompt_stops_the_job() -> None:
    clock = VirtualClock()
    eng, (kiln,) = make_engine(clock)
    q = eng.subscribe()
    run_id = await eng.submit(StartJob(ref="pins"))
    assert run_id is not None
    event = await q.get()
    while not isinstance(event, PromptRaised):
        event = await q.get()
    await eng.submit(AnswerPrompt(run_id, prompt_id=event.prompt_id, answer="abort"))
    assert await eng.wait(run_id) == "aborted"
    assert kiln.safe_calls >= 1


async def test_several_firings_in_parallel_and_busy_kiln_refused() -> None:
    clock = VirtualClock()
    eng, kilns = make_engine(clock, kilns=3)
    ids = [await eng.submit(StartJob(ref="coat", kiln=f"k{i + 1}")) for i in range(3)]
    with pytest.raises(EngineError, match="busy"):
        await eng.submit(StartJob(ref="coat", kiln="k2"))
    outcomes = await asyncio.gather(*(eng.wait(i) for i in ids if i is not None))
    assert outcomes == ["completed"] * 3
    assert all(k.is_safe for k in kilns)
    # all three ran at once: each reached 790 °C within the same stretch of virtual time
    assert clock.now() < 4000  # one coat takes ~3650 s; one after another: ~11000 s


async def test_slow_subscriber_drops_oldest_and_never_blocks() -> None:
    clock = VirtualClock()
    eng, _ = make_engine(clock)
    slow: asyncio.Queue[Event] = eng.subscribe(maxsize=5)
    run_id = await eng.submit(StartJob(ref="coat", kiln="k1"))
    assert run_id is not None
    assert await eng.wait(run_id) == "completed"
    kept = [slow.get_nowait() for _ in range(slow.qsize())]
    assert len(kept) == 5 and isinstance(kept[-1], RunFinished)
