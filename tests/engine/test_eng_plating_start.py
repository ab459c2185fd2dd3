"""An electro step whose start (voltage limit, current, enable) meets device errors on a
flaky line: retried under the comms-loss policy, then the step fails with the device's
message, the output left off."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from eng_models import TinyRectifier, plant

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import AlarmCleared, AlarmRaised, Event, StartJob, StepFinished
from kilnctl.engine.settings import EngineSettings
from kilnctl.recipes.models import Lot, PlatingRecipe

LOT = Lot.model_validate({"material": "brass", "pin_count": 100, "area_per_pin": 0.12})
NICKEL = PlatingRecipe.model_validate(
    {
        "name": "r",
        "steps": [
            {
                "name": "nickel",
                "kind": "electro",
                "tank": "ni",
                "current_density": 3.0,  # 36 A on 12 dm²
                "voltage_limit": 12,
                "end": {"time": 120},
            }
        ],
    }
)


async def plate(
    rect_setup: Callable[[TinyRectifier], None],
    during: Callable[[VirtualClock, TinyRectifier], Awaitable[None]] | None = None,
) -> tuple[str, str, list[Event], TinyRectifier]:
    clock = VirtualClock()
    rect = TinyRectifier("rect", clock.now)
    rect_setup(rect)
    eng = Engine(
        {"rect": rect},
        plant(tanks={"ni": {"rectifier": "rect"}}),
        None,
        None,
        clock,
        EngineSettings(auto_answer=True, comms_stop_s=30.0),
    )
    q: asyncio.Queue[Event] = eng.subscribe(maxsize=100_000)
    run_id = await eng.submit(StartJob(ref="r", recipe=NICKEL, lot=LOT))
    assert run_id is not None
    if during is not None:
        await during(clock, rect)
    outcome = await eng.wait(run_id)
    events = []
    while not q.empty():
        events.append(q.get_nowait())
    return outcome, eng.runs[run_id].reason, events, rect


def codes(events: list[Event], kind: type[AlarmRaised] | type[AlarmCleared]) -> list[str]:
    return [e.code for e in events if isinstance(e, kind)]


def nickel_result(events: list[Event]) -> dict[str, float]:
    return next(e.details for e in events if isinstance(e, StepFinished) and "step" in e.details)


def fail_first(n: int, after: int = 0) -> Callable[[TinyRectifier], None]:
    def setup(rect: TinyRectifier) -> None:
        rect.commands_before_failing = after
        rect.failing_commands = n

    return setup


async def test_one_failed_command_at_the_start_is_retried() -> None:
    outcome, _, events, rect = await plate(fail_first(1))
    assert outcome == "completed" and rect.failed_commands == 1
    assert codes(events, AlarmRaised) == []
    res = nickel_result(events)
    assert res["plating_s"] == pytest.approx(120.0)
    assert res["amp_hours"] == pytest.approx(36 * 120 / 3600, rel=1e-6)
    assert rect.is_safe


async def test_a_failed_enable_leaves_the_output_off_until_the_retry() -> None:
    seen: list[bool] = []

    async def watch(clock: VirtualClock, rect: TinyRectifier) -> None:
        await clock.sleep(0.5)  # between the failed attempt and the retry one period later
        seen.append(rect.on)

    # limit and current go through, the enable reaches the device but its reply is lost
    outcome, _, events, _rect = await plate(fail_first(1, after=2), watch)
    assert outcome == "completed" and seen == [False]
    res = nickel_result(events)
    assert res["plating_s"] == pytest.approx(120.0)
    assert res["amp_hours"] == pytest.approx(36 * 120 / 3600, rel=1e-6)


async def test_a_few_failed_starts_raise_comms_loss_then_the_step_runs() -> None:
    outcome, _, events, rect = await plate(fail_first(5))
    assert outcome == "completed" and rect.failed_commands == 5
    assert codes(events, AlarmRaised) == ["comms_loss"]
    assert codes(events, AlarmCleared) == ["comms_loss"]
    res = nickel_result(events)
    assert res["plating_s"] == pytest.approx(120.0)
    assert res["duration_s"] == pytest.approx(125.0, abs=0.5)  # five periods late
    assert res["amp_hours"] == pytest.approx(36 * 120 / 3600, rel=1e-6)


async def test_a_start_failing_past_the_comms_limit_fails_the_step_output_off() -> None:
    seen: list[bool] = []

    async def watch(clock: VirtualClock, rect: TinyRectifier) -> None:
        await clock.sleep(10.5)
        seen.append(rect.on)

    outcome, reason, events, rect = await plate(fail_first(10**6, after=2), watch)
    assert outcome == "failed"
    assert "ni: no answer for 30 s" in reason and "bad CRC in the reply" in reason
    assert codes(events, AlarmRaised) == ["comms_loss", "comms_lost"]
    assert seen == [False] and rect.is_safe and rect.amps_sp == 0.0
