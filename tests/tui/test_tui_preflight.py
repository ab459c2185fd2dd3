"""The TUI's start key goes through the service, which checks the job before any device
is written: a refused job is shown as an error with `validate`'s message; no run starts."""

from __future__ import annotations

from pathlib import Path

from svc_plant import running_service
from test_tui_app import SIZE, until
from textual.widgets import Button, Input, Select

from kilnctl.recipes.models import Job
from kilnctl.tui.app import KilnApp
from kilnctl.tui.dialogs import StartDialog

ZINC_ENAMEL = Job.model_validate(
    {
        "name": "zinc-enamel",
        "lot": {"material": "zinc_alloy", "pin_count": 25, "area_per_pin": "0.12 dm2"},
        "steps": [{"kind": "firing", "ref": "long", "kiln": "k1"}],
    }
)


def messages(app: KilnApp) -> list[str]:
    return [n.message for n in app._notifications]  # what the operator was shown


async def test_start_key_shows_the_refusal(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        h.engine.library.recipes[ZINC_ENAMEL.name] = ZINC_ENAMEL
        app = KilnApp(h.socket, retry_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.connected)
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, StartDialog))
            app.screen.query_one("#start-job", Select).value = "zinc-enamel"
            app.screen.query_one("#start-lot", Input).value = "LOT-Z"
            app.screen.query_one("#start-ok", Button).press()
            await until(pilot, lambda: any("refused" in m for m in messages(app)))
            (shown,) = [m for m in messages(app) if "refused" in m]
            assert "refused before any device was written" in shown
            assert "long reaches 800 °C; a zinc_alloy lot melts at 381 °C" in shown
            assert h.engine.runs == {}
            await pilot.press("q")
