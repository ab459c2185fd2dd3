"""A 10-hour firing against the in-process simulated kiln on the virtual clock, journal
included: prints the simulated/wall time ratio (target >= 12,000, i.e. under 3 s; the
journal commits each of the firing's 36,126 samples and checkpoints as it is written, see
bench_journal_write).

Run: .venv/bin/python -m bench bench_engine_virtual   (or the file with --hours N --profile)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import StartJob
from kilnctl.engine.settings import EngineSettings
from kilnctl.journal import Journal
from kilnctl.recipes.models import FiringProfile
from simulators.inprocess import SimKilnController

TARGET_RATIO = 12_000.0


def ten_hour_profile(hours: float) -> FiringProfile:
    """Ramp 150 °C/h to 790 °C (4.27 h), hold the rest, cool at 300 °C/h to 500 °C."""
    ramp_s = (790 - 20) / 150 * 3600
    cool_s = (790 - 500) / 300 * 3600
    hold_s = hours * 3600 - ramp_s - cool_s
    return FiringProfile.model_validate(
        {
            "name": "bench-10h",
            "max_temp": 850,
            "trip": 870,
            "segments": [
                {"rate": 150, "target": 790, "hold": hold_s},
                {"rate": 300, "target": 500},
            ],
        }
    )


async def run(hours: float, journal_path: Path) -> tuple[float, float, str, int]:
    clock = VirtualClock()
    kiln = SimKilnController("kiln1", clock.now, seed=1)
    plant = SimpleNamespace(
        kilns={
            "kiln1": SimpleNamespace(
                controller="kiln1", mode="setpoint", max_temp_c=1000.0, pid=None
            )
        },
        tanks={},
    )
    journal = Journal(journal_path)
    engine = Engine({"kiln1": kiln}, plant, None, journal, clock, EngineSettings())
    wall = time.perf_counter()
    run_id = await engine.submit(
        StartJob(ref="bench-10h", kiln="kiln1", recipe=ten_hour_profile(hours))
    )
    assert run_id is not None
    outcome = await engine.wait(run_id)
    wall = time.perf_counter() - wall
    samples = sum(1 for _ in journal.samples(run_id))
    journal.close()
    return clock.now(), wall, outcome, samples


def measure(hours: float, profile: bool) -> None:
    """One run; prints its figures (and a cProfile summary when asked)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        prof = cProfile.Profile()
        if profile:
            prof.enable()
        sim_s, wall_s, outcome, samples = asyncio.run(run(hours, path))
        if profile:
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(30)
    ratio = sim_s / wall_s
    verdict = "ok" if ratio >= TARGET_RATIO else "below target"
    print(
        f"{hours:g}-hour firing, journal on, virtual clock: {outcome}, {samples} samples; "
        f"simulated {sim_s / 3600:.2f} h in {wall_s:.3f} s wall: ratio {ratio:,.0f} "
        f"(target >= {TARGET_RATIO:,.0f}: {verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=10.0)
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary")
    args = parser.parse_args()
    measure(args.hours, args.profile)


if __name__ == "__main__":
    main()
