"""A firing process killed with SIGKILL and restarted with resume (real processes, real
journal, the kiln model in the process on a 1000x scaled clock):

- every sample the process had written before the kill is still in the journal, and the
  resumed samples continue the sequence (none reused, none dropped as a duplicate);
- the first setpoint after resume is the last one sent before the kill: the outage is not
  run through on the ramp;
- a paused run comes back paused at its held setpoint, says so, and goes on from there
  only when resumed.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kilnctl.journal import Journal

HELPER = Path(__file__).resolve().parent / "eng_fire_proc.py"
PERIOD_S = 1.0


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HELPER), "--speed", "1000", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


def _events(proc: subprocess.Popen[str]) -> Iterator[dict[str, Any]]:
    """The JSON events the process prints (it prints each once it was journaled)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("{"):
            yield json.loads(line)


def _kill(proc: subprocess.Popen[str], seen: list[dict[str, Any]]) -> None:
    """SIGKILL; keeps the events it printed before dying (still in the pipe)."""
    proc.send_signal(signal.SIGKILL)
    seen.extend(_events(proc))
    proc.wait(timeout=10)


def _send(proc: subprocess.Popen[str], command: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(command + "\n")
    proc.stdin.flush()


def _abort_after(
    proc: subprocess.Popen[str], n: int, counted: Any = lambda sample: True
) -> list[dict[str, Any]]:
    """The next samples it prints until n of them are `counted` (and any after them),
    then it is told to abort and ends (exit 0)."""
    samples: list[dict[str, Any]] = []
    count = 0
    for event in _events(proc):
        if event["kind"] == "sample":
            samples.append(event)
            count += bool(counted(event))
            if count == n:
                _send(proc, "abort")
    assert proc.wait(timeout=30) == 0
    return samples


def _samples(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] == "sample"]


def _resume(path: Path, run_id: str, pv_c: float, wall_start: float, *more: str) -> Any:
    return _start(
        "--journal", str(path), "--resume", run_id, "--pv", str(pv_c),
        "--wall-start", str(wall_start), "--events", *more,
    )  # fmt: skip


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; any still running at its end is killed and reaped."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()


def test_sigkill_mid_ramp_loses_no_sample_and_resumes_at_the_last_setpoint(
    tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    path = tmp_path / "journal.sqlite"
    rate = 600.0
    first = _start("--journal", str(path), "--events", "--rate", str(rate))
    procs.append(first)
    assert first.stdout is not None
    run_id = first.stdout.readline().strip()
    seen: list[dict[str, Any]] = []
    for event in _events(first):
        seen.append(event)
        if event["kind"] == "sample" and event["seq"] >= 400:  # 400 s into the ramp
            break
    _kill(first, seen)
    printed = _samples(seen)
    with Journal(path) as journal:
        assert [r.run_id for r in journal.unfinished_runs()] == [run_id]
        before = list(journal.samples(run_id))
    # nothing written is lost: every sample the process had handed on is journaled
    journaled = {(s.seq, s.t, s.values["sp_c"]) for s in before}
    lost = [s["seq"] for s in printed if (s["seq"], s["t"], s["values"]["sp_c"]) not in journaled]
    assert lost == []
    last = before[-1]
    assert last.seq >= printed[-1]["seq"]

    # power back after a minute: 10 °C of ramp at 600 °C/h if the outage were run through.
    # At 100x a few ms of process start-up are a fraction of a control period.
    second = _resume(path, run_id, last.values["pv_c"] - 2.0, last.t + 60.0, "--speed", "100")
    procs.append(second)
    resumed = _abort_after(second, 20)
    jump = resumed[0]["values"]["sp_c"] - last.values["sp_c"]
    print(f"\nsetpoint after resume - last before the kill: {jump:+.3f} °C")
    assert abs(jump) <= 1.0, f"setpoint jumped {jump:+.2f} °C"

    with Journal(path) as journal:
        samples = list(journal.samples(run_id))
        assert journal.runs()[0].outcome == "aborted"
    seqs = [s.seq for s in samples]
    assert seqs == list(range(1, len(seqs) + 1))
    # the resumed samples continue the sequence and are all journaled as sent
    assert resumed[0]["seq"] == last.seq + 1
    by_seq = {s.seq: s for s in samples}
    assert all(by_seq[s["seq"]].values == s["values"] for s in resumed)
    for a, b in itertools.pairwise(samples):
        assert b.t > a.t
        if a.seq != last.seq:  # across the kill: the jump above
            assert abs(b.values["sp_c"] - a.values["sp_c"]) <= rate / 3600 * (b.t - a.t) + 0.01


def test_paused_run_killed_comes_back_paused_at_its_held_setpoint(
    tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    # pause at 320 °C on a 300 °C/h ramp, killed 60 s later, power back after 5 min
    path = tmp_path / "journal.sqlite"
    rate = 300.0
    ramp = ("--rate", str(rate), "--target", "500")
    first = _start("--journal", str(path), "--events", "--pv", "300", *ramp, "--pause-at", "320")
    procs.append(first)
    assert first.stdout is not None
    run_id = first.stdout.readline().strip()
    seen: list[dict[str, Any]] = []
    paused_at: float | None = None
    for event in _events(first):
        seen.append(event)
        if event["kind"] == "state" and event["state"] == "paused":
            paused_at = event["t"]
        if paused_at is not None and event["kind"] == "sample" and event["t"] >= paused_at + 60:
            break
    _kill(first, seen)
    assert paused_at is not None
    held = _samples(seen)[-1]
    held_sp = held["values"]["sp_c"]
    # paused at the first period after the sample that reached 320 °C was handed on: the
    # ramp runs on until then (by as much as the time that took, long on a loaded
    # machine), never further, and is frozen from there
    samples = _samples(seen)
    reached = next(s for s in samples if s["values"]["sp_c"] >= 320.0)
    frozen = [s for s in samples if s["t"] > paused_at]
    assert frozen and all(abs(s["values"]["sp_c"] - held_sp) < 0.01 for s in frozen)
    ran_on = rate / 3600 * (frozen[0]["t"] - reached["t"])
    assert 319.0 <= held_sp <= reached["values"]["sp_c"] + ran_on + 0.01

    second = _resume(path, run_id, held["values"]["pv_c"] - 10.0, held["t"] + 300.0, *ramp)
    procs.append(second)
    events: list[dict[str, Any]] = []
    for event in _events(second):
        events.append(event)
        if event["kind"] == "sample" and event["t"] >= held["t"] + 300.0 + 600.0:
            break  # ten minutes after the resume
    # still paused, at the held setpoint, and the operator was told
    states = [(e["source"], e["state"]) for e in events if e["kind"] == "state"]
    assert ("run", "paused") in states and ("run", "running") not in states
    notices = [e["message"] for e in events if e["kind"] == "notice"]
    assert any(f"resumed paused at {held_sp:.1f} °C" in m and "press r" in m for m in notices)
    still = _samples(events)
    assert len(still) >= 500  # (the process takes a few simulated seconds to start)
    assert all(abs(s["values"]["sp_c"] - held_sp) < 0.01 for s in still)

    _send(second, "resume")  # the operator presses r
    # 60 periods counted from the first that moved: the resume lands a few periods after it
    # was sent (more on a loaded machine, at 1000x a period is a millisecond)
    moving = _abort_after(second, 60, lambda s: s["values"]["sp_c"] > held_sp + 0.001)
    # it goes on from the held setpoint, at the ramp's rate
    sps = [(still[-1]["t"], held_sp)] + [(s["t"], s["values"]["sp_c"]) for s in moving]
    for (t0, sp0), (t1, sp1) in itertools.pairwise(sps):
        assert 0.0 <= sp1 - sp0 <= rate / 3600 * (t1 - t0) + 0.01
    assert sps[-1][1] > held_sp + 4.0
    with Journal(path) as journal:
        seqs = [s.seq for s in journal.samples(run_id)]
        assert seqs == list(range(1, len(seqs) + 1))
