"""An alarm carried over several restarts says so once: before, each `kilnctl serve`
restart appended "(still raised when the service restarted)" again, so after three
restarts `status` showed the note three times."""

from __future__ import annotations

from kilnctl.engine.alarms import ALARM_SPECS, AlarmBook
from kilnctl.engine.latched import Unresolved, raise_again
from kilnctl.journal import Event

NOTE = "still raised when the service restarted"


def test_a_carried_over_alarm_carries_its_note_once() -> None:
    message = "heating with output 0 % (stuck relay?): rose 3.9 °C in 79 s"
    for _restart in range(3):
        events: list[Event] = []
        book = AlarmBook("watch", events.append, lambda: 0.0)  # type: ignore[arg-type]
        alarm = Unresolved("kiln1:stuck_relay", "kiln1", ALARM_SPECS["stuck_relay"], message, 0.0)
        raise_again(book, [alarm], NOTE)
        [active] = book.active
        message = active.message  # as the next start reads it back from the journal
    assert active.message.count(NOTE) == 1, active.message
