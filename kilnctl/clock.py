"""One injectable clock: real time, scaled time, or virtual (discrete-event) time.

Everything in kilnctl that waits takes a Clock, so a 10-hour firing against an in-process
simulated kiln runs in well under a second on the virtual clock, deterministically.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Sized
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since an arbitrary epoch (monotonic)."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    async def sleep_until(self, t: float) -> None: ...

    def wall_time(self) -> float:
        """Unix time corresponding to now(), for records and telemetry."""
        ...


class RealClock:
    def __init__(self) -> None:
        self._offset = time.time() - time.monotonic()

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def sleep_until(self, t: float) -> None:
        await self.sleep(t - self.now())

    def wall_time(self) -> float:
        return self.now() + self._offset


class ScaledClock:
    """Time runs `speed` times faster than real time (matches simulators' --speed).

    `epoch` is the Unix time at which scaled time started; processes given the same epoch
    (the simulators' own) agree on the time, so a run resumed by another process sees how
    much simulated time its outage really lasted.
    """

    def __init__(self, speed: float, epoch: float | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = speed
        real_now, mono_now = time.time(), time.monotonic()
        self._wall0 = real_now if epoch is None else epoch
        self._t0 = mono_now - (real_now - self._wall0)  # the monotonic instant of the epoch

    def now(self) -> float:
        return (time.monotonic() - self._t0) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    async def sleep_until(self, t: float) -> None:
        await self.sleep(t - self.now())

    def wall_time(self) -> float:
        return self._wall0 + self.now()


class VirtualClock:
    """Discrete-event time. Sleepers are woken in time order; time jumps to the next wake-up
    once no task is ready to run. Only for code whose awaits are all in-process
    (in-process simulated devices): a real socket read would not be waited for.
    """

    # Fallback when the loop does not expose its ready queue: let ready tasks run this many
    # loop iterations before jumping time (each iteration runs every ready callback once).
    settle_iterations = 20

    def __init__(self, start: float = 0.0, wall_start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall0 = wall_start - start
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._pump: asyncio.Task[None] | None = None

    def now(self) -> float:
        return self._now

    def wall_time(self) -> float:
        return self._wall0 + self._now

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now + max(0.0, seconds))

    async def sleep_until(self, t: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (max(t, self._now), next(self._seq), fut))
        self._ensure_pump()
        await fut

    def _ensure_pump(self) -> None:
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._run_pump())

    async def _settle(self, ready: Sized | None) -> None:
        """Return once every task that can run has run up to its next wait."""
        if ready is None:
            for _ in range(self.settle_iterations):
                await asyncio.sleep(0)
            return
        # CPython's loop keeps runnable callbacks in `_ready`. After our own sleep(0) we run
        # behind everything that was ready; if nothing was queued behind us meanwhile, every
        # task is waiting: that is the idle point where discrete-event time may jump. This
        # costs one loop iteration per hop instead of a fixed 20 per wake-up.
        await asyncio.sleep(0)
        while len(ready):
            await asyncio.sleep(0)

    async def _run_pump(self) -> None:
        ready = getattr(asyncio.get_running_loop(), "_ready", None)
        if ready is not None and not isinstance(ready, Sized):
            ready = None
        while True:
            await self._settle(ready)
            while self._heap and self._heap[0][2].done():  # cancelled sleepers
                heapq.heappop(self._heap)
            if not self._heap:
                return
            t, _, fut = heapq.heappop(self._heap)
            self._now = max(self._now, t)
            fut.set_result(None)


def simulated_time(clock: object) -> dict[str, object] | None:
    """How a clock departs from real time, for a run's record: {"clock": "scaled",
    "speed": x} for a ScaledClock at x != 1, {"clock": "virtual"} for a VirtualClock,
    None on real time. A run on simulated time is stamped in that time (its journal times
    are clock.wall_time()), so the record must say so."""
    if isinstance(clock, VirtualClock):
        return {"clock": "virtual"}
    speed = getattr(clock, "speed", 1.0)
    if isinstance(clock, ScaledClock) and speed != 1.0:
        return {"clock": "scaled", "speed": float(speed)}
    return None
