"""What making every journal record durable as written costs: samples/s through the
journal as the engine now writes them (one commit per sample, and a checkpoint every
control period) against the former write path (samples buffered and committed with a
checkpoint every 30 s), measured in the same run on the same schema, alternated so that
other load on the machine falls on both.

Prints the ratio (after / before) and what a kiln's control period now spends on the
journal. Target: >= 1,000 durable sample+checkpoint periods/s (100 kilns at a 1 s period,
with a margin of 10).

Run: .venv/bin/python -m bench bench_journal_write   (or the file with --samples N)
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kilnctl.journal import Journal

TARGET_PERIODS_PER_S = 1_000.0
OLD_CHECKPOINT_EVERY = 30
"""The former default: a checkpoint (and the commit of the buffered samples) every 30 s."""
ROUNDS = 3

STATE: dict[str, Any] = {
    "paused": False,
    "step_index": 0,
    "step_state": {
        "kind": "firing",
        "schedule": {
            "index": 0,
            "phase": "ramp",
            "sp_c": 412.5,
            "ramp_start_c": 20.0,
            "hold_elapsed_s": 0.0,
            "hold_wall_s": 0.0,
            "extra_hold_s": 0.0,
            "paused": False,
            "waiting": False,
            "t": 1_790_000_000.0,
        },
    },
    "seq": {"kiln1": 1},
    "results": [],
}
VALUES = {"pv_c": 411.93, "sp_c": 412.5, "out_pct": 63.2}


def _new_run(journal: Journal) -> str:
    return journal.start_run(
        job_name="bench", lot_id="B", recipe_hashes={}, started_at=1_790_000_000.0, meta={}
    )


def durable(path: Path, n: int) -> float:
    """The write path now: each sample committed, a checkpoint every period."""
    with Journal(path) as journal:
        run_id = _new_run(journal)
        began = time.perf_counter()
        for seq in range(1, n + 1):
            t = 1_790_000_000.0 + seq
            journal.record_sample(run_id, seq, t, "kiln1", VALUES)
            journal.checkpoint(run_id, t, STATE)
        return time.perf_counter() - began


def buffered(path: Path, n: int) -> float:
    """The former write path: the same rows, committed with a checkpoint every 30."""
    with Journal(path) as journal:
        run_id = _new_run(journal)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    began = time.perf_counter()
    rows: list[tuple[str, int, float, str, str]] = []
    for seq in range(1, n + 1):
        t = 1_790_000_000.0 + seq
        rows.append((run_id, seq, t, "kiln1", dumps(VALUES)))
        if seq % OLD_CHECKPOINT_EVERY == 0 or seq == n:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT OR IGNORE INTO samples (run_id, seq, t, source, vals) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            db.execute(
                "INSERT INTO checkpoints (run_id, t, state) VALUES (?, ?, ?) "
                "ON CONFLICT (run_id) DO UPDATE SET t = excluded.t, state = excluded.state",
                (run_id, t, dumps(STATE)),
            )
            db.execute("COMMIT")
            rows = []
    took = time.perf_counter() - began
    db.close()
    return took


def rate(write: Callable[[Path, int], float], n: int, tmp: Path, name: str) -> float:
    """Samples/s of one round in a fresh journal file."""
    return n / write(tmp / f"{name}-{time.monotonic_ns()}.sqlite", n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=20_000)
    args = parser.parse_args()
    before: list[float] = []
    after: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(ROUNDS):  # alternated: a load spike falls on both
            before.append(rate(buffered, args.samples, Path(tmp), "buffered"))
            after.append(rate(durable, args.samples, Path(tmp), "durable"))
    old, new = max(before), max(after)
    verdict = "ok" if new >= TARGET_PERIODS_PER_S else "below target"
    print(
        f"journal writes, {args.samples:,} samples, best of {ROUNDS}: buffered with a "
        f"checkpoint every {OLD_CHECKPOINT_EVERY} {old:,.0f} samples/s; durable as written "
        f"with a checkpoint every period {new:,.0f} samples/s: ratio {new / old:.2f}; "
        f"{1e6 / new:.0f} µs of each 1 s control period "
        f"(target >= {TARGET_PERIODS_PER_S:,.0f}/s: {verdict})"
    )


if __name__ == "__main__":
    main()
