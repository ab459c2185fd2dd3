"""Attaching mid-run: the chart shows the run from its start; plating shows time left;
what a technician met at 80x24: detaching with a prompt open, stale panels."""

from __future__ import annotations

import asyncio
from pathlib import Path

from svc_plant import running_service
from test_tui_app import SIZE, panel_text, start, until

from kilnctl.clock import ScaledClock
from kilnctl.tui.app import KilnApp
from kilnctl.tui.dialogs import PromptDialog


async def test_chart_attached_mid_run_starts_at_the_run_start(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        run = await start(h.socket, job="long", kiln="k1", lot="M1")
        ctx = h.engine.runs[run].ctx
        async with asyncio.timeout(20):
            while ctx.seq.get("k1", 0) < 400:  # ~7 min of the run before the TUI attaches
                await asyncio.sleep(0.02)
        started = h.journal.run(run).started_at
        app = KilnApp(h.socket, retry_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            chart = app.chart
            await until(pilot, lambda: bool(chart.pv) and chart.pv[0][0] - started < 5)
            assert chart.run_id == run and chart.source == "k1"
            assert chart.pv[-1][0] - chart.pv[0][0] > 300  # the past, not only from now
            assert len(chart.pv) < ctx.seq["k1"]  # thinned on the way
            await until(pilot, lambda: chart.drawn_points > 0, timeout_s=5)
            assert chart.drawn_points <= 2 * chart.size.width + 2
            await pilot.press("q")


async def test_plating_panel_shows_step_and_recipe_time_left(tmp_path: Path) -> None:
    async with running_service(tmp_path, clock=ScaledClock(20)) as h:
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.1, auto_answer_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.connected)
            await start(h.socket, job="plate", lot="P1")
            await until(pilot, lambda: "recipe ~0:0" in panel_text(app))
            assert "left ~0:00:" in panel_text(app)
            await pilot.press("q")


async def test_q_detaches_even_with_a_prompt_open(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        app = KilnApp(h.socket, retry_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.connected)
            run = await start(h.socket, job="pins", lot="Q1")
            await until(pilot, lambda: isinstance(app.screen, PromptDialog))
            await pilot.press("escape")  # put off: the panel says how to get it back
            await until(pilot, lambda: "waiting for the operator (o)" in panel_text(app))
            await pilot.press("o")
            await until(pilot, lambda: isinstance(app.screen, PromptDialog))
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running)
        assert h.engine.runs[run].ctx.open_prompts  # detaching answered nothing


async def test_panels_are_marked_stale_while_disconnected(tmp_path: Path) -> None:
    app = KilnApp(tmp_path / "kilnctl.sock", retry_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        async with running_service(tmp_path) as h:
            await start(h.socket, job="long", kiln="k1", lot="S1")
            await until(pilot, lambda: "lot S1" in panel_text(app))
            assert not app.runs_box.has_class("stale")
        await until(pilot, lambda: app.runs_box.has_class("stale"))
        await pilot.press("q")
