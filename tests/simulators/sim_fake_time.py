"""A time function the simulator tests advance by hand (no sleeping)."""

from __future__ import annotations


class FakeTime:
    """A time function (seconds) that only moves when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds
