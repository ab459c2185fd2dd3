"""Time left in a plating run: per step (time, amp-hours) and for the whole recipe."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from svc_plant import GOLD_AH, LINE, PLATE, RINSE_S, STRIKE_S, Library, running_service

from kilnctl.clock import ScaledClock
from kilnctl.service.client import ServiceClient
from kilnctl.service.timeleft import PlatingProgress

GOLD_S = GOLD_AH / 3.6 * 3600  # 3 dm2 at 1.2 A/dm2


def feed(progress: PlatingProgress, *events: dict[str, Any]) -> None:
    for event in events:
        progress.apply({"run_id": "r", **event})


def test_estimates_follow_timers_pauses_and_amp_hours() -> None:
    p = PlatingProgress(Library(LINE, PLATE))
    feed(
        p,
        {"kind": "run_started", "t": 0, "job_name": "plate", "lot_id": "L"},
        {"kind": "step_started", "t": 1, "index": 0, "label": "line", "step_kind": "plating"},
        {"kind": "plating_step_started", "t": 2, "index": 0, "label": "rinse"},
    )
    est = p.estimate(50)  # the operator has not started the timer yet
    assert est is not None and est.step_s == RINSE_S
    assert est.recipe_s == pytest.approx(RINSE_S + GOLD_S + STRIKE_S)
    feed(p, {"kind": "state", "t": 10, "source": "rinse", "state": "timing"})
    assert p.estimate(15).step_s == RINSE_S - 5  # type: ignore[union-attr]
    feed(
        p,
        {"kind": "state", "t": 16, "source": "run", "state": "paused"},
        {"kind": "state", "t": 26, "source": "run", "state": "running"},
    )
    assert p.estimate(30).step_s == pytest.approx(RINSE_S - 10)  # type: ignore[union-attr]

    feed(
        p,
        {"kind": "plating_step_finished", "t": 40, "index": 0, "label": "rinse", "details": {}},
        {"kind": "plating_step_started", "t": 41, "index": 1, "label": "gold"},
        {"kind": "state", "t": 41, "source": "gold", "state": "plating"},
        {"kind": "sample", "t": 45, "source": "gold", "values": {"amps": 1.8, "amp_hours": 0.01}},
    )
    est = p.estimate(45)
    assert est is not None
    assert est.step_s == pytest.approx(0.01 / 1.8 * 3600)  # at the present current
    assert est.recipe_s == pytest.approx(est.step_s + STRIKE_S)
    feed(p, {"kind": "sample", "t": 46, "source": "gold", "values": {"amps": 0.0}})
    assert p.estimate(46).step_s == pytest.approx(0.01 / 3.6 * 3600)  # type: ignore[union-attr]

    feed(
        p,
        {"kind": "plating_step_finished", "t": 60, "index": 1, "label": "gold", "details": {}},
        {"kind": "plating_step_started", "t": 60, "index": 2, "label": "strike"},
        {"kind": "state", "t": 61, "source": "gold", "state": "plating"},
    )
    est = p.estimate(71)
    assert est is not None and est.step_s == pytest.approx(STRIKE_S - 10) == est.recipe_s
    feed(p, {"kind": "plating_step_finished", "t": 91, "index": 2, "label": "strike"})
    assert p.estimate(92) is None


def test_no_estimate_outside_plating() -> None:
    p = PlatingProgress(Library(LINE, PLATE))
    feed(
        p,
        {"kind": "run_started", "t": 0, "job_name": "missing", "lot_id": "L"},
        {"kind": "step_started", "t": 1, "index": 0, "label": "x", "step_kind": "firing"},
    )
    assert p.estimate(5) is None


async def test_status_gives_plating_time_left(tmp_path: Path) -> None:
    async with running_service(tmp_path, clock=ScaledClock(60)) as h:
        client = await ServiceClient.connect(h.socket)
        await client.request("subscribe")
        await client.request("start", job="plate", lot="TL")
        checked: dict[str, dict[str, Any]] = {}
        async with asyncio.timeout(30):
            async for event in client.events():
                kind = event.get("kind")
                if kind == "prompt":
                    await client.request("answer", prompt=event["prompt_id"], answer="ok")
                elif kind == "state" and event["state"] in ("timing", "plating"):
                    step = event["source"] if event["state"] == "timing" else event["reason"]
                    if step not in checked:
                        (run,) = (await client.request("status"))["runs"]
                        checked[step] = run
                elif kind == "run_finished":
                    assert event["outcome"] == "completed"
                    break
        await client.close()
    rinse, gold, strike = checked["rinse"], checked["gold"], checked["strike"]
    assert 0 < rinse["time_left_s"] <= RINSE_S
    assert rinse["plating_left_s"] == pytest.approx(rinse["time_left_s"] + GOLD_S + STRIKE_S)
    assert 0 < gold["time_left_s"] <= GOLD_S + 1
    assert gold["plating_left_s"] == pytest.approx(gold["time_left_s"] + STRIKE_S)
    assert 0 < strike["time_left_s"] <= STRIKE_S
    assert strike["plating_left_s"] == pytest.approx(strike["time_left_s"])
