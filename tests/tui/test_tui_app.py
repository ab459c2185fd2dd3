"""The TUI headless (App.run_test + Pilot) against a real service on a temp socket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from svc_plant import running_service
from textual.pilot import Pilot
from textual.widgets import Static

from kilnctl.service.client import ServiceClient
from kilnctl.tui.app import KilnApp
from kilnctl.tui.dialogs import PromptDialog
from kilnctl.tui.widgets import RunPanel

SIZE = (80, 24)


async def until(pilot: Pilot[None], cond: Callable[[], bool], timeout_s: float = 15) -> None:
    """Let the app process messages until `cond` holds (bounded)."""
    async with asyncio.timeout(timeout_s):
        while not cond():
            await pilot.pause(0.02)


def panel_text(app: KilnApp) -> str:
    return "\n".join(str(p.render()) for p in app.runs_box.query(RunPanel))


def status_text(app: KilnApp) -> str:
    return str(app.status_bar.render())


async def start(socket: Path, **args: Any) -> str:
    client = await ServiceClient.connect(socket)
    run = str((await client.request("start", **args))["run"])
    await client.close()
    return run


async def test_run_panel_shows_pv_sp_and_p_pauses_the_run(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        run = await start(h.socket, job="long", kiln="k1", lot="T1")
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.2)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "PV" in panel_text(app))
            text = panel_text(app)
            assert "long" in text and "lot T1" in text and "SP" in text and "k1:" in text
            assert "connected" in status_text(app)
            await until(pilot, lambda: "firing left ~" in panel_text(app))
            await pilot.press("p")
            await until(pilot, lambda: h.engine.runs[run].ctx.paused)
            await until(pilot, lambda: "PAUSED" in panel_text(app))
            await pilot.press("r")
            await until(pilot, lambda: not h.engine.runs[run].ctx.paused)
            chart = app.chart
            await until(pilot, lambda: chart.drawn_points > 0, timeout_s=5)
            assert chart.drawn_points <= 2 * chart.size.width + 1
            await pilot.press("a")
            await pilot.press("y")
            async with asyncio.timeout(10):
                assert await h.engine.wait(run) == "aborted"
            await until(pilot, lambda: not app.runs_box.query(RunPanel))
            await pilot.press("q")


async def test_prompt_dialog_answer_reaches_the_engine(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        app = KilnApp(h.socket, retry_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.connected)
            run = await start(h.socket, job="pins", lot="T2")
            await until(pilot, lambda: isinstance(app.screen, PromptDialog))
            assert "load the kiln" in str(app.screen.query_one("#prompt-text", Static).render())
            # a click before the dialog is laid out hits nothing (its buttons have no region)
            await until(pilot, lambda: app.screen.query_one("#choice-0").region.width > 0)
            await pilot.click("#choice-0")
            await until(
                pilot,
                lambda: (
                    h.engine.runs[run].ctx.step_index > 0
                    or not isinstance(app.screen, PromptDialog)
                ),
            )
            await until(
                pilot, lambda: "load the kiln" not in panel_text(app) and "PV" in panel_text(app)
            )
            assert h.engine.runs[run].ctx.open_prompts == []
            await pilot.press("q")


async def test_alarm_is_acknowledged_with_a_key(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        run = await start(h.socket, job="bake", kiln="k1", lot="T3")
        app = KilnApp(h.socket, retry_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            alarms = app.alarm_list
            await until(pilot, lambda: alarms.highlighted_alarm is not None, timeout_s=30)
            assert "NEW" in str(alarms.get_option_at_index(0).prompt)
            await pilot.press("c")
            book = h.engine.runs[run].ctx.alarms
            await until(pilot, lambda: all(a.acked for a in book.active))
            await until(pilot, lambda: "ack" in str(alarms.get_option_at_index(0).prompt))
            await pilot.press("q")
        # detaching leaves the run going (on a loaded machine the short bake may be done)
        assert h.engine.runs[run].outcome in (None, "completed")


async def test_reconnects_after_the_service_restarts(tmp_path: Path) -> None:
    app = KilnApp(tmp_path / "kilnctl.sock", retry_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "service disconnected, reconnecting" in status_text(app))
        async with running_service(tmp_path) as h:
            await until(pilot, lambda: app.connected)
            await start(h.socket, job="long", kiln="k1", lot="R1")
            await until(pilot, lambda: "lot R1" in panel_text(app))
        await until(pilot, lambda: "service disconnected, reconnecting" in status_text(app))
        (tmp_path / "again").mkdir()
        async with running_service(tmp_path / "again", socket=tmp_path / "kilnctl.sock"):
            await until(pilot, lambda: app.connected)
            assert status_text(app).startswith("connected | test plant")
        await pilot.press("q")


async def test_demo_mode_answers_prompts_by_itself_and_says_so(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        app = KilnApp(h.socket, retry_s=0.05, auto_answer_s=0.2)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.connected)
            run = await start(h.socket, job="pins", lot="T4")
            await until(pilot, lambda: isinstance(app.screen, PromptDialog))
            note = str(app.screen.query_one("#prompt-auto", Static).render())
            assert "answering 'ok' by itself" in note
            await until(
                pilot, lambda: h.engine.runs[run].ctx.step_index > 0 or "PV" in panel_text(app)
            )
            assert not isinstance(app.screen, PromptDialog) or app.screen.prompt_id != "p1"
            # the batch record says the demo answered, not an operator at the TUI
            answers = [e for e in h.journal.events(run) if e.kind == "prompt_answer"]
            assert answers and answers[0].data["who"] == "demo (automatic)"
            await pilot.press("q")
