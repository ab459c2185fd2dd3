"""The SQLite journal: WAL, round trips, idempotent samples, every record committed as
written (nothing lost in a crash), and a second process reading while one writes."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from child_output import DrainedPopen

from kilnctl.journal import Event, Journal, JournalError, OutboxCursor, Sample

T0 = 1_790_000_000.0


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "j.sqlite") as j:
        yield j


def start(journal: Journal, lot: str = "LOT-1") -> str:
    return journal.start_run(
        job_name="enamel-3-coat",
        lot_id=lot,
        recipe_hashes={"enamel-3-coat": "ab12", "enamel-preheat": "cd34"},
        started_at=T0,
        meta={"kiln": "kiln1", "pins": 100},
    )


@contextlib.contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A second, independent connection (what another process would see)."""
    db = sqlite3.connect(path)
    try:
        yield db
    finally:
        db.close()


def test_wal_mode_is_on(journal: Journal) -> None:
    with raw(journal.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        run_id = start(j)
        j.record_sample(run_id, 0, T0, "kiln1", {"pv_c": 20.5, "sp_c": 20.0, "out_pct": 0.0})
        j.record_sample(run_id, 0, T0, "tank-ni", {"volts": 4.2, "amps": 36.0})
        j.record_event(run_id, T0 + 1, "segment", {"index": 1, "target_c": 790.0})
        j.checkpoint(run_id, T0 + 1, {"segment": 1, "elapsed_s": 1.0})
        j.record_event(run_id, T0 + 2, "alarm_raised", {"id": "overtemp", "pv_c": 871.0})
    with Journal(path) as j:
        [info] = j.unfinished_runs()
        assert (info.run_id, info.job_name, info.lot_id) == (run_id, "enamel-3-coat", "LOT-1")
        assert info.meta == {"kiln": "kiln1", "pins": 100}
        assert info.recipe_hashes["enamel-preheat"] == "cd34"
        assert (info.started_at, info.outcome, info.finished_at) == (T0, None, None)
        assert list(j.samples(run_id)) == [
            Sample(0, T0, "kiln1", {"pv_c": 20.5, "sp_c": 20.0, "out_pct": 0.0}),
            Sample(0, T0, "tank-ni", {"volts": 4.2, "amps": 36.0}),
        ]
        assert list(j.events(run_id)) == [
            Event(T0 + 1, "segment", {"index": 1, "target_c": 790.0}),
            Event(T0 + 2, "alarm_raised", {"id": "overtemp", "pv_c": 871.0}),
        ]
        assert j.last_checkpoint(run_id) == (T0 + 1, {"segment": 1, "elapsed_s": 1.0})
        j.finish_run(run_id, T0 + 60, "completed")
        assert j.unfinished_runs() == []
        [done] = j.runs()
        assert (done.outcome, done.finished_at) == ("completed", T0 + 60)


def test_many_samples_page_through_in_order(journal: Journal) -> None:
    run_id = start(journal)
    for seq in range(4500):
        journal.record_sample(run_id, seq, T0 + seq, "kiln1", {"pv_c": float(seq)})
    assert [s.seq for s in journal.samples(run_id)] == list(range(4500))


def test_a_seq_already_journaled_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        run_id = start(j)
        for seq in range(3):
            j.record_sample(run_id, seq, T0 + seq, "kiln1", {"pv_c": 100.0 + seq})
        j.checkpoint(run_id, T0 + 2, {"seq": 2})
    with Journal(path) as j:  # seq 2 written again: the batch record keeps the first
        j.record_sample(run_id, 2, T0 + 2.5, "kiln1", {"pv_c": -1.0})
        j.record_sample(run_id, 3, T0 + 3, "kiln1", {"pv_c": 103.0})
        j.record_sample(run_id, 3, T0 + 3, "kiln1", {"pv_c": -1.0})
        j.checkpoint(run_id, T0 + 3, {"seq": 3})
        samples = list(j.samples(run_id))
    assert [(s.seq, s.values["pv_c"]) for s in samples] == [
        (0, 100.0),
        (1, 101.0),
        (2, 102.0),
        (3, 103.0),
    ]


def test_unknown_run_and_bad_outcome_are_refused(journal: Journal) -> None:
    with pytest.raises(JournalError, match="unknown run"):
        journal.record_sample("no-such-run", 0, T0, "kiln1", {"pv_c": 1.0})
    run_id = start(journal)
    with pytest.raises(JournalError, match="completed"):
        journal.finish_run(run_id, T0, "exploded")
    assert journal.runs()[0].outcome is None


def test_every_record_is_committed_as_written(journal: Journal) -> None:
    run_id = start(journal)
    with raw(journal.path) as other:
        journal.record_sample(run_id, 0, T0, "kiln1", {"pv_c": 20.0})
        assert other.execute("SELECT count(*) FROM samples").fetchone()[0] == 1
        journal.record_event(run_id, T0, "segment", {"index": 0})
        journal.record_event(run_id, T0, "operator", {"command": "pause", "who": "ana"})
        assert other.execute("SELECT kind FROM events").fetchall() == [
            ("segment",),
            ("operator",),
        ]
        journal.checkpoint(run_id, T0, {"n": 1})
        assert json.loads(other.execute("SELECT state FROM checkpoints").fetchone()[0]) == {"n": 1}


def test_last_seqs_per_source(journal: Journal) -> None:
    run_id = start(journal)
    assert journal.last_seqs(run_id) == {}
    for seq in range(1, 4):
        journal.record_sample(run_id, seq, T0 + seq, "kiln1", {"pv_c": 1.0})
    journal.record_sample(run_id, 7, T0, "tank-ni", {"amps": 1.0})
    assert journal.last_seqs(run_id) == {"kiln1": 3, "tank-ni": 7}


CRASHER = textwrap.dedent(
    """
    import os, sys
    from kilnctl.journal import Journal
    j = Journal(sys.argv[1])
    run_id = j.start_run(job_name="job", lot_id="L", recipe_hashes={}, started_at=0.0, meta={})
    for seq in range(10):
        j.record_sample(run_id, seq, float(seq), "kiln1", {"pv_c": float(seq)})
    j.checkpoint(run_id, 9.0, {"next_seq": 10})
    for seq in range(10, 15):
        j.record_sample(run_id, seq, float(seq), "kiln1", {"pv_c": float(seq)})
    j.record_event(run_id, 14.0, "segment", {"index": 1})
    print(run_id, flush=True)
    os.kill(os.getpid(), 9)  # power cut: no close
    """
)


def test_nothing_written_is_lost_in_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    proc = subprocess.run(
        [sys.executable, "-c", CRASHER, str(path)], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == -9, proc.stderr
    run_id = proc.stdout.strip()
    with Journal(path) as j:
        assert j.last_checkpoint(run_id) == (9.0, {"next_seq": 10})
        # the samples and the event written after the last checkpoint stay too
        assert [s.seq for s in j.samples(run_id)] == list(range(15))
        assert [e.kind for e in j.events(run_id)] == ["segment"]
        assert [r.run_id for r in j.unfinished_runs()] == [run_id]


WRITER = textwrap.dedent(
    """
    import sys
    from kilnctl.journal import Journal
    j = Journal(sys.argv[1])
    run_id = sys.argv[2]
    n = 0
    for step in range(int(sys.argv[3])):
        for _ in range(10):
            j.record_sample(run_id, n, float(n), "kiln1", {"pv_c": float(n)})
            n += 1
        j.record_event(run_id, float(n), "segment", {"n": n})
        j.checkpoint(run_id, float(n), {"n": n})
    j.finish_run(run_id, float(n), "completed")
    j.close()
    """
)


def test_second_process_reads_while_one_writes(journal: Journal) -> None:
    run_id = start(journal)
    steps = 300
    writer = DrainedPopen(
        [sys.executable, "-c", WRITER, str(journal.path), run_id, str(steps)],
        stderr=subprocess.PIPE,
        text=True,
    )
    snapshots = []
    with raw(journal.path) as reader:
        while True:
            finished = writer.poll() is not None
            # One read transaction: the records the checkpoint counts are all there (and
            # at most the next step's, written before its checkpoint).
            reader.execute("BEGIN")
            state = reader.execute("SELECT state FROM checkpoints WHERE run_id = ?", (run_id,))
            row = state.fetchone()
            n_samples = reader.execute("SELECT count(*) FROM samples").fetchone()[0]
            n_events = reader.execute("SELECT count(*) FROM events").fetchone()[0]
            reader.execute("COMMIT")
            n = 0 if row is None else json.loads(row[0])["n"]
            snapshots.append((n, n_samples, n_events))
            # the Journal API reads concurrently too, without "database is locked"
            assert sum(1 for _ in journal.samples(run_id)) >= n_samples
            if finished:
                break
    _, stderr = writer.communicate(timeout=30)
    assert writer.returncode == 0, stderr
    for n, n_samples, n_events in snapshots:
        assert n <= n_samples <= n + 10 and n // 10 <= n_events <= n // 10 + 1
    assert [a[0] for a in snapshots] == sorted(a[0] for a in snapshots)
    assert snapshots[-1][0] == steps * 10
    assert len({s[0] for s in snapshots}) > 2, "the reader never overlapped the writer"
    assert journal.runs()[0].outcome == "completed"


def test_outbox_merges_streams_and_cursor_skips_what_was_read(journal: Journal) -> None:
    run_id = start(journal)
    for seq in range(5):
        journal.record_sample(run_id, seq, T0 + seq, "kiln1", {"pv_c": float(seq)})
    journal.record_event(run_id, T0 + 2.5, "segment", {"index": 2})
    first = journal.outbox(OutboxCursor(), limit=4)
    assert [(r.stream, r.t) for r in first] == [
        ("sample", T0),
        ("sample", T0 + 1),
        ("sample", T0 + 2),
        ("event", T0 + 2.5),
    ]
    cursor = OutboxCursor().after(first)
    journal.save_cursor("influx", cursor)
    assert journal.load_cursor("influx") == cursor
    assert journal.load_cursor("other") == OutboxCursor()
    rest = journal.outbox(cursor, limit=100)
    assert [(r.stream, r.seq) for r in rest] == [("sample", 3), ("sample", 4)]
    assert journal.outbox_backlog(cursor) == 2
    assert all(r.lot_id == "LOT-1" and r.job_name == "enamel-3-coat" for r in rest)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with raw(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(JournalError, match="upgrade kilnctl"):
        Journal(path)
    assert os.path.exists(path)
