"""The TUI for a whole shift (headless Pilot against a real service): questions belong to
their run, skip asks first, °C/°F, old readings and a lost service never look live, any
terminal size."""

from __future__ import annotations

import asyncio
from pathlib import Path

from svc_plant import running_service
from test_tui_app import SIZE, panel_text, start, status_text, until
from textual._context import active_app

from kilnctl.engine.messages import Abort
from kilnctl.service.runview import RunView
from kilnctl.tui.app import MIN_SIZE, KilnApp
from kilnctl.tui.dialogs import ConfirmDialog, PromptDialog
from kilnctl.tui.format import Display, run_lines, time_left
from kilnctl.tui.messages import ServiceEvent


async def test_an_abort_question_closes_with_its_run_and_names_job_and_lot(
    tmp_path: Path,
) -> None:
    # Before: the question outlived its run, and `q` did nothing until `n`.
    async with running_service(tmp_path) as h:
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.2)
        notes: list[str] = []
        notify = app.notify
        app.notify = lambda message, **kw: (notes.append(message), notify(message, **kw))[1]  # type: ignore[method-assign]
        async with app.run_test(size=SIZE) as pilot:
            run = await start(h.socket, job="bake", kiln="k1", lot="Q1")
            await until(pilot, lambda: "lot Q1" in panel_text(app))
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            question = str(app.screen.query_one("#confirm-text").render())
            assert question == "Abort bake, lot Q1? Devices go safe."
            await h.engine.submit(Abort(run_id=run, who="test", reason="ended elsewhere"))
            async with asyncio.timeout(10):
                await h.engine.wait(run)
            await until(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
            assert any("the abort question was closed" in n for n in notes), notes
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running)


async def test_skip_asks_first(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        app = KilnApp(h.socket, retry_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            run = await start(h.socket, job="long", kiln="k1", lot="K1")
            await until(pilot, lambda: "lot K1" in panel_text(app))
            await pilot.press("k")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            assert "Skip the current segment or step of long, lot K1?" in str(
                app.screen.query_one("#confirm-text").render()
            )
            await pilot.press("n")
            await until(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
            assert h.engine.runs[run].outcome is None
            await pilot.press("k", "y")
            # the only segment skipped: the firing ends
            async with asyncio.timeout(10):
                assert await h.engine.wait(run) == "completed"
            await pilot.press("q")


async def test_f_shows_fahrenheit_for_display_only(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        app = KilnApp(h.socket, retry_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            await start(h.socket, job="long", kiln="k1", lot="F1")
            await until(pilot, lambda: "°C" in panel_text(app))
            await pilot.press("f")
            await until(pilot, lambda: "°F" in panel_text(app) and "°C" not in panel_text(app))
            assert app.chart.unit == "F"
            await pilot.press("f")
            await until(pilot, lambda: "°C" in panel_text(app))
            await pilot.press("q")


async def test_a_lost_service_never_shows_running(tmp_path: Path) -> None:
    app = KilnApp(tmp_path / "kilnctl.sock", retry_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        async with running_service(tmp_path) as h:
            await start(h.socket, job="long", kiln="k1", lot="S2")
            await until(pilot, lambda: "[RUNNING]" in panel_text(app))
        await until(pilot, lambda: "[running?]" in panel_text(app))
        assert "[RUNNING]" not in panel_text(app)
        status = status_text(app)
        assert status.startswith("service disconnected, reconnecting")
        assert len(status) <= SIZE[0]  # fits at 80 columns (was cut mid-word)
        await pilot.press("q")


def kiln_view(t: float, left_s: float | None = None) -> RunView:
    view = RunView("r", job="pins", lot="L7", step="coat 1", state="running")
    view.samples["kiln1"] = {"t": t, "pv_c": 809.5, "sp_c": 810.0, "out_pct": 40.0}
    view.samples["gold"] = {"t": 1000.0, "amps": 3.6, "volts": 2.1, "amp_hours": 0.01}
    view.time_left_s = left_s
    return view


def test_an_old_reading_shows_its_age_and_is_dimmed() -> None:
    # Before: during plating the kiln line stayed frozen at its last value, looking live.
    lines = run_lines(kiln_view(t=880.0), Display(now=1000.0))
    kiln = next(line for line in lines if line[0].startswith("kiln1"))
    gold = next(line for line in lines if line[0].startswith("gold"))
    assert kiln == (
        "kiln1: PV  809.5 °C  SP  810.0 °C  out  40.0 %  (0:02:00 old)",
        True,
    )
    assert gold[1] is False and " old)" not in gold[0]
    fahrenheit = run_lines(kiln_view(t=1000.0), Display(unit="F", now=1000.0))
    assert "PV 1489.1 °F  SP 1490.0 °F" in fahrenheit[3][0]  # sorted: gold, then kiln1


def test_time_left_counts_down_between_estimates() -> None:
    # Before: "left ~0:04:37" stayed while the charge went on.
    view = kiln_view(t=1000.0, left_s=277.0)
    view.plating_step = "gold"
    assert time_left(view, 0.0) == "  left ~0:04:37"
    assert time_left(view, 60.0) == "  left ~0:03:37"
    assert time_left(view, 600.0) == "  left ~0:00:00"
    view.state = "paused"
    assert time_left(view, 60.0) == "  left ~0:04:37"  # a paused run's clock stands


async def test_no_terminal_size_breaks_the_screen(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        app = KilnApp(h.socket, retry_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            await start(h.socket, job="pins", lot="Z1")
            await until(pilot, lambda: app.connected)
            for size in [(1, 1), (20, 5), (59, 16), (60, 15), (60, 16), (200, 60), (80, 24)]:
                await pilot.resize_terminal(*size)
                await pilot.pause(0.05)
                small = size[0] < MIN_SIZE[0] or size[1] < MIN_SIZE[1]
                assert app.too_small.display is small, size
                if small:
                    assert "too small" in str(app.too_small.render())
            assert app.is_running
            await pilot.press("q")


async def test_an_operator_prompt_leaves_the_plant_and_the_runs_readable(
    tmp_path: Path,
) -> None:
    # Before: at 80x24 the prompt dialog sat in the middle of the screen, over the run
    # panels, every few minutes of plating.
    async with running_service(tmp_path) as h:
        h.engine.start_watch()
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.2)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.connected)
            await start(h.socket, job="pins", lot="T9")
            await until(pilot, lambda: isinstance(app.screen, PromptDialog))
            box = app.screen.query_one("#prompt-box")
            await until(pilot, lambda: box.region.height > 0 and bool(app._panels))
            panels = list(app._panels.values())
            await until(pilot, lambda: all(p.region.height > 0 for p in panels))
            for widget in [app.plant, *panels]:
                assert not box.region.overlaps(widget.region), (box.region, widget.region)
            assert box.region.bottom <= SIZE[1]
            await pilot.press("q")


async def test_events_arriving_while_detaching_raise_no_traceback(tmp_path: Path) -> None:
    # Before: a run's "state" event handled as `q` took the screens down raised Textual's
    # ScreenStackError from refresh_bindings: a traceback on the terminal at detach (seen
    # in `make test` on a loaded machine, in the plating test's last second).
    async with running_service(tmp_path) as h:
        app = KilnApp(h.socket, retry_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            run = await start(h.socket, job="pins", lot="Q1")
            await until(pilot, lambda: run in app.runs)
            await pilot.press("q")
        assert not app.screen_stack  # detached: what still arrives finds no screen
        token = active_app.set(app)  # as in the app's own message loop
        try:
            for event in (
                {"kind": "state", "run_id": run, "t": 1.0, "source": "run", "state": "paused"},
                {"kind": "run_finished", "run_id": run, "t": 2.0, "outcome": "aborted",
                 "reason": ""},
            ):  # fmt: skip
                app._event(ServiceEvent(event))
        finally:
            active_app.reset(token)
