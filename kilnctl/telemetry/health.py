"""A telemetry writer's health: its state since when, last error, counts, server version;
its transitions journaled as events.

States (`WriterHealth.state`):
- "starting": no answer from the server yet;
- "delivering": the last write (or, with nothing to write, the last probe) succeeded;
- "retrying": the server or network is unavailable; the writer retries with backoff;
- "stopped": a setting must be fixed (bad token, a database it may not create); the writer
  has ended and the service must be restarted once the setting is fixed.

Events, one per transition and never one per retry (an outage of an hour is two events),
in the journal record `TELEMETRY_JOB` (a service-level record like the plant watch's,
opened at the first event and finished when the writer stops):
- telemetry_started: first answer from the server, with its version;
- telemetry_outage: the first failed write of an outage, with the error and the backlog;
- telemetry_recovered: the backlog caught up after an outage: how long the server was
  unavailable, how many records were caught up and in how long;
- telemetry_quarantined: records the server refused (set aside), with its reason; one
  event per stretch of batches that had refusals, not per refused record;
- telemetry_stopped: a setting to fix (which one, and the server's answer).
These events are journal records like any other, so they reach InfluxDB themselves. That
cannot loop: delivering an event is no transition, and a refusal of the writer's own events
is logged but not journaled again.

Times are the service's clock (`wall_time`, a scaled clock on a simulated plant), as every
record in the journal.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kilnctl.journal import Journal, JournalError, OutboxRecord
from kilnctl.telemetry.sinks import SinkError

if TYPE_CHECKING:
    from kilnctl.telemetry.writer import TelemetryWriter

log = logging.getLogger(__name__)

STARTING, DELIVERING, RETRYING, STOPPED = "starting", "delivering", "retrying", "stopped"

TELEMETRY_JOB = "telemetry writer"
"""Job name of the journal record holding the writer's events (not a run to resume)."""

_SETTING = re.compile(r"\[influx\] [\w/]+")
"""The setting a SinkConfigError's message names ("check [influx] token")."""

_MAX_REASONS = 3
"""Distinct server reasons kept in one telemetry_quarantined event."""


class HealthRecord:
    """The journal record of the writer's events, opened at the first event."""

    def __init__(self, journal: Journal, meta: dict[str, Any] | None = None) -> None:
        self.journal = journal
        self.meta = meta or {}
        self.run_id: str | None = None

    def event(self, t: float, kind: str, data: dict[str, Any]) -> None:
        """Journal one event (committed at once). A journal that cannot take it is logged,
        never raised: telemetry's bookkeeping must not stop the writer."""
        try:
            if self.run_id is None:
                self.run_id = self.journal.start_run(
                    job_name=TELEMETRY_JOB,
                    lot_id="",
                    recipe_hashes={},
                    started_at=t,
                    meta=self.meta,
                )
            self.journal.record_event(self.run_id, t, kind, data)
        except (sqlite3.Error, JournalError) as exc:
            log.error("telemetry: cannot journal %s %s: %s", kind, data, exc)

    def close(self, t: float) -> None:
        """Finish the record ("stopped"), if one was opened."""
        if self.run_id is None:
            return
        try:
            self.journal.finish_run(self.run_id, t, "stopped")
        except (sqlite3.Error, JournalError) as exc:
            log.error("telemetry: cannot finish the journal record %s: %s", self.run_id, exc)


class WriterHealth:
    """Follows one TelemetryWriter's transitions (its hooks run in the writer's thread;
    `snapshot` in any other).

    `wall_time()` gives event and state times (Unix s, the service's clock); `probe()`
    returns the server's version or raises SinkError (sinks.server_version); `record`
    journals the events (None: logged only, as for `kilnctl telemetry`).
    """

    def __init__(
        self,
        *,
        wall_time: Callable[[], float] = time.time,
        probe: Callable[[], str] | None = None,
        record: HealthRecord | None = None,
    ) -> None:
        self.wall_time = wall_time
        self._probe = probe
        self.record = record
        self._lock = threading.Lock()
        self.state = STARTING
        self.since = wall_time()
        """When the current state began (Unix s)."""
        self.last_error = ""
        self.last_error_at: float | None = None
        self.version = ""
        """The server's version ("" until known, or when it names none)."""
        self.server = ""
        """Where the writer writes (the sink's description)."""
        self._describe: Callable[[], str] = lambda: ""
        self._backlog: Callable[[], int] = lambda: 0
        self._outage_at: float | None = None  # first failure of the outage not yet caught up
        self._back_at: float | None = None  # first success after it
        self._caught_up = 0  # records moved past since then
        self._aside = 0  # records set aside since the last telemetry_quarantined event
        self._aside_reasons: list[str] = []
        self._aside_first = self._aside_last = ""  # the first and last of them
        self._aside_in_batch = False

    def bind(self, describe: Callable[[], str], backlog: Callable[[], int]) -> None:
        """The writer's sink description and backlog (records waiting), for events and logs."""
        self._describe = describe
        self._backlog = backlog
        self.server = describe()

    # ------------------------------------------------------------------ hooks (writer thread)

    def contact(self, moved: int, drained: bool) -> None:
        """A write_batch that raised nothing moved the cursor past `moved` records;
        `drained`: the outbox is empty now. With nothing to write, a writer that is not
        delivering asks the server itself (its version), so an idle plant learns of the
        server's return too."""
        if self.state != DELIVERING:
            if self._probe is not None:
                try:
                    self.version = self._probe()
                except SinkError as exc:
                    if moved == 0:  # nothing written, and the server does not answer
                        self.failed(exc)
                        return
                    # it took the write: only the probe failed, the version stays unknown
            elif moved == 0:
                return  # nothing written and nothing asked: no news of the server
        now = self.wall_time()
        self.server = self._describe()
        if self.state == STARTING:
            self._enter(DELIVERING, now)
            version = self.version or "version unknown"
            log.info("telemetry: writing to %s (%s)", self.server, version)
            self._event(now, "telemetry_started", server=self.server, version=self.version)
        elif self.state == RETRYING:
            self._enter(DELIVERING, now)
            self._back_at = now
            log.warning(
                "telemetry: %s is back; catching up %d records",
                self.server,
                self._backlog() + moved,
            )
        if self._outage_at is not None:
            self._caught_up += moved
            if drained:
                self._recovered(now)
        if self._aside and (drained or not self._aside_in_batch):
            self._flush_set_aside(now)
        self._aside_in_batch = False

    def failed(self, exc: BaseException) -> None:
        """A write (or probe) failed: the server or network is unavailable."""
        now = self.wall_time()
        with self._lock:
            self.last_error, self.last_error_at = str(exc), now
        if self.state == RETRYING:
            return  # the same outage: no event, no log line
        self._enter(RETRYING, now)
        if self._outage_at is not None:
            return  # it failed again before catching up: still the same outage
        self._outage_at = now
        self.server = self._describe()
        backlog = self._backlog()
        # One line and one event per outage, never one per attempt, and never a traceback.
        log.warning(
            "telemetry: cannot write to %s: %s; retrying with backoff (%d records waiting)",
            self.server,
            exc,
            backlog,
        )
        self._event(now, "telemetry_outage", server=self.server, error=str(exc), backlog=backlog)

    def stopped(self, exc: BaseException) -> None:
        """The writer stops: a setting must be fixed."""
        now = self.wall_time()
        with self._lock:
            self.last_error, self.last_error_at = str(exc), now
        self._enter(STOPPED, now)
        self.server = self._describe()
        log.error("telemetry: stopped writing to %s: %s", self.server, exc)
        self._event(now, "telemetry_stopped", server=self.server, error=str(exc),
                    setting=self.setting, backlog=self._backlog())  # fmt: skip

    def set_aside(self, records: Sequence[OutboxRecord], reason: str) -> None:
        """The server refused `records` for good (quarantined with `reason`)."""
        own = self.record.run_id if self.record is not None else None
        theirs = [r for r in records if r.run_id != own]
        if not theirs:  # only the writer's own events: journaling that again could loop
            log.warning(
                "telemetry: %s refused %d of the writer's own event(s), set aside: %s",
                self.server, len(records), reason,
            )  # fmt: skip
            return
        self._aside += len(theirs)
        self._aside_in_batch = True
        if reason not in self._aside_reasons and len(self._aside_reasons) < _MAX_REASONS:
            self._aside_reasons.append(reason)
        self._aside_first = self._aside_first or record_label(theirs[0])
        self._aside_last = record_label(theirs[-1])

    def close(self) -> None:
        """The writer has ended: journal what is pending and finish the record."""
        now = self.wall_time()
        if self._aside:
            self._flush_set_aside(now)
        if self.record is not None:
            self.record.close(now)

    # ------------------------------------------------------------------ reading

    @property
    def setting(self) -> str:
        """The setting a stop names ("[influx] token"), "" when not stopped or none."""
        found = _SETTING.search(self.last_error) if self.state == STOPPED else None
        return found[0] if found else ""

    def snapshot(self) -> dict[str, Any]:
        """State, since, server, version, last error and when, setting (see the module)."""
        with self._lock:
            return {
                "state": self.state,
                "since": self.since,
                "server": self.server,
                "version": self.version,
                "last_error": self.last_error,
                "last_error_at": self.last_error_at,
                "setting": self.setting,
            }

    # ------------------------------------------------------------------ internals

    def _enter(self, state: str, now: float) -> None:
        with self._lock:
            self.state, self.since = state, now

    def _recovered(self, now: float) -> None:
        assert self._outage_at is not None
        back_at = self._back_at if self._back_at is not None else now
        down_s, catch_up_s = back_at - self._outage_at, now - back_at
        log.warning(
            "telemetry: %s recovered: unavailable %.0f s, %d records caught up in %.0f s",
            self.server,
            down_s,
            self._caught_up,
            catch_up_s,
        )
        self._event(now, "telemetry_recovered", server=self.server, version=self.version,
                    down_s=down_s, caught_up=self._caught_up, catch_up_s=catch_up_s)  # fmt: skip
        self._outage_at = self._back_at = None
        self._caught_up = 0

    def _flush_set_aside(self, now: float) -> None:
        log.warning(
            "telemetry: %s refused %d record(s) (%s ... %s); set aside in the journal's "
            "quarantine: %s",
            self.server, self._aside, self._aside_first, self._aside_last,
            "; ".join(self._aside_reasons),
        )  # fmt: skip
        self._event(now, "telemetry_quarantined", server=self.server, records=self._aside,
                    reason="; ".join(self._aside_reasons), first=self._aside_first,
                    last=self._aside_last)  # fmt: skip
        self._aside = 0
        self._aside_reasons, self._aside_first, self._aside_last = [], "", ""

    def _event(self, t: float, kind: str, **data: Any) -> None:
        if self.record is not None:
            self.record.event(t, kind, data)


def record_label(record: OutboxRecord) -> str:
    """ "run RUN sample|event NAME #SEQ": one outbox record, for logs and events."""
    return f"run {record.run_id} {record.stream} {record.name} #{record.seq}"


def writer_status(writer: TelemetryWriter) -> dict[str, Any]:
    """The health a status reply shows (JSON-able): the writer's state (see the module),
    backlog (records not yet delivered), lag_s (age of the oldest of them on the writer's
    clock, 0 when none), delivered and quarantined (records, since this writer started),
    retries (failed attempts)."""
    health = writer.health
    cursor = writer.journal.load_cursor(writer.consumer)
    backlog = writer.journal.outbox_backlog(cursor, writer.run_id)
    oldest = writer.journal.outbox_oldest(cursor, writer.run_id)
    now = health.wall_time()
    return {
        **health.snapshot(),
        "backlog": backlog,
        "lag_s": max(0.0, now - oldest) if oldest is not None else 0.0,
        "delivered": writer.delivered,
        "quarantined": writer.quarantined,
        "retries": writer.failures,
    }
