from __future__ import annotations

import asyncio

from kilnctl.clock import VirtualClock


async def test_virtual_clock_orders_sleepers_and_jumps_time() -> None:
    clock = VirtualClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, s: float) -> None:
        await clock.sleep(s)
        woke.append((name, clock.now()))

    await asyncio.gather(sleeper("b", 3600.0), sleeper("a", 10.0), sleeper("c", 36000.0))
    assert woke == [("a", 10.0), ("b", 3600.0), ("c", 36000.0)]


async def test_virtual_clock_periodic_loop_is_deterministic() -> None:
    clock = VirtualClock()
    ticks = []

    async def loop() -> None:
        t = clock.now()
        for _ in range(5):
            t += 1.5
            await clock.sleep_until(t)
            ticks.append(clock.now())

    await loop()
    assert ticks == [1.5, 3.0, 4.5, 6.0, 7.5]
