"""Subprocess for the SIGKILL test: a firing with the journal on the scaled clock, or the
resume of one (`--resume RUN --pv PV --wall-start T`: the kiln kept its heat; the wall
clock continues from T so the journal's times stay in order)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eng_models import TinyKiln, plant

from kilnctl.clock import ScaledClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import StartJob
from kilnctl.engine.settings import EngineSettings
from kilnctl.journal import Journal
from kilnctl.recipes.models import FiringProfile

PROFILE = FiringProfile.model_validate(
    {
        "name": "sigkill-ramp",
        "max_temp": 900,
        "segments": [{"rate": 600, "target": 400, "hold": 60}],
    }
)


class Library:
    def get(self, name: str) -> Any:
        return PROFILE


class ContinuedClock(ScaledClock):
    """Scaled clock whose wall time starts at a given Unix time."""

    def __init__(self, speed: float, wall_start: float | None) -> None:
        super().__init__(speed)
        if wall_start is not None:
            self._wall0 = wall_start


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--journal", required=True)
    parser.add_argument("--speed", type=float, default=1000.0)
    parser.add_argument("--resume")
    parser.add_argument("--pv", type=float, default=20.0)
    parser.add_argument("--wall-start", type=float)
    args = parser.parse_args()
    clock = ContinuedClock(args.speed, args.wall_start)
    kiln = TinyKiln("ctl", clock.now, pv_c=args.pv)
    journal = Journal(args.journal)
    eng = Engine(
        {"ctl": kiln},
        plant({"k1": {"controller": "ctl"}}),
        Library(),
        journal,
        clock,
        EngineSettings(checkpoint_s=10.0),
    )
    if args.resume:
        run_id = await eng.resume(args.resume)
    else:
        started = await eng.submit(StartJob(ref="sigkill-ramp", kiln="k1", lot_id="K1"))
        assert started is not None
        run_id = started
        print(run_id, flush=True)
    outcome = await eng.wait(run_id) if run_id in eng.runs else "stopped"
    journal.close()
    print(outcome, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
