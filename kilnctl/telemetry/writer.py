"""The long-lived telemetry writer: journal outbox -> InfluxDB, in bounded batches.

Delivery is at-least-once with idempotent points (see layout): the cursor advances only
after the sink accepted a batch, so an outage or a crash never loses a record; a record is
re-sent only if the process dies between a successful write and the cursor update.

What the server answers decides what happens next (classes in `sinks`):
- unavailable (network, 5xx, 429): keep the cursor, retry with capped exponential backoff;
- rejected (400/413/422: a bad point, beyond the retention policy, a field type conflict):
  the batch is halved until the refused records stand alone; those are set aside in the
  journal's quarantine with the server's reason and the cursor moves past them, so one bad
  record never blocks the records behind it (re-sending the accepted half is harmless:
  points are idempotent);
- a setting to fix (401/403, a database or bucket that cannot be created): stop, saying
  which setting.

A catch-up is a pipeline of depth 1: while the server takes batch N, the writer reads and
formats batch N+1 (the POST waits on the socket, leaving the interpreter free), so the
server, not the writer, bounds the rate. Batch N+1 is only formatted ahead: the cursor still
moves past each batch in order, once the server confirmed it, and an outage discards the
formatted batch (it is read again on the retry).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kilnctl.journal import Journal, OutboxCursor, OutboxRecord, OutboxRow
from kilnctl.telemetry.health import WriterHealth, record_label
from kilnctl.telemetry.layout import LineMaker
from kilnctl.telemetry.sinks import Sink, SinkConfigError, SinkError, SinkRejected

log = logging.getLogger(__name__)

DEFAULT_CONSUMER = "influx"

# InfluxDB 1.x: "partial write: points beyond retention policy dropped=4" (a 400 that says
# how many points of the batch it refused).
_DROPPED = re.compile(r"dropped=(\d+)")


class TelemetryWriter:
    """Copies the journal's samples and events to a sink from its own persisted cursor.

    `write_batch()` moves one batch (for callers that drive it); `run()` loops until
    stopped, polling for new records and backing off exponentially during an outage.
    Run it in a thread of its own (or `asyncio.to_thread`): the sink's I/O blocks.
    """

    def __init__(
        self,
        journal: Journal,
        sink: Sink,
        *,
        batch_size: int = 5000,
        consumer: str = DEFAULT_CONSUMER,
        poll_interval_s: float = 1.0,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 60.0,
        tags: Mapping[str, str] | None = None,
        run_id: str | None = None,
        health: WriterHealth | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.journal = journal
        self.sink = sink
        self.batch_size = batch_size
        self.consumer = consumer
        self.poll_interval_s = poll_interval_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.lines = LineMaker(tags or {})  # constant tags on every point: cell, site
        self.run_id = run_id  # only this run's records (a backfill), else every run
        self.delivered = 0  # records written by this instance
        self.failures = 0  # failed write attempts by this instance
        self.quarantined = 0  # records set aside by this instance (the server refused them)
        self.last_error = ""  # the last failure's one-line message, "" after a success
        self.stopped_by: SinkConfigError | None = None  # set when a setting must be fixed
        # state, transitions (logged, and journaled as events when given a record), version
        self.health = health or WriterHealth()
        self.health.bind(lambda: self.sink.description, self.backlog)

    def backlog(self) -> int:
        """Committed journal records not yet delivered."""
        return self.journal.outbox_backlog(self.journal.load_cursor(self.consumer), self.run_id)

    def write_batch(self) -> int:
        """Deliver (or quarantine) up to batch_size records; return how many the cursor
        moved past. Raises SinkError when the server is unavailable (the cursor keeps what
        was not delivered) or SinkConfigError when a setting must be fixed."""
        return self._pump(max_batches=1)

    def drain(self) -> int:
        """Deliver batches until the outbox is empty; return how many records."""
        total = 0
        while n := self._pump():
            total += n
        return total

    def _pump(self, stop: threading.Event | None = None, max_batches: int = 0) -> int:
        """Deliver batches from the persisted cursor until one is short (the outbox is
        drained), `stop` is set or `max_batches` (0: no limit) were delivered; return how
        many records the cursor moved past. While the server takes one full batch the next
        is read and formatted (module doc); errors as for `write_batch`."""
        batch = self._read(self.journal.load_cursor(self.consumer))
        if len(batch.rows) < self.batch_size or max_batches == 1:
            # Live polls land here: nothing behind this batch to overlap with its POST.
            if batch.rows:
                self._settle(batch, lambda: self.sink.write(batch.lines))
            return len(batch.rows)
        moved = batches = 0
        with ThreadPoolExecutor(1, thread_name_prefix="kilnctl-telemetry-post") as post:
            while batch.rows:
                in_flight = post.submit(self.sink.write, batch.lines)
                batches += 1
                more = len(batch.rows) == self.batch_size and batches != max_batches
                try:
                    ahead = self._read(batch.after) if more and not _is_set(stop) else None
                finally:
                    # Even if reading ahead failed: settle what the server was sent.
                    self._settle(batch, in_flight.result)
                moved += len(batch.rows)
                if ahead is None:
                    break
                batch = ahead
        return moved

    def _read(self, cursor: OutboxCursor) -> _Batch:
        rows = self.journal.outbox_rows(cursor, self.batch_size, self.run_id)
        lines = self.lines.row_lines(rows, self.journal.outbox_record)
        return _Batch(cursor, rows, lines, cursor.after_rows(rows))

    def _settle(self, batch: _Batch, written: Callable[[], object]) -> None:
        """Call `written` (it returns once the server took the batch's lines, or raises);
        then move the cursor past the batch, isolate and quarantine what the server
        refused, or raise SinkError (cursor kept) if the server is unavailable."""
        try:
            written()
        except SinkRejected as exc:
            records = [self.journal.outbox_record(row) for row in batch.rows]
            self._isolate(batch.cursor, records, exc)
            return
        self.journal.save_delivery(self.consumer, batch.after)
        self.delivered += len(batch.rows)

    def _deliver(self, cursor: OutboxCursor, records: list[OutboxRecord]) -> OutboxCursor:
        """Write `records` (the outbox's next records after `cursor`) and return the cursor
        past them; a refused batch is halved until its refused records are isolated."""
        try:
            self.sink.write([self.lines.line(record) for record in records])
        except SinkRejected as exc:
            return self._isolate(cursor, records, exc)
        after = cursor.after(records)
        self.journal.save_delivery(self.consumer, after)
        self.delivered += len(records)
        return after

    def _isolate(
        self, cursor: OutboxCursor, records: list[OutboxRecord], exc: SinkRejected
    ) -> OutboxCursor:
        """`records` were refused as a whole: deliver their halves apart until the refused
        records stand alone, quarantine those; return the cursor past all of them."""
        dropped = _DROPPED.search(str(exc))
        if len(records) > 1 and not (dropped and int(dropped[1]) >= len(records)):
            half = len(records) // 2
            return self._deliver(self._deliver(cursor, records[:half]), records[half:])
        after = cursor.after(records)
        self.journal.save_delivery(self.consumer, after, records, str(exc))
        self.quarantined += len(records)
        self.health.set_aside(records, str(exc))
        # one warning per stretch of refused batches is the health's (set_aside); per
        # batch only at debug: a week beyond a retention policy is thousands of batches
        log.debug(
            "telemetry: %s refused %d record(s) (%s ... %s); set aside in the journal's "
            "quarantine: %s",
            self.sink.description,
            len(records),
            record_label(records[0]),
            record_label(records[-1]),
            exc,
        )
        return after

    def run(
        self,
        stop: threading.Event,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        """Loop until `stop` is set. `wait(seconds) -> stopped?` defaults to `stop.wait`
        (tests inject their own so no real time passes)."""
        wait = wait or stop.wait
        delay = self.backoff_initial_s
        while not stop.is_set():
            try:
                n = self._pump(stop)
            except SinkConfigError as exc:
                self.stopped_by = exc
                self.last_error = str(exc)
                self.health.stopped(exc)  # logs it, once
                return
            except (SinkError, sqlite3.OperationalError) as exc:
                self.failures += 1
                self.last_error = str(exc)
                self.health.failed(exc)  # logs the outage once, not each attempt
                if wait(delay):
                    break
                delay = min(delay * 2, self.backoff_max_s)
                continue
            self.health.contact(n, drained=n < self.batch_size)
            self.last_error = ""
            delay = self.backoff_initial_s
            if n < self.batch_size and wait(self.poll_interval_s):
                break


@dataclass(frozen=True)
class _Batch:
    """Rows read after `cursor`, their lines, and the cursor past them."""

    cursor: OutboxCursor
    rows: list[OutboxRow]
    lines: list[str]
    after: OutboxCursor


def _is_set(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


class BackgroundWriter:
    """Runs a TelemetryWriter in a thread of its own, for a service that hosts it in-process.

    The writer's blocking HTTP never touches the caller's event loop; `stop()` ends the loop
    at its next wait (or after the write in flight) and joins the thread. `speed`: the
    service's clock runs that many times faster than real time (a simulated plant), and so
    do the writer's polls and backoff, so that its lag in service seconds stays what it
    would be on a real plant.
    """

    def __init__(self, writer: TelemetryWriter, *, speed: float = 1.0) -> None:
        self.writer = writer
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=writer.run,
            args=(self._stop, lambda seconds: self._stop.wait(seconds / speed)),
            name="kilnctl-telemetry",
            daemon=True,
        )

    def start(self) -> None:
        """Start the loop."""
        self._thread.start()

    @property
    def running(self) -> bool:
        """True while the loop runs."""
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 15.0) -> None:
        """Ask the loop to end and wait up to timeout_s for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self.writer.health.close()
