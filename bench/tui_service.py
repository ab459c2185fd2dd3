"""A kilnctl service with N simulated kilns (in-process simulators), each in a firing at
the real clock's 1 s period: the stream `bench_tui` attaches the TUI to.

Run: python -m bench.tui_service SOCKET [N]   (stops on SIGTERM / SIGINT)
"""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
from pathlib import Path

from kilnctl.clock import RealClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import StartJob
from kilnctl.journal import Journal
from kilnctl.plant import Plant
from kilnctl.recipes.loader import RecipeLibrary
from kilnctl.recipes.models import FiringProfile
from kilnctl.service.server import Service
from simulators.inprocess import SimKilnController

PROFILE = FiringProfile.model_validate(
    {"name": "bench", "max_temp": 900, "segments": [{"rate": 100, "target": 800, "hold": "1 h"}]}
)


async def serve(socket: Path, kilns: int) -> None:
    clock = RealClock()
    names = [f"kiln{i + 1}" for i in range(kilns)]
    plant = Plant.model_validate(
        {
            "devices": {n: {"driver": "eurotherm3216", "url": f"inprocess://{n}"} for n in names},
            "kilns": {n: {"controller": n, "max_temp": 1000} for n in names},
        }
    )
    devices: dict[str, object] = {
        n: SimKilnController(n, clock.now, seed=i) for i, n in enumerate(names)
    }
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp) / "journal.sqlite")
        engine = Engine(devices, plant, RecipeLibrary([]), journal, clock)
        service = Service(engine, journal=journal, plant_name=f"bench: {kilns} kilns")
        await service.start(socket)
        for n in names:
            await engine.submit(StartJob(ref="bench", lot_id=f"B-{n}", kiln=n, recipe=PROFILE))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print("ready", flush=True)
        await stop.wait()
        await service.close()
        await engine.abort_runs("bench over")
        await engine.close()
        journal.close()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 10))
