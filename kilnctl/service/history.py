"""A run's past samples for a client that attaches mid-run ("history" op).

The journal is read once, on its own SQLite connection in a worker thread: the engine's
Journal object (the writer, in the event loop thread) is not touched, so a 10-hour run
(36,000 samples per source) does not block the control loop. In WAL mode the reader never
blocks the writer.

Samples written while the read is under way (after its snapshot) come from
`RecentSamples`, the service's in-memory tail of the live stream, so the answer has no gap
before the live samples begin.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kilnctl.chart import thin
from kilnctl.journal import Journal

TAIL_SAMPLES = 1000
"""Live samples kept per (run, source): far more than are written while one journal read
runs, so the tail always reaches back past the read's snapshot."""

Point = tuple[float, float]


def _numeric(values: dict[str, Any]) -> Iterable[tuple[str, float]]:
    for key, value in values.items():
        if key != "t" and isinstance(value, int | float) and not isinstance(value, bool):
            yield key, float(value)


class RecentSamples:
    """The last TAIL_SAMPLES samples of each (run, source) seen on the live stream."""

    def __init__(self, size: int = TAIL_SAMPLES) -> None:
        self.size = size
        self._tails: dict[tuple[str, str], deque[tuple[float, dict[str, Any]]]] = {}

    def add(self, run_id: str, source: str, t: float, values: dict[str, Any]) -> None:
        """Keep one live sample."""
        tail = self._tails.get((run_id, source))
        if tail is None:
            tail = self._tails[(run_id, source)] = deque(maxlen=self.size)
        tail.append((t, values))

    def forget(self, run_id: str) -> None:
        """Drop a finished run's tails."""
        for key in [k for k in self._tails if k[0] == run_id]:
            del self._tails[key]

    def after(self, run_id: str, source: str, t: float) -> list[tuple[float, dict[str, Any]]]:
        """Samples of (run, source) newer than `t`."""
        return [s for s in self._tails.get((run_id, source), ()) if s[0] > t]


def read_journal(path: Path, run_id: str, source: str, since: float) -> dict[str, list[Point]]:
    """Every numeric value of `source` in `run_id` after `since`, per key, as (t, value).

    Opens its own connection (call it from a worker thread); JournalError for an unknown run.
    """
    journal = Journal(path)
    try:
        journal.run(run_id)
        series: dict[str, list[Point]] = {}
        for sample in journal.samples(run_id, source):
            if sample.t <= since:
                continue
            for key, value in _numeric(sample.values):
                series.setdefault(key, []).append((sample.t, value))
        return series
    finally:
        journal.close()


def merge_and_thin(
    series: dict[str, list[Point]],
    recent: list[tuple[float, dict[str, Any]]],
    max_points: int,
) -> tuple[dict[str, list[Point]], int]:
    """Append the live tail after the journal's last sample, thin each series to about
    `max_points` (chart.thin keeps each bucket's min and max); also the raw count."""
    last = max((pts[-1][0] for pts in series.values() if pts), default=float("-inf"))
    for t, values in recent:
        if t > last:
            for key, value in _numeric(values):
                series.setdefault(key, []).append((t, value))
    count = max((len(pts) for pts in series.values()), default=0)
    return {key: thin(pts, max_points) for key, pts in series.items()}, count
