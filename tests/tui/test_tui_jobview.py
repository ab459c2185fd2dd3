"""The job view (j): the lot's steps with device, status, times and ETAs, live from the
real service, and the keys acting on the run it shows."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from svc_plant import running_service
from test_tui_app import SIZE, start, until
from test_tui_jobview_snapshots import NOW, firing_run
from textual.pilot import Pilot

from kilnctl.service.client import ServiceClient
from kilnctl.tui.app import KilnApp
from kilnctl.tui.dialogs import ConfirmDialog, PromptDialog
from kilnctl.tui.format import Display
from kilnctl.tui.joblines import job_lines
from kilnctl.tui.jobview import JobScreen

TIME = r"\d\d:\d\d"
LEFT = r"~\d+:\d\d:\d\d"


def view_text(app: KilnApp) -> str:
    """The job view's text (a dialog may be above it), "" when it is not open."""
    screen = next((s for s in app.screen_stack[::-1] if isinstance(s, JobScreen)), None)
    return str(screen.body.render()) if screen is not None else ""


def step_line(app: KilnApp, number: int) -> str:
    return next((ln for ln in view_text(app).splitlines() if ln.startswith(f"{number:>2} ")), "")


def assert_step(app: KilnApp, number: int, pattern: str) -> None:
    """Step `number`'s line matches `pattern` (TIME and LEFT substituted) to its end."""
    regex = pattern.format(TIME=TIME, LEFT=LEFT) + "$"
    assert re.search(regex, step_line(app, number)), view_text(app)


async def answer_prompt(pilot: Pilot[None], app: KilnApp, client: ServiceClient, text: str) -> None:
    """Answer the run's open prompt at the service (as another client would); its dialog
    closes in the TUI."""
    await until(
        pilot, lambda: any(text in p["text"] for v in app.runs.values() for p in v.prompts.values())
    )
    status = await client.request("status")
    (prompt,) = [p for r in status["runs"] for p in r["prompts"] if text in p["text"]]
    await client.request("answer", run=prompt["run_id"], prompt=prompt["prompt_id"], answer="ok")
    await until(pilot, lambda: not isinstance(app.screen, PromptDialog))


async def test_job_view_follows_the_steps_from_pending_to_done_with_etas(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.2)
        client = await ServiceClient.connect(h.socket)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.connected)
            await start(h.socket, job="pins", lot="J1")
            await until(pilot, lambda: isinstance(app.screen, PromptDialog))
            await pilot.press("escape")  # later: the job view first
            await until(pilot, lambda: not isinstance(app.screen, PromptDialog))
            await pilot.press("j")
            await until(pilot, lambda: isinstance(app.screen, JobScreen))
            # waiting for "load the kiln": the firing step is the current one, the plating
            # pending, each with an ETA (time of day) and its time left
            await until(pilot, lambda: "running" in step_line(app, 1))
            assert_step(app, 1, r"bake\s+k1\s+running\s+{TIME}\s+0:24:48\s+{TIME}\s+{LEFT}")
            assert_step(app, 2, r"flash\s+gold\s+pending\s+0:00:30\s+{TIME}\s+{LEFT}")
            assert re.search(r"pins\s+lot J1\s+\[RUNNING\]", view_text(app))
            assert re.search(rf"0 of 2 steps done; job ETA {TIME} \(in {LEFT}\)", view_text(app))

            await answer_prompt(pilot, app, client, "load the kiln")
            # the bake fires and ends: done with its start and end times; the plating runs
            # (its "rack the pins" prompt open: the dialog comes over the job view)
            await until(pilot, lambda: "running" in step_line(app, 2), timeout_s=30)
            assert_step(app, 1, r"bake\s+k1\s+done\s+{TIME}\s+{TIME}\s+0:24:48")
            assert_step(app, 2, r"flash\s+gold\s+running\s+{TIME}\s+0:00:30\s+{TIME}\s+{LEFT}")
            assert "1 of 2 steps done; job ETA" in view_text(app)

            await answer_prompt(pilot, app, client, "rack the pins")
            await until(pilot, lambda: "job completed" in view_text(app), timeout_s=30)
            # the run is over: the view stays with how each step ended, until closed
            assert_step(app, 2, r"flash\s+gold\s+done\s+{TIME}\s+{TIME}\s+0:00:30")
            assert isinstance(app.screen, JobScreen)
            await pilot.press("j")
            await until(pilot, lambda: not isinstance(app.screen, JobScreen))
            await pilot.press("q")
        await client.close()


async def test_keys_on_the_job_view_act_on_its_run(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.2)
        async with app.run_test(size=SIZE) as pilot:
            await start(h.socket, job="plate", lot="P1")
            long = await start(h.socket, job="long", kiln="k1", lot="K2")
            await until(pilot, lambda: isinstance(app.screen, PromptDialog))
            await pilot.press("escape")  # the plating waits at its prompt: two runs go on
            await until(pilot, lambda: len(app._panels) == 2)
            # the second run's panel selected, then its job view
            app._panels[long].focus()
            await pilot.press("j")
            await until(pilot, lambda: "lot K2" in view_text(app))
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            assert "Abort long, lot K2?" in str(app.screen.query_one("#confirm-text").render())
            await pilot.press("y")
            async with asyncio.timeout(10):
                assert await h.engine.wait(long) == "aborted"
            await until(pilot, lambda: "job aborted" in view_text(app))
            assert_step(app, 1, r"long\s+k1\s+aborted\s+{TIME}\s+{TIME}\s+\d+:\d\d:\d\d")
            assert "operator abort at the TUI" in view_text(app)
            await pilot.press("q")


def test_job_lines_fit_any_width_and_show_temperatures_in_the_display_unit() -> None:
    run = firing_run(time=NOW)
    wide = job_lines(run, Display(unit="F", now=NOW), 118)
    assert "enamel-coat-colour ≤1454 °F" in wide[5][0] and "°C" not in str(wide)
    assert "≤790 °C" in job_lines(run, Display(now=NOW), 118)[5][0]
    for width in range(20, 161):
        for text, _ in job_lines(run, Display(now=NOW), width, gone_s=30.0):
            assert len(text) <= width, (width, text)
    # disconnected: last known, nothing counts down, the state is not claimed
    stale = job_lines(run, Display(now=NOW, live=False), 74, gone_s=30.0)
    assert "[running?]" in stale[0][0] and "~0:01:35" in stale[5][0]


def test_a_kiln_behind_its_ramp_makes_the_etas_lower_bounds() -> None:
    # the schedule's time left assumes the kiln keeps up: a max ramp at 167 °C of 790 °C
    # said "~0:20:00" (its hold alone) in the drill; the run panel says "≥" there
    run = firing_run(time=NOW)
    run["samples"] = {"kiln1": {"t": NOW, "pv_c": 167.0, "sp_c": 790.0, "out_pct": 100.0}}
    run["segments"] = {"kiln1": {"index": 0, "phase": "ramp", "target_c": 790.0}}
    lines = [text for text, _ in job_lines(run, Display(now=NOW), 74)]
    assert "job ETA ≥15:09 (in ≥0:56:05)" in lines[1]
    assert lines[5].endswith("≥14:14 ≥0:01:35") and lines[7].endswith("≥15:09 ≥0:56:05")
    keeping_up = [text for text, _ in job_lines(firing_run(time=NOW), Display(now=NOW), 74)]
    assert keeping_up[5].endswith(" 14:14 ~0:01:35")
    # a reading 5 min old (the last firing's, a prompt open since) says nothing of now
    old = [text for text, _ in job_lines(run, Display(now=NOW + 300), 74)]
    assert old[5].endswith(" 14:14 ~0:01:35") and "job ETA 15:09" in old[1]
