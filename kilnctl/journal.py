"""The run journal: a local SQLite file (WAL) that is both the batch record and the outbox.

Every sample and event of every run lands here first, and each is committed as it is
written: a process killed at any instant (SIGKILL, power cut of the PC) loses nothing it
had recorded. The run's resumable state is committed by `checkpoint()` (the engine writes
one every control period). The telemetry writer reads the same file from its own persisted
cursor (table `cursors`), so an InfluxDB outage or a crash loses nothing.

Schema (PRAGMA user_version = 1):
    runs(run_id PK, job_name, lot_id, started_at, finished_at, outcome, meta, recipe_hashes)
    samples(id PK AUTOINCREMENT, run_id, seq, t, source, vals)  UNIQUE(run_id, source, seq)
    events(id PK AUTOINCREMENT, run_id, t, kind, data)
    checkpoints(run_id PK, t, state)        the latest checkpoint of each run
    cursors(consumer, stream, last_id)      how far each outbox reader has got
JSON columns hold dicts; times are Unix seconds (clock.wall_time()).
"""

from __future__ import annotations

import heapq
import itertools
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal

SCHEMA_VERSION = 2  # 2: the telemetry quarantine table

OUTCOMES = ("completed", "aborted", "failed", "stopped")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    job_name TEXT NOT NULL,
    lot_id TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    outcome TEXT,
    meta TEXT NOT NULL,
    recipe_hashes TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    seq INTEGER NOT NULL,
    t REAL NOT NULL,
    source TEXT NOT NULL,
    vals TEXT NOT NULL,
    UNIQUE (run_id, source, seq)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_run ON events (run_id, id);
CREATE TABLE IF NOT EXISTS checkpoints (
    run_id TEXT PRIMARY KEY REFERENCES runs(run_id),
    t REAL NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (
    consumer TEXT NOT NULL,
    stream TEXT NOT NULL,
    last_id INTEGER NOT NULL,
    PRIMARY KEY (consumer, stream)
);
CREATE TABLE IF NOT EXISTS quarantine (
    consumer TEXT NOT NULL,
    stream TEXT NOT NULL,
    row_id INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (consumer, stream, row_id)
);
"""

# Rows fetched per query when iterating, so a long run never sits in memory at once and no
# lock is held across a caller's loop.
_PAGE = 2000


class JournalError(Exception):
    """A journal operation the caller got wrong (unknown run, bad outcome, closed journal)."""


@dataclass(frozen=True)
class RunInfo:
    """One run as recorded; `outcome` and `finished_at` are None while it is unfinished."""

    run_id: str
    job_name: str
    lot_id: str
    started_at: float
    meta: dict[str, Any]
    recipe_hashes: dict[str, str]
    outcome: str | None = None
    finished_at: float | None = None


@dataclass(frozen=True)
class Sample:
    """One reading of one source (kiln, tank, device) at time t."""

    seq: int
    t: float
    source: str
    values: dict[str, float]


@dataclass(frozen=True)
class Event:
    """One event of a run (kinds listed in the journal contract)."""

    t: float
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True)
class OutboxRecord:
    """A sample or event with its run's identity, as the telemetry writer needs it."""

    stream: Literal["sample", "event"]
    row_id: int
    run_id: str
    job_name: str
    lot_id: str
    t: float
    name: str  # sample source, or event kind
    seq: int  # sample seq; for events, the row id (unique per journal)
    payload: dict[str, Any]  # sample values, or event data


# One outbox row as SQLite returns it, before any decoding: (stream "sample"/"event", row id,
# run_id, t in Unix s, sample source or event kind, sample seq or event row id, the payload's
# JSON text). Plain tuples without the run's job and lot (`Journal.outbox_record` adds them):
# a catch-up reads hundreds of thousands of rows, and a record object per row (its JSON
# decoded, its run joined) costs more than the row itself.
OutboxRow = tuple[Literal["sample", "event"], int, str, float, str, int, str]


@dataclass(frozen=True)
class OutboxCursor:
    """Last row id delivered, per stream; 0 = nothing yet."""

    sample_id: int = 0
    event_id: int = 0

    def after(self, records: list[OutboxRecord]) -> OutboxCursor:
        """The cursor once `records` (a prefix of the outbox from here) are delivered."""
        return self._after_last([(r.stream, r.row_id) for r in reversed(records)])

    def after_rows(self, rows: list[OutboxRow]) -> OutboxCursor:
        """The cursor once `rows` (a prefix of `Journal.outbox_rows` from here) are delivered."""
        return self._after_last(rows[::-1])

    def _after_last(self, backwards: Sequence[tuple[Any, ...]]) -> OutboxCursor:
        """The cursor past the last (stream, row id, ...) of each stream, from items given
        last first: each stream's items are in id order, so its last has its highest id."""
        return OutboxCursor(
            next((item[1] for item in backwards if item[0] == "sample"), self.sample_id),
            next((item[1] for item in backwards if item[0] == "event"), self.event_id),
        )


# default=str: an odd value type (enum, Path) must never crash a firing mid-run. One encoder
# for the module: json.dumps with options builds a new one per call, a cost on every sample.
_dumps = json.JSONEncoder(separators=(",", ":"), default=str).encode


def _run_id_candidates(started_at: float, meta: dict[str, Any] | None = None) -> Iterator[str]:
    """Sortable, readable run ids: UTC start time plus a random suffix (which keeps ids from
    two journals, e.g. two cells writing to one InfluxDB, apart), then the same with -2,
    -3, ... The random part alone is not enough within one journal: 100 runs started in
    one second share the stamp, and 24 random bits collide among them now and then (the
    birthday bound), so start_run takes the first candidate the journal does not hold."""
    # A run on simulated time (meta "simulated", see engine.run_origin) is stamped with the
    # real time it started and marked "sim": its id never claims a time that did not happen.
    simulated = (meta or {}).get("simulated")
    real = simulated.get("real_started_at") if isinstance(simulated, dict) else None
    when = float(real) if isinstance(real, int | float) else started_at
    sim = "sim-" if simulated else ""
    stem = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime(when))}-{sim}{secrets.token_hex(3)}"
    yield stem
    for n in itertools.count(2):
        yield f"{stem}-{n}"


class Journal:
    """SQLite journal in WAL mode; the truth and the telemetry outbox.

    One instance per process (or per thread that wants its own connection); several
    processes may open the same file, e.g. a writer and `kilnctl report`. Every record is
    committed when its `record_*` call returns (one small transaction each: in WAL mode
    with synchronous=NORMAL a commit appends to the WAL without an fsync, so it costs tens
    of microseconds; bench_journal_write measures it).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._known_runs: set[str] = set()
        self._job_lot: dict[str, tuple[str, str]] = {}  # run_id -> (job_name, lot_id)
        # isolation_level=None: autocommit, so a lone INSERT is its own transaction; where
        # several statements must commit together we issue BEGIN/COMMIT ourselves.
        # check_same_thread=False: the lock serialises access.
        try:
            self._db: sqlite3.Connection | None = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            # e.g. the default journal's folder not made yet (a first `resume` on a fresh
            # account), or no permission: one line naming the file, not a traceback
            folder = self.path.parent
            hint = "" if folder.is_dir() else f" (no folder {folder})"
            raise JournalError(f"cannot open the journal {self.path}: {exc}{hint}") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable against a process crash in WAL mode; only an OS crash or
            # power cut of the PC can lose the last commits (SQLite stays consistent: the
            # journal then ends a little earlier, and resume continues from what it holds).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (JournalError, sqlite3.Error) as exc:
            self._db.close()
            self._db = None
            if isinstance(exc, sqlite3.DatabaseError):
                # e.g. --journal pointing at a file that is not SQLite at all
                raise JournalError(f"{self.path} is not a kilnctl journal ({exc})") from None
            raise

    # -- plumbing ----------------------------------------------------------------------

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise JournalError(f"journal {self.path} is closed")
        return self._db

    def _migrate(self) -> None:
        db = self._conn
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"journal {self.path} has schema {version}, newer than this kilnctl "
                f"({SCHEMA_VERSION}); upgrade kilnctl"
            )
        if version < SCHEMA_VERSION:
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)

    def _require_run(self, run_id: str) -> None:
        """Raise JournalError for an unknown run (a clear error, not a foreign-key one)."""
        if run_id in self._known_runs:
            return
        row = self._conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise JournalError(f"unknown run {run_id!r} in journal {self.path}")
        self._known_runs.add(run_id)

    def _unused_run_id(self, started_at: float, meta: dict[str, Any] | None = None) -> str:
        """The first candidate run id the journal does not hold; the caller holds the write
        transaction, so no other writer can take it before the INSERT."""
        for candidate in _run_id_candidates(started_at, meta):
            taken = self._conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (candidate,))
            if taken.fetchone() is None:
                return candidate
        raise AssertionError("unreachable: the candidates never run out")

    # -- the contract ------------------------------------------------------------------

    def start_run(
        self,
        *,
        job_name: str,
        lot_id: str,
        recipe_hashes: dict[str, str],
        started_at: float,
        meta: dict[str, Any],
    ) -> str:
        """Create a run and return its id (committed at once), unique in this journal by
        construction: the id is chosen inside the write transaction, which excludes every
        other writer of the file (other threads and other processes alike)."""
        with self._lock:
            with self._transaction():
                run_id = self._unused_run_id(started_at, meta)
                self._conn.execute(
                    "INSERT INTO runs (run_id, job_name, lot_id, started_at, meta, "
                    "recipe_hashes) VALUES (?, ?, ?, ?, ?, ?)",
                    (run_id, job_name, lot_id, started_at, _dumps(meta), _dumps(recipe_hashes)),
                )
            self._known_runs.add(run_id)
            return run_id

    def record_sample(
        self, run_id: str, seq: int, t: float, source: str, values: dict[str, float]
    ) -> None:
        """Commit a sample. A (run_id, source, seq) already journaled is kept as it was
        and this one ignored: the batch record is never rewritten (the engine numbers
        resumed samples after the journal's last, see `last_seqs`)."""
        with self._lock:
            self._require_run(run_id)
            self._conn.execute(
                "INSERT OR IGNORE INTO samples (run_id, seq, t, source, vals) "
                "VALUES (?, ?, ?, ?, ?)",
                (run_id, seq, t, source, _dumps(values)),
            )

    def record_event(self, run_id: str, t: float, kind: str, data: dict[str, Any]) -> None:
        """Commit an event."""
        with self._lock:
            self._require_run(run_id)
            self._conn.execute(
                "INSERT INTO events (run_id, t, kind, data) VALUES (?, ?, ?, ?)",
                (run_id, t, kind, _dumps(data)),
            )

    def checkpoint(self, run_id: str, t: float, state: dict[str, Any]) -> None:
        """Commit the run's resumable state (replacing its previous checkpoint)."""
        with self._lock:
            self._require_run(run_id)
            self._conn.execute(
                "INSERT INTO checkpoints (run_id, t, state) VALUES (?, ?, ?) "
                "ON CONFLICT (run_id) DO UPDATE SET t = excluded.t, state = excluded.state",
                (run_id, t, _dumps(state)),
            )

    def last_checkpoint(self, run_id: str) -> tuple[float, dict[str, Any]] | None:
        """(t, state) of the run's latest checkpoint, or None if it never checkpointed."""
        with self._lock:
            row = self._conn.execute(
                "SELECT t, state FROM checkpoints WHERE run_id = ?", (run_id,)
            ).fetchone()
        return None if row is None else (float(row[0]), json.loads(row[1]))

    def last_seqs(self, run_id: str) -> dict[str, int]:
        """The highest sample seq journaled per source of the run ({} if none): where a
        resumed run's numbering goes on."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT source, max(seq) FROM samples WHERE run_id = ? GROUP BY source",
                (run_id,),
            ).fetchall()
        return {str(source): int(seq) for source, seq in rows}

    def finish_run(self, run_id: str, t: float, outcome: str) -> None:
        """Mark a run finished with one of OUTCOMES."""
        if outcome not in OUTCOMES:
            raise JournalError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        with self._lock:
            self._require_run(run_id)
            self._conn.execute(
                "UPDATE runs SET finished_at = ?, outcome = ? WHERE run_id = ?",
                (t, outcome, run_id),
            )

    def unfinished_runs(self) -> list[RunInfo]:
        """Runs with no outcome yet (candidates for resume), oldest first."""
        return [r for r in self.runs() if r.outcome is None]

    def runs(self) -> list[RunInfo]:
        """Every run in journal order (the order they were recorded: the last is the latest
        started), with outcome and finished_at when finished. Not by `started_at`: that is
        the run's clock, simulated time on a sped-up simulator, so an earlier simulated
        run can carry a later start than a real run recorded after it."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT run_id, job_name, lot_id, started_at, meta, recipe_hashes, outcome, "
                "finished_at FROM runs ORDER BY rowid"
            ).fetchall()
        return [
            RunInfo(
                run_id=r[0],
                job_name=r[1],
                lot_id=r[2],
                started_at=float(r[3]),
                meta=json.loads(r[4]),
                recipe_hashes=json.loads(r[5]),
                outcome=r[6],
                finished_at=None if r[7] is None else float(r[7]),
            )
            for r in rows
        ]

    def finish_reasons(self) -> dict[str, str]:
        """run_id -> the reason its run_finished event gives ("" for none), every run."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT run_id, data FROM events WHERE kind = 'run_finished' ORDER BY id"
            ).fetchall()
        return {r[0]: str(json.loads(r[1]).get("reason") or "") for r in rows}

    def run(self, run_id: str) -> RunInfo:
        """One run by id; JournalError if there is none."""
        for info in self.runs():
            if info.run_id == run_id:
                return info
        raise JournalError(f"unknown run {run_id!r} in journal {self.path}")

    def samples(self, run_id: str, source: str | None = None) -> Iterator[Sample]:
        """The run's samples in journal order, of every source or of one in seq order."""
        args: tuple[str, ...]
        if source is None:
            query = (
                "SELECT id, seq, t, source, vals FROM samples WHERE run_id = ? AND id > ? "
                "ORDER BY id LIMIT ?"
            )
            key, args = 0, (run_id,)
        else:  # walks the (run_id, source, seq) unique index in order
            query = (
                "SELECT seq, seq, t, source, vals FROM samples "
                "WHERE run_id = ? AND source = ? AND seq > ? ORDER BY seq LIMIT ?"
            )
            key, args = -1, (run_id, source)
        last = key
        while True:
            with self._lock:
                rows = self._conn.execute(query, (*args, last, _PAGE)).fetchall()
            for row in rows:
                yield Sample(int(row[1]), float(row[2]), row[3], json.loads(row[4]))
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    def events(self, run_id: str) -> Iterator[Event]:
        """The run's events in journal order."""
        last = 0
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT id, t, kind, data FROM events WHERE run_id = ? AND id > ? "
                    "ORDER BY id LIMIT ?",
                    (run_id, last, _PAGE),
                ).fetchall()
            for row in rows:
                yield Event(float(row[1]), row[2], json.loads(row[3]))
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    def close(self) -> None:
        """Close; further calls raise JournalError (close itself is idempotent)."""
        with self._lock:
            if self._db is None:
                return
            self._db.close()
            self._db = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the outbox (telemetry) --------------------------------------------------------

    def load_cursor(self, consumer: str) -> OutboxCursor:
        """Where `consumer` left off (0, 0 for a new consumer)."""
        with self._lock:
            rows = dict(
                self._conn.execute(
                    "SELECT stream, last_id FROM cursors WHERE consumer = ?", (consumer,)
                ).fetchall()
            )
        return OutboxCursor(int(rows.get("sample", 0)), int(rows.get("event", 0)))

    def save_cursor(self, consumer: str, cursor: OutboxCursor) -> None:
        """Persist `consumer`'s cursor (call only after the records were delivered)."""
        self.save_delivery(consumer, cursor)

    def save_delivery(
        self,
        consumer: str,
        cursor: OutboxCursor,
        rejected: Sequence[OutboxRecord] = (),
        reason: str = "",
    ) -> None:
        """Move `consumer`'s cursor and set aside the records the server refused (with its
        reason), in one transaction: a refused record is never retried and never lost."""
        with self._lock, self._transaction():
            self._conn.executemany(
                "INSERT OR REPLACE INTO quarantine (consumer, stream, row_id, reason) "
                "VALUES (?, ?, ?, ?)",
                [(consumer, r.stream, r.row_id, reason) for r in rejected],
            )
            self._conn.executemany(
                "INSERT INTO cursors (consumer, stream, last_id) VALUES (?, ?, ?) "
                "ON CONFLICT (consumer, stream) DO UPDATE SET last_id = excluded.last_id",
                [(consumer, "sample", cursor.sample_id), (consumer, "event", cursor.event_id)],
            )

    def quarantined(self, consumer: str) -> list[tuple[str, int, str]]:
        """(stream, row id, the server's reason) of every record `consumer` set aside."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT stream, row_id, reason FROM quarantine WHERE consumer = ? "
                "ORDER BY stream, row_id",
                (consumer,),
            ).fetchall()
        return [(str(a), int(b), str(c)) for a, b, c in rows]

    def outbox(
        self, cursor: OutboxCursor, limit: int, run_id: str | None = None
    ) -> list[OutboxRecord]:
        """Up to `limit` committed records after `cursor` (of one run, if given), samples
        and events merged by time (`outbox_rows` decoded into records)."""
        return [self.outbox_record(row) for row in self.outbox_rows(cursor, limit, run_id)]

    def outbox_record(self, row: OutboxRow) -> OutboxRecord:
        """The record of one `outbox_rows` row: its run's job and lot added, its JSON
        payload decoded."""
        stream, row_id, run_id, t, name, seq, payload = row
        job_lot = self._job_lot.get(run_id)
        if job_lot is None:
            with self._lock:
                found = self._conn.execute(
                    "SELECT job_name, lot_id FROM runs WHERE run_id = ?", (run_id,)
                ).fetchone()
            if found is None:
                raise JournalError(f"unknown run {run_id!r} in journal {self.path}")
            # A run's job and lot are set when it starts and never change.
            job_lot = self._job_lot[run_id] = (str(found[0]), str(found[1]))
        job_name, lot_id = job_lot
        return OutboxRecord(
            stream,
            int(row_id),
            run_id,
            job_name,
            lot_id,
            float(t),
            name,
            int(seq),
            json.loads(payload),
        )

    def outbox_rows(
        self, cursor: OutboxCursor, limit: int, run_id: str | None = None
    ) -> list[OutboxRow]:
        """Up to `limit` committed rows after `cursor` (of one run, if given), samples and
        events merged by time, undecoded (shape: `OutboxRow`).

        The result is a prefix of each stream in id order, so `cursor.after_rows(result)`
        skips exactly what was returned. Row ids only grow in commit order (SQLite has one
        writer at a time and AUTOINCREMENT never reuses ids), so a cursor never jumps a row
        that commits later.
        """
        run_filter, args = ("AND run_id = ?", (run_id,)) if run_id is not None else ("", ())
        with self._lock:
            # No join with runs: looking up each row's run costs a third of the read.
            sample_rows: list[OutboxRow] = self._conn.execute(
                "SELECT 'sample', id, run_id, t, source, seq, vals FROM samples "
                f"WHERE id > ? {run_filter} ORDER BY id LIMIT ?",
                (cursor.sample_id, *args, limit),
            ).fetchall()
            event_rows: list[OutboxRow] = self._conn.execute(
                "SELECT 'event', id, run_id, t, kind, id, data FROM events "
                f"WHERE id > ? {run_filter} ORDER BY id LIMIT ?",
                (cursor.event_id, *args, limit),
            ).fetchall()
        if not event_rows or not sample_rows:
            return sample_rows or event_rows  # the common case of a catch-up: one stream
        # On equal times samples come first (merge is stable), as the records always have.
        merged = heapq.merge(sample_rows, event_rows, key=_ROW_TIME)
        return list(itertools.islice(merged, limit))

    def outbox_backlog(self, cursor: OutboxCursor, run_id: str | None = None) -> int:
        """How many committed records (of one run, if given) lie after `cursor`."""
        run_filter, args = ("AND run_id = ?", (run_id,)) if run_id is not None else ("", ())
        with self._lock:
            n_samples = self._conn.execute(
                f"SELECT count(*) FROM samples WHERE id > ? {run_filter}",
                (cursor.sample_id, *args),
            ).fetchone()[0]
            n_events = self._conn.execute(
                f"SELECT count(*) FROM events WHERE id > ? {run_filter}",
                (cursor.event_id, *args),
            ).fetchone()[0]
        return int(n_samples) + int(n_events)

    def outbox_oldest(self, cursor: OutboxCursor, run_id: str | None = None) -> float | None:
        """Time (Unix s, on the clock that recorded it) of the oldest record after `cursor`
        (of one run, if given): the earlier of each stream's first record in commit order;
        None when nothing is pending. How far behind a reader of the outbox is, in seconds,
        is now minus this."""
        run_filter, args = ("AND run_id = ?", (run_id,)) if run_id is not None else ("", ())
        with self._lock:
            times = [
                self._conn.execute(
                    f"SELECT t FROM {table} WHERE id > ? {run_filter} ORDER BY id LIMIT 1",
                    (last_id, *args),
                ).fetchone()
                for table, last_id in (("samples", cursor.sample_id), ("events", cursor.event_id))
            ]
        return min((float(row[0]) for row in times if row is not None), default=None)


_ROW_TIME = itemgetter(3)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK if the block raises."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        # IMMEDIATE takes the write lock up front, so a concurrent writer waits on the busy
        # timeout here instead of failing half-way through with SQLITE_BUSY.
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        else:
            self._db.execute("ROLLBACK")
