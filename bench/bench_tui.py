"""The TUI's own cost, headless (Textual's run_test, the real app) against a real service
in another process (bench.tui_service: 10 simulated kilns, each streaming a sample a
second in a firing):

* CPU of the TUI process while it follows the 10 devices (time.process_time over a
  window, after first paint), as % of one core; target (issue 10) <= 10 %;
* one full chart redraw at 120x40 (KilnChart.redraw + render: thinning, plotext build)
  of a 10-hour kiln history of 36,000 points, median of 20; target <= 20 ms;
* time to first paint: from starting the app to the plant table showing all 10 kilns
  with their readings (connect, subscribe, status, draw); reported with a 1 s budget.

Each printed as a ratio against its budget. Run: .venv/bin/python -m bench bench_tui
(or the module with --seconds N).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kilnctl.tui.app import KilnApp

DEVICES = 10
CPU_BUDGET_PCT = 10.0
REDRAW_BUDGET_S = 0.020
FIRST_PAINT_BUDGET_S = 1.0
SIZE = (120, 40)


async def until(pilot: object, cond: object, timeout_s: float = 30.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not cond():  # type: ignore[operator]
            await pilot.pause(0.02)  # type: ignore[attr-defined]


def plant_ready(app: KilnApp) -> bool:
    lines = str(app.plant.render()).splitlines()
    return len(lines) == DEVICES and all("PV" in ln and "bench" in ln for ln in lines)


async def measure(socket: Path, seconds: float) -> dict[str, float]:
    started = time.perf_counter()
    app = KilnApp(socket, retry_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: plant_ready(app))
        first_paint = time.perf_counter() - started
        await until(pilot, lambda: len(app.runs) == DEVICES)
        await pilot.pause(2.0)  # the histories fetched, the chart drawn once
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await pilot.pause(seconds)
        cpu_pct = 100 * (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        chart = app.chart
        t0 = time.time() - 36_000
        history = {
            "pv_c": [[t0 + i, 20 + (i % 3600) / 5] for i in range(36_000)],
            "sp_c": [[t0 + i, 20 + (i % 3600) / 5.1] for i in range(36_000)],
        }
        run_id = next(iter(app.runs))
        chart.show(run_id, "kiln1")
        chart.load_history(run_id, "kiln1", history)
        times = []
        for _ in range(20):
            chart._dirty = True
            start = time.perf_counter()
            chart.redraw()
            chart.render()  # PlotextPlot builds the plot here
            times.append(time.perf_counter() - start)
        await pilot.press("q")
    return {"cpu_pct": cpu_pct, "redraw_s": statistics.median(times), "first_paint_s": first_paint}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        socket = Path(tmp) / "kilnctl.sock"
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.tui_service", str(socket), str(DEVICES)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
            res = asyncio.run(measure(socket, args.seconds))
        finally:
            child.terminate()
            child.wait(timeout=30)
    rows = [
        ("TUI CPU, 10 devices at 1 Hz", res["cpu_pct"], CPU_BUDGET_PCT, "%"),
        ("chart redraw 120x40, 36k points", res["redraw_s"] * 1000, REDRAW_BUDGET_S * 1000, "ms"),
        ("time to first paint", res["first_paint_s"] * 1000, FIRST_PAINT_BUDGET_S * 1000, "ms"),
    ]
    ok = True
    for name, value, budget, unit in rows:
        ratio = value / budget
        ok &= ratio <= 1
        verdict = "ok" if ratio <= 1 else "OVER"
        print(f"{name:<34} {value:8.1f} {unit} / {budget:g} {unit} = {ratio:.2f}  {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
