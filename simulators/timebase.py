"""Simulated time: real, or running N times faster. Physics integrate lazily to `now()`."""

from __future__ import annotations

import time
from collections.abc import Callable

TimeFn = Callable[[], float]


class ScaledTime:
    """Seconds of simulated time since start, running `speed` times faster than real time."""

    def __init__(self, speed: float = 1.0, real: TimeFn = time.monotonic) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = speed
        self._real = real
        self._t0 = real()
        self.epoch = time.time()
        """Unix time of simulated time 0: lets other processes keep the same simulated time."""

    def __call__(self) -> float:
        return (self._real() - self._t0) * self.speed
