"""Alarms that outlive the process: read back from a run's (or the plant watch's) journal
record and raised again after a restart.

A latched alarm is a person's business: kilnctl may not forget it because `kilnctl serve`
was restarted (clean stop, SIGTERM or kill -9). The journal already holds every alarm's
raise, acknowledgement and clearing, in order; the alarms raised and not cleared are the
ones still in force. They are raised again in the new book, acknowledged again if they
were, and their condition counts as present until the checks show it gone for the book's
clear time (ISA-18.2: an alarm returns to normal only when acknowledged and cleared).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from kilnctl.engine.alarms import ALARM_SPECS, STOPPING_ACTIONS, AlarmBook, AlarmSpec
from kilnctl.journal import Event, Journal


@dataclass(frozen=True)
class Unresolved:
    """One alarm raised in a journal record and not cleared there."""

    alarm_id: str
    source: str
    spec: AlarmSpec
    message: str
    """The alarm's own words, without the "source: title: " prefix of the event."""
    raised_at: float
    """Unix time of the first raise in the record."""
    acked_by: str | None = None
    """Who acknowledged it (None: not acknowledged)."""

    @property
    def stops_runs(self) -> bool:
        """Its action stops a run (heat off, output off, abort, cut the power)."""
        return self.spec.action in STOPPING_ACTIONS


def unresolved(events: Iterable[Event]) -> list[Unresolved]:
    """The alarms raised and not cleared in a record's `events` (journal order), oldest
    first. A code this kilnctl has no spec for is skipped (it cannot be raised here)."""
    active: dict[str, Unresolved] = {}
    for event in events:
        data = event.data
        alarm_id = str(data.get("alarm_id", ""))
        if event.kind == "alarm_raised" and data.get("code") in ALARM_SPECS:
            spec = ALARM_SPECS[data["code"]]
            source = str(data.get("source", ""))
            message = str(data.get("message", ""))
            prefix = f"{source}: {spec.title}: "
            known = active.get(alarm_id)
            active[alarm_id] = Unresolved(
                alarm_id,
                source,
                spec,
                message.removeprefix(prefix),
                known.raised_at if known is not None else event.t,
                known.acked_by if known is not None else None,
            )
        elif event.kind == "alarm_ack" and alarm_id in active:
            known = active[alarm_id]
            active[alarm_id] = Unresolved(
                known.alarm_id,
                known.source,
                known.spec,
                known.message,
                known.raised_at,
                str(data.get("who") or "operator"),
            )
        elif event.kind == "alarm_cleared":
            active.pop(alarm_id, None)
    return list(active.values())


def unresolved_in(journal: Journal, record_id: str) -> list[Unresolved]:
    """`unresolved` of one journal record (a run, or the plant watch's)."""
    return unresolved(journal.events(record_id))


def held_by_open_watch(journal: Journal, names: Collection[str]) -> list[str]:
    """The alarms that hold kilns/tanks `names` safe in a plant watch's record left open
    by a `kilnctl serve` that stopped or died: raised, not cleared, and of an action that
    stops runs; each as "ALARM_ID (severity, acknowledged|not acknowledged)". A process
    without a watch of its own (`kilnctl run`, `resume`) must honour them as the service
    would: the service's restart carries them over, and a run would undo their action."""
    return [
        f"{a.alarm_id} ({a.spec.severity.value}, "
        f"{'acknowledged' if a.acked_by is not None else 'not acknowledged'})"
        for record in journal.unfinished_runs()
        if record.meta.get("watch")
        for a in unresolved_in(journal, record.run_id)
        if a.source in names and a.stops_runs
    ]


def raise_again(book: AlarmBook, alarms: Iterable[Unresolved], note: str) -> None:
    """Raise `alarms` in `book` (message + note) and acknowledge again those that were:
    the book's events tell the journal and every view (status, TUI) they are in force."""
    for alarm in alarms:
        # carried over again (a second restart): the note is there once already
        said = f"({note})"
        message = alarm.message if said in alarm.message else f"{alarm.message} {said}"
        if book.raise_alarm(alarm.source, alarm.spec.code, message) is None:
            continue  # already in the book
        if alarm.acked_by is not None:
            book.ack(alarm.alarm_id, alarm.acked_by)
