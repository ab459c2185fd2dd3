"""The plant watch stops when told, even when the cancellation is lost inside a device read:
Python 3.11's asyncio.wait_for (pymodbus awaits every reply through it) swallows a cancel
that coincides with the reply, and `kilnctl serve` then hung at SIGTERM (found by
tests/service/test_svc_telemetry_health.py, about one shutdown in ten with an idle kiln
read 60 times a second)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from kilnctl.clock import ScaledClock
from kilnctl.engine.watch import PlantWatch
from simulators.inprocess import SimKilnController
from simulators.physics.kiln import KilnParams


class LosesTheCancel(SimKilnController):
    """A controller whose read takes its reply as the cancel arrives, and the cancel is
    lost (as asyncio.wait_for does in Python 3.11)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.reading = asyncio.Event()
        self.lost = 0

    async def read(self):  # type: ignore[no-untyped-def]
        self.reading.set()
        try:
            await asyncio.sleep(3600)  # the reply is on its way
        except asyncio.CancelledError:
            if self.lost:
                raise  # only the first: a test that fails must not hang
            self.lost += 1
        return await super().read()


async def test_the_watch_stops_even_when_a_cancel_is_lost_in_a_read() -> None:
    clock = ScaledClock(1000.0)
    kiln = LosesTheCancel("ctl", clock.now, KilnParams(), seed=1)
    plant = SimpleNamespace(
        kilns={"k1": SimpleNamespace(controller="ctl", max_temp_c=1000.0, contactor=None)},
        tanks={},
    )
    watch = PlantWatch(plant, {"ctl": kiln}, clock, lambda event: None, set, period_s=1.0)
    watch.start()
    await asyncio.wait_for(kiln.reading.wait(), 5)
    stopping = asyncio.ensure_future(watch.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)
    # before: the loop went on to its next read, and the stop waited for ever
    assert stopping in done and kiln.lost == 1
