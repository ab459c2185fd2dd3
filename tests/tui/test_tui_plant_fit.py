"""Every configured kiln and tank keeps its line at 80x24 (issue 10 §1): the bundled
plant's nine, idle and with two runs on screen; a plant too large for the screen says
"+N more" and names them, never dropping a device without a word."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_tui_app import until
from test_tui_snapshots import NOW, compare
from test_tui_snapshots import status as two_runs_status

from kilnctl.plant import load_plant
from kilnctl.service.plantstatus import plant_devices
from kilnctl.tui.app import KilnApp
from kilnctl.tui.layout import fit_lines, plant_rows_max, runs_rows_max
from kilnctl.tui.messages import Connected
from kilnctl.tui.plantlines import _cut, name_width

BUNDLED = Path(__file__).parents[2] / "kilnctl.example.toml"


def bundled_rows() -> list[dict[str, Any]]:
    """The status "devices" rows of the bundled plant, all idle, every device read 1 s ago
    (the service's own code builds them from the plant config)."""
    plant = load_plant(BUNDLED)
    watched: dict[str, dict[str, Any]] = {}
    for kiln in plant.kilns.values():
        watched[kiln.controller] = {"t": NOW - 1, "pv_c": 24.5, "sp_c": 0.0, "out_pct": 0.0}
    for tank in plant.tanks.values():
        watched[tank.rectifier] = {
            "t": NOW - 1,
            "volts": 0.0,
            "amps": 0.0,
            "amp_hours": 0.0,
            "output_on": False,
        }
        if tank.heater:
            watched[tank.heater] = {"t": NOW - 1, "pv_c": 55.0, "sp_c": 58.0, "out_pct": 20.0}
    return plant_devices(plant, [], watched)


def status(rows: list[dict[str, Any]], runs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"plant": "bundled", "time": NOW, "speed": 1.0, "runs": runs or [], "devices": rows}


def shown(app: KilnApp) -> list[str]:
    """The plant table's lines as the screen shows them (cut at the widget's height)."""
    lines = str(app.plant.render()).splitlines()
    return lines[: app.plant.size.height]


async def _app_with(tmp_path: Path, size: tuple[int, int], st: dict[str, Any]) -> Any:
    app = KilnApp(tmp_path / "none.sock", retry_s=3600, status_every_s=3600, subtitle="snapshot")
    app.service_now = lambda: NOW  # type: ignore[method-assign]
    return app, st


@pytest.mark.parametrize("with_runs", [False, True], ids=["idle", "two-runs"])
async def test_every_kiln_and_tank_of_the_bundled_plant_is_on_screen_at_80x24(
    tmp_path: Path, with_runs: bool
) -> None:
    # Before: the table's max-height 40% gave 8 rows at 80x24; the 9th (tank gold) was cut.
    rows = bundled_rows()
    names = [r["name"] for r in rows]
    assert len(names) == 9 and names[-1] == "gold"
    runs = two_runs_status()["runs"] if with_runs else None
    app, st = await _app_with(tmp_path, (80, 24), status(rows, runs))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "service disconnected" in str(app.status_bar.render()))
        app.post_message(Connected(st))
        await until(pilot, lambda: app.connected and len(app.plant.lines) == 9)
        await pilot.pause(0.05)
        lines = shown(app)
        # long names are cut with an ellipsis where no cut name reads as another
        names_w = name_width(names, 78)
        assert [ln.split()[0] for ln in lines] == [_cut(n, names_w) for n in names]
        assert all("idle" in ln for ln in lines)
        # the chart keeps its rows below; the run panels take what is left and scroll
        assert app.plant.size.height == 9 and app.chart.size.height >= 8 - 2
        region = app.screen.find_widget(app.plant).region
        assert region.bottom <= app.runs_box.region.y <= app.query_one("#lower").region.y
        assert app.query_one("#lower").region.bottom <= 24 - 1  # above the footer
        if not with_runs:
            app.chart.redraw()  # the empty chart's caption, as in the other snapshots
            await pilot.pause(0.05)
            compare("plant-bundled-80x24", app.export_screenshot())
        await pilot.press("q")


async def test_a_plant_too_large_for_the_screen_says_how_many_more_and_which(
    tmp_path: Path,
) -> None:
    rows = bundled_rows()
    extra = [dict(rows[-1], name=f"extra{i}", device=f"x{i}") for i in range(4)]
    app, st = await _app_with(tmp_path, (80, 24), status(rows + extra))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "service disconnected" in str(app.status_bar.render()))
        app.post_message(Connected(st))
        await until(pilot, lambda: app.connected and bool(app.plant.lines))
        await pilot.pause(0.05)
        lines = shown(app)
        assert len(lines) == plant_rows_max(24) == 10
        assert lines[-1].startswith("+4 more: ")
        hidden = lines[-1].removeprefix("+4 more: ").split(", ")
        every = [r["name"] for r in rows + extra]
        names_w = name_width(every, 78)
        assert [ln.split()[0] for ln in lines[:-1]] == [_cut(n, names_w) for n in every[:9]]
        assert hidden == every[9:]  # in full: every device is on screen, by line or by name
        await pilot.press("q")


def test_the_body_is_shared_plant_first_then_runs_then_the_chart() -> None:
    assert plant_rows_max(24) == 10 and plant_rows_max(40) == 26 and plant_rows_max(5) == 1
    assert runs_rows_max(24, 9) == 4 and runs_rows_max(40, 9) == 20 and runs_rows_max(24, 20) == 3
    assert fit_lines(["a", "b"], ["a", "b"], 2) == (["a", "b"], "")
    assert fit_lines(["a", "b", "c"], ["a", "b", "c"], 2) == (["a"], "+2 more: b, c")
