"""Snapshots of the job view on fixed data at 80x24 and 120x40 (see test_tui_snapshots.py:
KILNCTL_UPDATE_SNAPSHOTS=1 to write them, then look at the SVGs)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_tui_app import until
from test_tui_snapshots import NOW, compare, status

from kilnctl.tui.app import KilnApp
from kilnctl.tui.jobview import JobScreen
from kilnctl.tui.messages import Connected

STARTED = NOW - 3600


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """Times of day in UTC, whatever the machine's zone (the snapshots are fixed)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", "UTC")
    time.tzset()
    yield
    mp.undo()
    time.tzset()


def step(index: int, label: str, kind: str, unit: str, recipe: str, **kw: Any) -> dict[str, Any]:
    return {"index": index, "label": label, "kind": kind, "unit": unit, "recipe": recipe, **kw}


def steps() -> list[dict[str, Any]]:
    """The 3-layer enamel job in its second coat: one coat done, the rest pending."""
    return [
        step(0, "coat 1 (counter + base)", "firing", "kiln1", "enamel-coat-base", top_c=800.0,
             planned_s=2220.0, status="done", started_at=STARTED, ended_at=STARTED + 2290),
        step(1, "inspect base coat", "prompt", "", "check the base coat", planned_s=0.0,
             status="done", started_at=STARTED + 2290, ended_at=STARTED + 2400),
        step(2, "coat 2 (colour)", "firing", "kiln1", "enamel-coat-colour", top_c=790.0,
             planned_s=1500.0, status="running", started_at=STARTED + 2400, left_s=95.0),
        step(3, "coat 3 (final)", "firing", "kiln1", "enamel-coat-final", top_c=780.0,
             planned_s=1440.0, left_s=1535.0),
        step(4, "nickel + gold", "plating", "gold, nickel", "nickel-gold-flash",
             planned_s=1830.0, left_s=3365.0),
    ]  # fmt: skip


def ended_steps() -> list[dict[str, Any]]:
    """The same job failed in coat 2: the later steps never ran."""
    rows = steps()
    rows[2].update(status="failed", ended_at=STARTED + 2700, left_s=None,
                   reason="kiln1: no reply for 10 s (comms lost)")  # fmt: skip
    for row in rows[3:]:
        row.update(status="skipped", left_s=None)
    return rows


async def job_screen(tmp_path: Path, size: tuple[int, int], run: dict[str, Any]) -> str:
    app = KilnApp(tmp_path / "none.sock", retry_s=3600, status_every_s=3600, subtitle="snapshot")
    app.service_now = lambda: NOW + 30  # type: ignore[method-assign]
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: "service disconnected" in str(app.status_bar.render()))
        app.post_message(Connected(status()))
        await until(pilot, lambda: app.connected and len(app._panels) == 2)
        await pilot.press("j")
        await until(pilot, lambda: isinstance(app.screen, JobScreen))
        screen = app.screen
        assert isinstance(screen, JobScreen)
        screen.run = {**run, "time": NOW}
        screen.redraw()
        await pilot.pause(0.05)
        return app.export_screenshot()


def firing_run(**changes: Any) -> dict[str, Any]:
    return {**status()["runs"][0], "steps": steps(), **changes}


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_job_view_screen(size: tuple[int, int], tmp_path: Path) -> None:
    compare(f"job-{size[0]}x{size[1]}", await job_screen(tmp_path, size, firing_run()))


async def test_job_view_of_an_ended_run(tmp_path: Path) -> None:
    run = firing_run(
        steps=ended_steps(), state="finished", outcome="failed", reason="comms lost: kiln1"
    )
    compare("job-ended-80x24", await job_screen(tmp_path, (80, 24), run))
