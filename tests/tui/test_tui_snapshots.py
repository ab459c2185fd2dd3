"""Snapshots of each screen on fixed data, at 80x24 and 120x40: Textual's own SVG
screenshots compared with the committed ones in tests/tui/snapshots/ (pytest-textual-snapshot
pins syrupy 4.8, which does not support this project's pytest 9).

After an intended change of the screen: KILNCTL_UPDATE_SNAPSHOTS=1 pytest tests/tui, then
look at the SVGs (a browser shows them) before committing them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from test_tui_app import until

from kilnctl.tui.app import KilnApp
from kilnctl.tui.messages import Connected, Disconnected
from kilnctl.tui.widgets import TANK_KEYS

SNAPSHOTS = Path(__file__).parent / "snapshots"
NOW = 1_790_000_000.0
T0 = NOW - 3600


def status() -> dict[str, Any]:
    """A firing and a plating run, one alarm, two idle devices, as a service's "status"
    reply says them."""
    firing = {
        "run_id": "20260921-071500-a1b2c3",
        "job": "job-3-layer-enamel-nickel-gold",
        "lot": "L-2411-07",
        "step": "coat 2 (colour)",
        "state": "running",
        "started_at": T0,
        "samples": {"kiln1": {"t": NOW - 1, "pv_c": 788.4, "sp_c": 790.0, "out_pct": 47.5}},
        "segments": {"kiln1": {"index": 0, "phase": "hold", "target_c": 790.0}},
        "alarms": [
            {
                "alarm_id": "a1",
                "run_id": "20260921-071500-a1b2c3",
                "code": "door_open",
                "severity": "warning",
                "message": "kiln1: door open (PV fell 62 °C in 20 s)",
                "action": "hold",
                "acked": False,
            }
        ],
        "prompts": [],
        "thickness_um": {},
        "time_left_s": 95.0,
        "plating_left_s": None,
        # the hold's last 95 s, then a free cool to 500 °C at 300 °C/h
        "plan": [[NOW, 790.0], [NOW + 95, 790.0], [NOW + 95 + 3480, 500.0]],
    }
    plating = {
        "run_id": "20260921-080000-d4e5f6",
        "job": "job-black-nickel",
        "lot": "L-2411-08",
        "step": "plate",
        "plating_step": "bright nickel",
        "state": "running",
        "started_at": T0 + 1200,
        "samples": {
            "kiln2": {"t": NOW - 600, "pv_c": 41.0, "sp_c": 0.0, "out_pct": 0.0},
            "nickel": {"t": NOW - 1, "amps": 36.0, "volts": 4.12, "amp_hours": 2.664},
        },
        "segments": {},
        "alarms": [],
        "prompts": [],
        "thickness_um": {},
        "time_left_s": 277.0,
        "plating_left_s": 590.0,
        # 5 µm of nickel on 12 dm² (Faraday): 5.13 Ah
        "ah_target": {"tank": "nickel", "amp_hours": 5.13, "so_far": 2.664},
    }

    def row(
        name: str, kind: str, values: dict[str, Any], run: dict[str, Any] | None
    ) -> dict[str, Any]:
        return {
            "name": name,
            "kind": kind,
            "values": values,
            "bath": baths.get(name, {}),
            "state": run["state"] if run else "idle",
            "run_id": run["run_id"] if run else "",
            "job": run["job"] if run else "",
            "lot": run["lot"] if run else "",
            "step": (run.get("plating_step") or run["step"]) if run else "",
            "segment": (run["segments"].get(name) if run else None),
            "alarms": len([a for a in run["alarms"] if name in a["message"]]) if run else 0,
            "unacked": 1 if run is firing else 0,
            "time_left_s": run["time_left_s"] if run else None,
        }

    baths = {
        "nickel": {"t": NOW - 1, "bath_c": 55.2, "band": [55.0, 60.0]},
        # idle, from the plant watch's reading of its heater: still heating up, below band
        "gold": {"t": NOW - 2, "bath_c": 58.3, "sp_c": 62.0, "out_pct": 35.0, "band": [60, 65]},
    }
    devices = [
        row("kiln1", "kiln", firing["samples"]["kiln1"], firing),
        row("kiln2", "kiln", {"t": NOW - 2, "pv_c": 41.0, "sp_c": 0.0, "out_pct": 0.0}, None),
        row("nickel", "tank", {**plating["samples"]["nickel"], "amps_sp": 36.0}, plating),
        row("gold", "tank", {"t": NOW - 1, "amps": 0.0, "volts": 0.0, "output_on": False}, None),
    ]
    return {
        "plant": "kiln room",
        "time": NOW,
        "speed": 1.0,
        "runs": [firing, plating],
        "telemetry": "journal only",
        "devices": devices,
    }


def history() -> dict[str, list[list[float]]]:
    pv = [[T0 + 30 * i, min(790.0, 20 + 0.5 * 30 * i)] for i in range(120)]
    sp = [[T0 + 30 * i, min(790.0, 20 + 0.55 * 30 * i)] for i in range(120)]
    return {"pv_c": pv, "sp_c": sp}


def compare(name: str, svg: str) -> None:
    path = SNAPSHOTS / f"{name}.svg"
    if os.environ.get("KILNCTL_UPDATE_SNAPSHOTS") == "1":
        path.write_text(svg, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"no snapshot {path.name}: run with KILNCTL_UPDATE_SNAPSHOTS=1, then look")
    if path.read_text(encoding="utf-8") != svg:
        actual = path.with_suffix(".actual.svg")
        actual.write_text(svg, encoding="utf-8")
        pytest.fail(f"screen differs from {path.name}: see {actual.name}")


def tank_history() -> dict[str, list[list[float]]]:
    t1 = T0 + 1200
    amps = [[t1 + 10 * i, min(36.0, 3.0 * i)] for i in range(200)]
    sp = [[t1 + 10 * i, 36.0] for i in range(200)]
    # the step marked at t1 + 600 s: its charge so far, 2.664 Ah at the end
    ah = [[t1 + 10 * i, 2.664 * max(0, 10 * i - 600) / 1390] for i in range(200)]
    return {"amps": amps, "amps_sp": sp, "amp_hours": ah}


async def screen(
    tmp_path: Path, size: tuple[int, int], *, connected: bool, tank: bool = False
) -> str:
    app = KilnApp(tmp_path / "none.sock", retry_s=3600, status_every_s=3600, subtitle="snapshot")
    app.service_now = lambda: NOW  # type: ignore[method-assign]
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: "service disconnected" in str(app.status_bar.render()))
        app.post_message(Connected(status()))
        await until(pilot, lambda: app.connected and len(app._panels) == 2)
        if tank:
            plating = "20260921-080000-d4e5f6"
            app.chart.show(plating, "nickel", TANK_KEYS)
            app.chart.load_history(plating, "nickel", tank_history())
            app.chart.set_target(plating, status()["runs"][1]["ah_target"])
            app.chart.mark(plating, T0 + 1200 + 600, "step")
            app.chart.mark(plating, T0 + 1200 + 1500, "alarm")
        else:
            app.chart.show("20260921-071500-a1b2c3", "kiln1")
            app.chart.load_history("20260921-071500-a1b2c3", "kiln1", history())
            app.chart.set_plan("20260921-071500-a1b2c3", status()["runs"][0]["plan"])
            app.chart.mark("20260921-071500-a1b2c3", T0 + 1800, "step")
        if not connected:
            app.post_message(Disconnected("connection lost (no reply)"))
            await until(pilot, lambda: not app.connected)
        await pilot.pause(0.05)
        app.chart.redraw()
        await pilot.pause(0.05)
        return app.export_screenshot()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_main_screen(size: tuple[int, int], tmp_path: Path) -> None:
    compare(f"main-{size[0]}x{size[1]}", await screen(tmp_path, size, connected=True))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_tank_chart_screen(size: tuple[int, int], tmp_path: Path) -> None:
    compare(f"tank-{size[0]}x{size[1]}", await screen(tmp_path, size, connected=True, tank=True))


async def test_disconnected_screen(tmp_path: Path) -> None:
    compare("disconnected-80x24", await screen(tmp_path, (80, 24), connected=False))


async def test_too_small_screen(tmp_path: Path) -> None:
    compare("too-small-50x12", await screen(tmp_path, (50, 12), connected=True))
