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


def comms_timeout(time_fn: TimeFn, real_s: float) -> float:
    """A device's communications timeout of `real_s` seconds, in `time_fn`'s seconds.

    A unit's comms watchdog (the Eurotherm's remote-setpoint timeout, an I/O module's
    output watchdog) runs on the unit's own clock against the traffic on its line, and the
    line is not sped up with the physics: a 19200-baud RS-485 bus takes as long per frame
    at --speed 60 as on the plant. Counted in simulated time, the 3216's 5 s would be 83 ms
    of real time at x60, shorter than one cycle of a loaded bus (spurious fallbacks). So
    the timeout is `real_s` of real time: `real_s` × speed on a `ScaledTime`; on any other
    time function (a test's frozen or virtual time, no `speed`) simply `real_s`."""
    return real_s * float(getattr(time_fn, "speed", 1.0))
