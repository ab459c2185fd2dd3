"""Snapshots of the recipe browser and its start form on fixed data (the recipe folder of
browser_recipes.py, svc_plant's plant, kiln k1 busy), at 80x24 and 120x40; see
test_tui_snapshots.py for how to update them (KILNCTL_UPDATE_SNAPSHOTS=1, then look)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_recipes import write_recipes
from svc_plant import PLANT
from test_tui_app import until
from test_tui_snapshots import compare

from kilnctl.recipes.loader import RecipeLibrary
from kilnctl.service.recipe_preview import recipe_detail, recipe_rows
from kilnctl.tui.app import KilnApp
from kilnctl.tui.browser import RecipeBrowser, StartForm

UNITS = [
    {"name": "k1", "kind": "kiln", "run_id": "r1", "job": "long", "lot": "L-2411-07"},
    {"name": "gold", "kind": "tank", "run_id": "", "job": "", "lot": ""},
]
"""The status "devices" rows the form reads: k1 busy in a run, the gold tank free."""


async def browser_screen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int], name: str,
    form: bool = False,
) -> str:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    library = RecipeLibrary([write_recipes(Path("recipes"))])

    async def ask(op: str, **args: Any) -> dict[str, Any] | str:
        assert op == "recipe"
        return recipe_detail(args["name"], library, PLANT)

    app = KilnApp(tmp_path / "none.sock", retry_s=3600, status_every_s=3600, subtitle="snapshot")
    async with app.run_test(size=size) as pilot:
        browser = RecipeBrowser(recipe_rows(library, PLANT), ask, lambda: UNITS)
        await app.push_screen(browser)
        listing = browser.query_one("#recipe-list")
        while browser.detail.get("name") != name:
            await pilot.press("down")
            await until(pilot, lambda: browser.detail.get("name") is not None)
            assert listing.has_focus
        if form:
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, StartForm))
            await pilot.press(*"L-2411-09", "enter")
            await until(pilot, lambda: "busy" in str(app.screen.query_one("#start-error").render()))
        await pilot.pause(0.05)
        return app.export_screenshot()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_browser_job_preview(
    size: tuple[int, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svg = await browser_screen(tmp_path, monkeypatch, size, "pins")
    compare(f"browser-{size[0]}x{size[1]}", svg)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_browser_errors_in_place(
    size: tuple[int, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svg = await browser_screen(tmp_path, monkeypatch, size, "zinc-enamel")
    compare(f"browser-errors-{size[0]}x{size[1]}", svg)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_start_form(
    size: tuple[int, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svg = await browser_screen(tmp_path, monkeypatch, size, "pins", form=True)
    compare(f"start-form-{size[0]}x{size[1]}", svg)
