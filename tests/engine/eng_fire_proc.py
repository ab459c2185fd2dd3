"""Subprocess for the SIGKILL tests: a firing with the journal on the scaled clock, or the
resume of one (`--resume RUN --pv PV --wall-start T`: the kiln kept its heat; the wall
clock continues from T so the journal's times stay in order).

With `--events`, every event the engine publishes is printed as a JSON line once the
engine has handed it on, i.e. after it was journaled: what the parent sees is what the
process had written when it was killed. `--pause-at SP` pauses the run at the first
sample whose setpoint reaches SP. Lines on stdin are commands: "resume", "abort".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eng_models import TinyKiln, plant

from kilnctl.clock import ScaledClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import Abort, Pause, Resume, Sample, StartJob
from kilnctl.engine.settings import EngineSettings
from kilnctl.journal import Journal
from kilnctl.recipes.models import FiringProfile


def profile(rate: float, target: float) -> FiringProfile:
    return FiringProfile.model_validate(
        {
            "name": "sigkill-ramp",
            "max_temp": 900,
            "segments": [{"rate": rate, "target": target, "hold": 60}],
        }
    )


class Library:
    def __init__(self, recipe: FiringProfile) -> None:
        self.recipe = recipe

    def get(self, name: str) -> Any:
        return self.recipe


class ContinuedClock(ScaledClock):
    """Scaled clock whose wall time starts at a given Unix time."""

    def __init__(self, speed: float, wall_start: float | None) -> None:
        super().__init__(speed)
        if wall_start is not None:
            self._wall0 = wall_start


def _stdin_commands() -> asyncio.Queue[str]:
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line.strip())

    threading.Thread(target=read, daemon=True).start()
    return lines


async def _obey(eng: Engine, run_id: str, commands: asyncio.Queue[str]) -> None:
    while True:
        command = await commands.get()
        if command == "resume":
            await eng.submit(Resume(run_id, who="test"))
        elif command == "abort":
            await eng.submit(Abort(run_id, who="test", reason="test over"))


async def _report(eng: Engine, queue: asyncio.Queue[Any], pause_at: float | None) -> None:
    while True:
        event = await queue.get()
        print(json.dumps(event.to_dict()), flush=True)
        if (
            pause_at is not None
            and isinstance(event, Sample)
            and event.values.get("sp_c", 0.0) >= pause_at
        ):
            pause_at = None
            await eng.submit(Pause(event.run_id, who="test"))


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--journal", required=True)
    parser.add_argument("--speed", type=float, default=1000.0)
    parser.add_argument("--resume")
    parser.add_argument("--pv", type=float, default=20.0)
    parser.add_argument("--wall-start", type=float)
    parser.add_argument("--rate", type=float, default=600.0)
    parser.add_argument("--target", type=float, default=400.0)
    parser.add_argument("--pause-at", type=float)
    parser.add_argument("--events", action="store_true")
    args = parser.parse_args()
    clock = ContinuedClock(args.speed, args.wall_start)
    kiln = TinyKiln("ctl", clock.now, pv_c=args.pv)
    journal = Journal(args.journal)
    eng = Engine(
        {"ctl": kiln},
        plant({"k1": {"controller": "ctl"}}),
        Library(profile(args.rate, args.target)),
        journal,
        clock,
        EngineSettings(),  # a checkpoint every control period, as in the product
    )
    loop = asyncio.get_running_loop()
    queue = eng.subscribe(maxsize=1_000_000)
    reporter = loop.create_task(_report(eng, queue, args.pause_at)) if args.events else None
    if args.resume:
        run_id = await eng.resume(args.resume)
    else:
        started = await eng.submit(StartJob(ref="sigkill-ramp", kiln="k1", lot_id="K1"))
        assert started is not None
        run_id = started
        print(run_id, flush=True)
    obey = loop.create_task(_obey(eng, run_id, _stdin_commands()))
    outcome = await eng.wait(run_id) if run_id in eng.runs else "stopped"
    obey.cancel()
    if reporter is not None:
        reporter.cancel()
        while not queue.empty():
            print(json.dumps(queue.get_nowait().to_dict()), flush=True)
    journal.close()
    print(outcome, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
