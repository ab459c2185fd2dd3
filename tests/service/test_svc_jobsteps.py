"""The job's steps in "status" and "steps": device, status, times and ETAs, from the
engine's plan and the run's events (kilnctl/service/jobsteps.py)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from svc_plant import BAKE, FLASH, LINE, running_service

from kilnctl.cli.cmd_demo import kilnctl_argv
from kilnctl.clock import ScaledClock
from kilnctl.engine.job import PlanStep
from kilnctl.engine.messages import Abort
from kilnctl.recipes import estimate
from kilnctl.recipes.models import FiringProfile
from kilnctl.service.client import RequestFailed, ServiceClient
from kilnctl.service.jobsteps import JobSteps, StepRow, plan_rows

AREA_DM2 = 25 * 0.12  # the "pins" and "plate" jobs' lot


async def test_status_lists_the_steps_with_devices_planned_times_and_etas(
    tmp_path: Path,
) -> None:
    async with running_service(tmp_path) as h:
        client = await ServiceClient.connect(h.socket)
        run = (await client.request("start", job="pins", lot="S1"))["run"]
        status = await client.request("status")
        (snap,) = status["runs"]
        bake, flash = snap["steps"]
        # the "load the kiln" prompt is open: the bake is the current step, not fired yet
        assert (bake["label"], bake["unit"], bake["status"]) == ("bake", "k1", "running")
        assert (flash["label"], flash["unit"], flash["status"]) == ("flash", "gold", "pending")
        assert bake["top_c"] == 100.0 and bake["recipe"] == "bake"
        assert bake["planned_s"] == pytest.approx(estimate.estimate_firing(BAKE).duration_s)
        assert flash["planned_s"] == pytest.approx(estimate.plating_duration_s(FLASH, AREA_DM2))
        assert bake["started_at"] is not None and bake["ended_at"] is None
        # not fired yet (the load prompt open): its whole planned time, however long the
        # operator takes (the drill showed ~0:00:00 once the prompt outlasted the plan)
        assert bake["left_s"] == pytest.approx(bake["planned_s"])
        assert flash["left_s"] == pytest.approx(bake["left_s"] + 30.0)

        # `kilnctl status --steps` (a real process) prints the same steps as the TUI's j
        proc = await asyncio.create_subprocess_exec(
            *kilnctl_argv("status", "--steps", "--socket", str(h.socket)),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        async with asyncio.timeout(30):
            out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        text = out.decode()
        assert re.search(r"0 of 2 steps done; job ETA \d\d:\d\d \(in ~0:\d\d:\d\d\)", text), text
        assert re.search(r" 1 bake +k1 +running +\d\d:\d\d +0:24:48 +\d\d:\d\d", text), text
        assert re.search(r" 2 flash +gold +pending +0:00:30 +\d\d:\d\d", text), text

        await h.engine.submit(Abort(run_id=run, who="test", reason="wrong lot"))
        async with asyncio.timeout(10):
            assert await h.engine.wait(run) == "aborted"
        # ended, the run is still there for the job view, with how each step ended
        reply = await client.request("steps", run=run)
        ended = reply["run"]
        assert ended["outcome"] == "aborted" and "wrong lot" in ended["reason"]
        bake, flash = ended["steps"]
        assert bake["status"] == "aborted" and "wrong lot" in bake["reason"]
        assert bake["ended_at"] is not None and bake["left_s"] is None
        assert flash["status"] == "skipped" and flash["started_at"] is None

        with pytest.raises(RequestFailed, match=r'steps: give "run", a run active or recently'):
            await client.request("steps", run="no-such-run")
        await client.close()


async def test_a_plating_step_counts_down_with_the_plating_estimate(tmp_path: Path) -> None:
    async with running_service(tmp_path, clock=ScaledClock(60)) as h:
        client = await ServiceClient.connect(h.socket)
        await client.request("subscribe")
        await client.request("start", job="plate", lot="S2")
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(30):
            async for event in client.events():
                if event.get("kind") == "prompt":
                    await client.request("answer", prompt=event["prompt_id"], answer="ok")
                elif event.get("kind") == "state" and event["state"] in ("timing", "plating"):
                    seen.append((await client.request("status"))["runs"][0])
                elif event.get("kind") == "run_finished":
                    break
        await client.close()
    assert seen
    for run in seen:  # the job's one step is the plating recipe: its time left is the job's
        (row,) = run["steps"]
        assert row["status"] == "running" and row["unit"] == "gold"
        assert row["left_s"] == pytest.approx(run["plating_left_s"], abs=1.0)  # read ms apart
        assert row["planned_s"] == pytest.approx(estimate.plating_duration_s(LINE, AREA_DM2))


def profile(name: str, target: float, hold: str) -> FiringProfile:
    return FiringProfile.model_validate(
        {"name": name, "max_temp": 900, "segments": [{"rate": 300, "target": target, "hold": hold}]}
    )


def test_a_firing_kept_hot_for_the_next_is_planned_from_its_temperature() -> None:
    base, colour = profile("base", 800, "5 min"), profile("colour", 780, "4 min")
    plan = [
        PlanStep("firing", "coat 1", base, kiln="k1"),
        PlanStep("prompt", "inspect", text="look"),
        PlanStep("firing", "coat 2", colour, kiln="k1"),
        PlanStep("firing", "coat 3", colour, kiln="k2"),
    ]
    rows = plan_rows(plan, lambda s: s.kiln or "", AREA_DM2)
    assert [r.planned_s for r in rows] == [
        pytest.approx(estimate.estimate_firing(base).duration_s),
        0.0,  # operator time is not planned
        pytest.approx(estimate.estimate_firing(colour, 800.0).duration_s),  # from 800 °C
        pytest.approx(estimate.estimate_firing(colour).duration_s),  # another kiln: cold
    ]
    assert rows[1].recipe == "look" and rows[1].unit == ""


def rows(*planned: float | None) -> JobSteps:
    return JobSteps(
        [StepRow(i, f"s{i}", "firing", "k1", planned_s=p) for i, p in enumerate(planned)]
    )


def test_etas_chain_and_stop_at_an_unknown_length() -> None:
    steps = rows(100.0, 50.0, None, 20.0)
    steps.apply({"kind": "step_started", "t": 1000.0, "index": 0})
    steps.estimate(current_left_s=None)  # not begun (a prompt before it): all it plans
    assert [r.left_s for r in steps.rows] == [100.0, 150.0, None, None]
    steps.estimate(current_left_s=10.0)  # the service's estimate comes first
    assert [r.left_s for r in steps.rows] == [10.0, 60.0, None, None]
    assert steps.eta_left_s() is None  # the job's end is not known
    steps.apply({"kind": "step_finished", "t": 1040.0, "index": 0, "outcome": "completed"})
    assert (steps.rows[0].status, steps.rows[0].ended_at) == ("done", 1040.0)


def test_a_resumed_run_shows_its_earlier_steps_done_and_the_rest_skipped_on_failure() -> None:
    steps = rows(100.0, 50.0, 20.0, 10.0)
    steps.apply({"kind": "step_started", "t": 5.0, "index": 2})  # resumed at step 3
    assert [r.status for r in steps.rows] == ["done", "done", "running", "pending"]
    steps.apply({"kind": "run_finished", "t": 9.0, "outcome": "failed", "reason": "comms"})
    assert [r.status for r in steps.rows] == ["done", "done", "failed", "skipped"]
    assert steps.rows[2].reason == "comms" and steps.rows[2].ended_at == 9.0
    again = JobSteps.from_list(steps.to_list())
    assert again.to_list() == steps.to_list()
