"""The alarm book: raise once, clear when the condition goes, acknowledge once; each alarm
code has a defined severity and safe action (overridable per site)."""

from __future__ import annotations

from kilnctl.engine.alarms import ALARM_SPECS, Action, AlarmBook
from kilnctl.engine.messages import AlarmAcked, AlarmCleared, AlarmRaised, Event


def test_raise_sync_clear_and_ack() -> None:
    events: list[Event] = []
    book = AlarmBook("r1", events.append, lambda: 100.0)
    new = book.sync("kiln1", {"hold_band": "PV 700 below 790"}, ("hold_band", "tc_break"))
    assert [a.alarm_id for a in new] == ["kiln1:hold_band"]
    assert book.sync("kiln1", {"hold_band": "still"}, ("hold_band",)) == []  # raised once
    assert book.ack("kiln1:hold_band", "ann") and not book.ack("kiln1:hold_band", "ann")
    book.sync("kiln1", {}, ("hold_band", "tc_break"))
    assert [type(e) for e in events] == [AlarmRaised, AlarmAcked, AlarmCleared]
    raised = events[0]
    assert isinstance(raised, AlarmRaised) and raised.action == "notify"
    assert raised.to_dict()["kind"] == "alarm_raised" and not book.any_active


def test_every_alarm_has_a_safe_action_and_sites_may_override() -> None:
    assert ALARM_SPECS["tc_break"].action is Action.HEAT_OFF
    assert ALARM_SPECS["comms_loss"].action is Action.HOLD
    assert ALARM_SPECS["open_circuit"].action is Action.OUTPUT_OFF
    book = AlarmBook("r1", lambda e: None, lambda: 0.0, actions={"hold_band": Action.HOLD})
    book.raise_alarm("kiln1", "hold_band", "x")
    assert book.holds("kiln1") and book.stopping("kiln1") is None
    book.raise_alarm("kiln1", "over_temperature", "900 °C")
    stopping = book.stopping("kiln1")
    assert stopping is not None and stopping.spec.code == "over_temperature"
