"""The recipe browser (key s) of the real app against a real service over a real recipe
folder: browse, a broken recipe's errors in place with file:line (validate's messages),
start a job on chosen units for a lot after a confirmation, refuse a bad lot id and a
busy kiln, show the service's refusal in place."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_recipes import ZINC_REF_LINE, write_recipes
from svc_plant import running_service
from test_tui_app import SIZE, start, until
from textual.pilot import Pilot
from textual.widgets import OptionList, Select, Static

from kilnctl.clock import ScaledClock
from kilnctl.recipes.loader import RecipeLibrary
from kilnctl.tui.app import KilnApp
from kilnctl.tui.browser import RecipeBrowser, StartForm
from kilnctl.tui.dialogs import ConfirmDialog


def shown(app: KilnApp, widget_id: str) -> str:
    return str(app.screen.query_one(widget_id, Static).render())


def messages(app: KilnApp) -> list[str]:
    return [n.message for n in app._notifications]


async def open_browser(app: KilnApp, pilot: Pilot[None]) -> RecipeBrowser:
    await until(pilot, lambda: app.connected and bool(app.plant_rows))
    await pilot.press("s")
    await until(pilot, lambda: isinstance(app.screen, RecipeBrowser))
    assert isinstance(app.screen, RecipeBrowser)
    return app.screen


async def highlight(browser: RecipeBrowser, pilot: Pilot[None], name: str) -> None:
    """Arrow down to `name` (keys only), then wait for its preview."""
    listing = browser.query_one("#recipe-list", OptionList)
    for _ in range(listing.option_count):
        option = listing.highlighted_option
        if option is not None and option.id == name:
            break
        await pilot.press("down")
    await until(pilot, lambda: browser.detail.get("name") == name)


# Nothing here needs the runs' time to hurry: real time keeps the machine free for the TUI.


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # file names in the findings read "recipes/NAME.toml"
    return write_recipes(Path("recipes"))


async def test_broken_recipes_show_their_errors_in_place(folder: Path, tmp_path: Path) -> None:
    async with running_service(tmp_path, ScaledClock(1.0), library=RecipeLibrary([folder])) as h:
        app = KilnApp(h.socket, retry_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            browser = await open_browser(app, pilot)
            listing = browser.query_one("#recipe-list", OptionList)
            names = [listing.get_option_at_index(i).id for i in range(listing.option_count)]
            assert names == ["bake", "broken", "flash", "long", "pins", "zinc-enamel"]
            await highlight(browser, pilot, "zinc-enamel")
            findings = shown(app, "#recipe-findings")
            # validate's line, as the engine's preflight would refuse the start with it
            assert (
                f"recipes/zinc-enamel.toml:{ZINC_REF_LINE}: steps[0] (enamel): error: long "
                "reaches 800 °C; a zinc_alloy lot melts at 381 °C (allowed: <= 350 °C)"
            ) in findings.replace("\n", "")
            assert "cannot start: 1 error" in shown(app, "#recipe-why")
            await pilot.press("enter")
            await until(pilot, lambda: any("cannot start" in m for m in messages(app)))
            assert isinstance(app.screen, RecipeBrowser)  # no start form
            await highlight(browser, pilot, "broken")
            assert "recipes/broken.toml:7: segments[0].target: 'hot'" in shown(
                app, "#recipe-findings"
            ).replace("\n", "")
            assert "cannot start: the file does not load" in shown(app, "#recipe-why")
            assert h.engine.runs == {}
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, RecipeBrowser))
            await pilot.press("q")


async def test_a_job_starts_on_chosen_units_for_a_lot(folder: Path, tmp_path: Path) -> None:
    async with running_service(tmp_path, ScaledClock(1.0), library=RecipeLibrary([folder])) as h:
        app = KilnApp(h.socket, retry_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            browser = await open_browser(app, pilot)
            await highlight(browser, pilot, "pins")
            assert "est. 0:25:18" in shown(app, "#recipe-head")  # 1488 s bake + 30 s flash
            assert "warning: 20 min at 100 °C" in shown(app, "#recipe-findings")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, StartForm))
            form = app.screen
            assert isinstance(form, StartForm)
            units = [form.query_one(f"#start-unit-{i}", Select) for i in (0, 1)]
            assert [u.value for u in units] == ["k1", "gold"]  # only units of the role's kind
            assert [opt for opt, _ in units[0]._options if opt] == ["k1"]
            await pilot.press(*"LOT\\")  # a trailing backslash cannot be a telemetry tag
            await pilot.press("enter")
            await until(pilot, lambda: "ends with a backslash" in shown(app, "#start-error"))
            assert isinstance(app.screen, StartForm) and h.engine.runs == {}
            await pilot.press("backspace", *"-7")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            question = shown(app, "#confirm-text")
            assert "Start pins for lot LOT-7 on k1, gold?" in question.replace("\n", " ")
            await pilot.press("y")
            await until(pilot, lambda: any(v.lot == "LOT-7" for v in app.runs.values()))
            (handle,) = h.engine.runs.values()
            assert handle.job_name == "pins"
            await until(pilot, lambda: not isinstance(app.screen, RecipeBrowser))
            await pilot.press("q")


async def test_busy_kiln_is_named_and_refused(folder: Path, tmp_path: Path) -> None:
    async with running_service(tmp_path, ScaledClock(1.0), library=RecipeLibrary([folder])) as h:
        await start(h.socket, job="long", kiln="k1", lot="BUSY-1")
        app = KilnApp(h.socket, retry_s=0.05)
        async with app.run_test(size=SIZE) as pilot:
            browser = await open_browser(app, pilot)
            await until(pilot, lambda: any(r.get("run_id") for r in app.plant_rows))
            await highlight(browser, pilot, "bake")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, StartForm))
            unit = app.screen.query_one("#start-unit-0", Select)
            assert [str(opt) for opt, _ in unit._options if opt] == ["k1 (busy: long lot BUSY-1)"]
            await pilot.press(*"LOT-8", "enter")
            await until(pilot, lambda: "k1 is busy: long lot BUSY-1" in shown(app, "#start-error"))
            assert len(h.engine.runs) == 1
            await pilot.press("escape", "escape")
            await pilot.press("q")
