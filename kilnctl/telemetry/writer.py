"""The long-lived telemetry writer: journal outbox -> InfluxDB, in bounded batches.

Delivery is at-least-once with idempotent points (see layout): the cursor advances only
after the sink accepted a batch, so an outage or a crash never loses a record; a record is
re-sent only if the process dies between a successful write and the cursor update.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

from kilnctl.journal import Journal
from kilnctl.telemetry.layout import to_point
from kilnctl.telemetry.sinks import Sink, SinkError

log = logging.getLogger(__name__)

DEFAULT_CONSUMER = "influx"


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
        self.delivered = 0  # records written by this instance
        self.failures = 0  # failed write attempts by this instance

    def backlog(self) -> int:
        """Committed journal records not yet delivered."""
        return self.journal.outbox_backlog(self.journal.load_cursor(self.consumer))

    def write_batch(self) -> int:
        """Deliver up to batch_size records; return how many. Raises SinkError (cursor kept)."""
        cursor = self.journal.load_cursor(self.consumer)
        records = self.journal.outbox(cursor, self.batch_size)
        if not records:
            return 0
        self.sink.write([to_point(record) for record in records])
        self.journal.save_cursor(self.consumer, cursor.after(records))
        self.delivered += len(records)
        return len(records)

    def drain(self) -> int:
        """Deliver batches until the outbox is empty; return how many records."""
        total = 0
        while n := self.write_batch():
            total += n
        return total

    def run(
        self,
        stop: threading.Event,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        """Loop until `stop` is set. `wait(seconds) -> stopped?` defaults to `stop.wait`
        (tests inject their own so no real time passes)."""
        wait = wait or stop.wait
        delay = self.backoff_initial_s
        failing_since_attempt: int | None = None
        while not stop.is_set():
            try:
                n = self.write_batch()
            except (SinkError, sqlite3.OperationalError) as exc:
                self.failures += 1
                if failing_since_attempt is None:
                    failing_since_attempt = self.failures
                    # One line per outage, not per attempt and never a traceback.
                    log.warning(
                        "telemetry: cannot write to %s: %s; retrying with backoff "
                        "(%d records waiting)",
                        self.sink.description,
                        exc,
                        self.backlog(),
                    )
                if wait(delay):
                    break
                delay = min(delay * 2, self.backoff_max_s)
                continue
            if failing_since_attempt is not None:
                log.warning(
                    "telemetry: %s is back after %d failed attempts; catching up %d records",
                    self.sink.description,
                    self.failures - failing_since_attempt + 1,
                    self.backlog() + n,
                )
                failing_since_attempt = None
            delay = self.backoff_initial_s
            if n < self.batch_size and wait(self.poll_interval_s):
                break


class BackgroundWriter:
    """Runs a TelemetryWriter in a thread of its own, for a service that hosts it in-process.

    The writer's blocking HTTP never touches the caller's event loop; `stop()` ends the loop
    at its next wait (or after the write in flight) and joins the thread.
    """

    def __init__(self, writer: TelemetryWriter) -> None:
        self.writer = writer
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=writer.run, args=(self._stop,), name="kilnctl-telemetry", daemon=True
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
