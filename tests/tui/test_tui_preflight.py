"""The TUI's start goes through the service, which checks the job again before any device
is written: a job that became invalid after its preview (its file edited meanwhile) is
refused with `validate`'s message, shown in the browser; no run starts."""

from __future__ import annotations

from pathlib import Path

from svc_plant import JOB, running_service
from test_tui_app import SIZE, until
from test_tui_browser import highlight, messages, open_browser, shown
from textual.widgets import Input

from kilnctl.recipes.models import Job
from kilnctl.tui.app import KilnApp
from kilnctl.tui.browser import RecipeBrowser, StartForm
from kilnctl.tui.dialogs import ConfirmDialog

ZINC_PINS = Job.model_validate(
    {
        "name": JOB.name,
        "lot": {"material": "zinc_alloy", "pin_count": 25, "area_per_pin": "0.12 dm2"},
        "steps": [{"kind": "firing", "ref": "long", "kiln": "k1"}],
    }
)


async def test_the_services_refusal_is_shown_in_place(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        app = KilnApp(h.socket, retry_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            browser = await open_browser(app, pilot)
            await highlight(browser, pilot, JOB.name)
            assert browser.detail["startable"]
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, StartForm))
            app.screen.query_one("#start-lot", Input).value = "LOT-Z"
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            h.engine.library.recipes[JOB.name] = ZINC_PINS  # edited after the preview
            await pilot.press("y")
            await until(pilot, lambda: "refused" in shown(app, "#recipe-why"))
            why = shown(app, "#recipe-why").replace("\n", " ")
            assert "refused before any device was written" in why
            assert "long reaches 800 °C; a zinc_alloy lot melts at 381 °C" in why
            assert any("refused before any device was written" in m for m in messages(app))
            assert isinstance(app.screen, RecipeBrowser) and h.engine.runs == {}
            await pilot.press("q")
