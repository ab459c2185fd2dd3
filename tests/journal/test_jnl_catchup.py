"""Telemetry catch-up: lines made straight from the journal's rows, and batch N+1 read and
formatted while the real influxd 1.6.7 takes batch N, with the cursor still moving past each
batch only once the server confirmed it, in order."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jnl_servers import Influxd

from kilnctl.journal import Journal, OutboxCursor, OutboxRecord
from kilnctl.telemetry import SinkError, TelemetryWriter, make_sink
from kilnctl.telemetry.layout import LineMaker

T0 = 1_790_000_000.0
# Bounds a wait for the writer's other thread; reached only when the pipeline is missing.
OVERLAP_DEADLINE_S = 5.0


class CountingJournal(Journal):
    """A journal that counts the writer's outbox reads (either API) and can signal one."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.reads = 0
        self.second_read = threading.Event()

    def _count(self) -> None:
        self.reads += 1
        if self.reads == 2:
            self.second_read.set()

    def outbox(self, *args: Any, **kwargs: Any) -> list[OutboxRecord]:
        self._count()
        return super().outbox(*args, **kwargs)

    def outbox_rows(self, *args: Any, **kwargs: Any) -> Any:
        self._count()
        return super().outbox_rows(*args, **kwargs)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[CountingJournal]:
    with CountingJournal(tmp_path / "j.sqlite") as j:
        yield j


def record_run(journal: Journal, n: int, lot: str = "LOT-A") -> str:
    """n kiln samples, one a second, and a setpoint event every 25th."""
    run_id = journal.start_run(
        job_name="enamel-fire", lot_id=lot, recipe_hashes={}, started_at=T0, meta={}
    )
    for seq in range(n):
        journal.record_sample(run_id, seq, T0 + seq, "kiln1", {"pv_c": 20.0 + seq, "sp_c": 790.0})
        if seq % 25 == 0:
            journal.record_event(run_id, T0 + seq, "setpoint", {"sp_c": 790.0})
    journal.checkpoint(run_id, T0 + n, {})
    return run_id


def kiln_seqs(server: Influxd) -> list[int]:
    series = server.query("kiln", "SELECT seq FROM kiln")
    return sorted(int(row[1]) for s in series for row in s["values"])


def point(line: str) -> tuple[str, dict[str, float], str]:
    """(series, fields, timestamp) of a sample's line, every value a number, so `48` is
    `48.0` and `7i` is 7 (InfluxDB line protocol reference: a number without a suffix is
    a float)."""
    series, fields, timestamp = re.split(r"(?<!\\) ", line)
    pairs = (re.split(r"(?<!\\)=", field) for field in re.split(r"(?<!\\),", fields))
    return series, {key: float(value.rstrip("i")) for key, value in pairs}, timestamp


def test_lines_from_rows_are_the_points_of_the_records(journal: CountingJournal) -> None:
    """Every kind of sample value and name makes the same point by either path (the fast
    path for finite numbers under plain names, the record path for the rest)."""
    run_id = journal.start_run(
        job_name="job {0} 100%", lot_id="LOT,1=a b", recipe_hashes={}, started_at=T0, meta={}
    )
    values: list[dict[str, Any]] = [
        {"pv_c": 790.25, "sp_c": 790.0, "out_pct": 48.0},
        {"out_pct": 48, "pv_c": 1e21, "sp_c": -0.0, "amps": 1e-7},  # ints, exponents
        {"amps": 36.5},  # one value
        {"volts": 4.0, "amps": math.nan, "bath_c": math.inf},  # no line-protocol form
        {"pv_c": 790.0, "ok": True, "note": "a b"},  # a bool, a string
        {"pv_c": None, "x%s{}": 1.5, "a=b,c d": 2.5, "ü": 3.0},  # null; names to escape
        {},
        {"pv_c": 790.0, "sp_c": 790.0, "out_pct": 48.0},
    ]
    for seq, vals in enumerate(values):
        journal.record_sample(run_id, seq, T0 + seq / 3, "kiln {1}%d", vals)
        journal.record_event(run_id, T0 + seq / 3, "note", {"text": 'say "hi"', "n": seq})
    rows = journal.outbox_rows(OutboxCursor(), 100)
    expected = [LineMaker({"cell": "c%1"}).line(journal.outbox_record(row)) for row in rows]
    lines = LineMaker({"cell": "c%1"}).row_lines(rows, journal.outbox_record)
    assert len(lines) == len(expected) == 2 * len(values)
    assert [point(line) for line in lines[::2]] == [point(line) for line in expected[::2]]
    assert lines[0].startswith("kiln,cell=c%1,device=kiln\\ {1}%d,job=job\\ {0}\\ 100%,")
    assert " out_pct=48,pv_c=1e+21,sp_c=-0.0,amps=1e-07,seq=1i " in lines[2]  # the fast path
    assert lines[1::2] == expected[1::2]  # events: the same text


def test_next_batch_is_formatted_while_the_server_takes_this_one(
    influxd: Influxd, journal: CountingJournal
) -> None:
    """Issue 9 benchmark: catch-up reached 0.13-0.22 of a raw POST because reading and
    formatting a batch and its POST took turns. Batch 1's write here waits for the writer
    to read batch 2; writing them in turn, that read never comes before the deadline."""
    record_run(journal, 150)
    sink = make_sink(influxd.url, api="v1", database="kiln", timeout_s=5)
    overlapped: list[bool] = []
    real_write = sink.write

    def write(lines: list[str]) -> None:
        if not overlapped:
            overlapped.append(journal.second_read.wait(OVERLAP_DEADLINE_S))
        real_write(lines)

    sink.write = write  # type: ignore[method-assign]
    writer = TelemetryWriter(journal, sink, batch_size=50)
    assert writer.drain() == 156
    assert overlapped == [True]
    assert kiln_seqs(influxd) == list(range(150))
    assert writer.backlog() == 0 and writer.delivered == 156


def test_an_outage_while_reading_ahead_keeps_the_cursor_at_the_confirmed_batch(
    influxd: Influxd, journal: CountingJournal
) -> None:
    """The server goes down after batch 1 while batch 2 is formatted: the cursor stays
    past batch 1 only; once the server is back everything arrives exactly once."""
    record_run(journal, 150)
    sink = make_sink(influxd.url, api="v1", database="kiln", timeout_s=5)
    real_write = sink.write
    writes: list[int] = []

    def write(lines: list[str]) -> None:
        writes.append(len(lines))
        if len(writes) == 2:
            influxd.stop()  # batch 2 and the batch read ahead behind it never land
        real_write(lines)

    sink.write = write  # type: ignore[method-assign]
    writer = TelemetryWriter(journal, sink, batch_size=50)
    with pytest.raises(SinkError):
        writer.drain()
    assert journal.load_cursor(writer.consumer) == OutboxCursor(sample_id=48, event_id=2)
    assert writer.backlog() == 156 - 50
    influxd.start()
    assert writer.drain() == 156 - 50
    assert kiln_seqs(influxd) == list(range(150))
    assert writer.backlog() == 0
