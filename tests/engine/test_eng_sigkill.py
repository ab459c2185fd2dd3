"""A firing process killed with SIGKILL mid-firing and restarted with resume continues
with no setpoint jump and no lost or duplicated sample seq (real processes, real journal)."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kilnctl.journal import Journal

HELPER = Path(__file__).resolve().parent / "eng_fire_proc.py"
RATE_C_PER_S = 600 / 3600


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HELPER), *args],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


def test_sigkill_mid_firing_then_resume(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    first = _start("--journal", str(path), "--speed", "1000")
    assert first.stdout is not None
    run_id = first.stdout.readline().strip()
    journal = Journal(path)
    deadline = time.monotonic() + 30
    while sum(1 for _ in journal.samples(run_id)) < 400:  # ~400 s of firing committed
        assert first.poll() is None, "the firing ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)  # polling another process's progress, not letting time pass
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    first.stdout.close()
    assert [r.run_id for r in journal.unfinished_runs()] == [run_id]
    before = list(journal.samples(run_id))
    last = before[-1]
    second = _start(
        "--journal",
        str(path),
        "--speed",
        "1000",
        "--resume",
        run_id,
        "--pv",
        str(last.values["pv_c"]),
        "--wall-start",
        str(last.t + 1.0),
    )
    out, _ = second.communicate(timeout=45)
    assert second.returncode == 0 and out.strip().splitlines()[-1] == "completed"
    samples = list(journal.samples(run_id))
    seqs = [s.seq for s in samples]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(samples) > len(before)
    # no setpoint jump anywhere, in particular across the kill
    for a, b in itertools.pairwise(samples):
        assert b.t > a.t
        assert abs(b.values["sp_c"] - a.values["sp_c"]) <= RATE_C_PER_S * (b.t - a.t) + 0.01
    assert max(s.values["sp_c"] for s in samples) == 400.0
    assert journal.runs()[0].outcome == "completed"
    journal.close()
