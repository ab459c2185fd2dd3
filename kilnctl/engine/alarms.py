"""Alarms: what each one means, what it does, and the book of active alarms of a run.

Each alarm code has a severity and a defined safe action. The run asks the interlocks
what is wrong on every sample, then `AlarmBook.sync` raises new alarms and clears those
whose condition went away, emitting AlarmRaised / AlarmCleared; operators acknowledge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from kilnctl.engine.messages import AlarmAcked, AlarmCleared, AlarmRaised, Event


class Severity(StrEnum):
    WARNING = "warning"
    ALARM = "alarm"
    CRITICAL = "critical"


class Action(StrEnum):
    """The safe action a run takes while an alarm is active."""

    NOTIFY = "notify"
    """Tell the operator; the run goes on."""
    HOLD = "hold"
    """Freeze the schedule (setpoint held, hold time not counted)."""
    HEAT_OFF = "heat_off"
    """Heat off and abort the run."""
    OUTPUT_OFF = "output_off"
    """Rectifier output off and abort the run."""
    ABORT = "abort"
    """Abort the run; devices go safe."""


STOPPING_ACTIONS = frozenset({Action.HEAT_OFF, Action.OUTPUT_OFF, Action.ABORT})


@dataclass(frozen=True)
class AlarmSpec:
    code: str
    severity: Severity
    action: Action
    title: str


_SPECS = [
    # kilns
    AlarmSpec("over_temperature", Severity.CRITICAL, Action.HEAT_OFF, "absolute over-temperature"),
    AlarmSpec("deviation_high", Severity.ALARM, Action.HEAT_OFF, "above travelling setpoint"),
    AlarmSpec("hold_band", Severity.ALARM, Action.NOTIFY, "outside the hold band"),
    AlarmSpec("failure_to_heat", Severity.ALARM, Action.HEAT_OFF, "failure to heat"),
    AlarmSpec("tc_break", Severity.CRITICAL, Action.HEAT_OFF, "thermocouple break"),
    AlarmSpec(
        "stuck_relay",
        Severity.CRITICAL,
        Action.NOTIFY,
        "heating with output 0 % (stuck relay?): cut the kiln's mains power",
    ),
    AlarmSpec("hold_warn", Severity.WARNING, Action.NOTIFY, "long at temperature"),
    AlarmSpec("over_fire", Severity.ALARM, Action.HEAT_OFF, "maximum hold time exceeded"),
    AlarmSpec("unload_late", Severity.ALARM, Action.NOTIFY, "unload the kiln now (over-firing)"),
    AlarmSpec("material_limit", Severity.CRITICAL, Action.HEAT_OFF, "material limit of the lot"),
    # The panel overrides the comms: heat-off writes may not take effect, so hold the
    # schedule (no ramp run through blind) and call a person to the kiln.
    AlarmSpec(
        "controller_manual",
        Severity.CRITICAL,
        Action.HOLD,
        "controller in manual at its panel: go to the kiln",
    ),
    AlarmSpec(
        "remote_sp_fail",
        Severity.ALARM,
        Action.HOLD,
        "controller not following the remote setpoint",
    ),
    # The unit regulated to its local setpoint for a while (raised on the first reading
    # that shows it; the driver puts it back on the remote setpoint at the next write).
    AlarmSpec(
        "remote_sp_fallback",
        Severity.ALARM,
        Action.NOTIFY,
        "controller fell back to its local setpoint (remote setpoint timed out)",
    ),
    AlarmSpec("pv_over_range", Severity.CRITICAL, Action.HEAT_OFF, "PV over the input range"),
    AlarmSpec("controller_alarm", Severity.WARNING, Action.NOTIFY, "controller alarm"),
    # any device
    AlarmSpec("comms_loss", Severity.ALARM, Action.HOLD, "no answer from the device"),
    AlarmSpec("comms_lost", Severity.CRITICAL, Action.ABORT, "device lost for too long"),
    # raised by the engine's SafeKeeper, cleared only when the safe state is read back
    AlarmSpec(
        "unsafe_device",
        Severity.CRITICAL,
        Action.ABORT,
        "safe state not confirmed: heat or current may still be on",
    ),
    # rectifiers and tanks
    AlarmSpec("over_current", Severity.CRITICAL, Action.OUTPUT_OFF, "over-current"),
    AlarmSpec("over_voltage", Severity.CRITICAL, Action.OUTPUT_OFF, "over-voltage"),
    AlarmSpec(
        "open_circuit",
        Severity.ALARM,
        Action.OUTPUT_OFF,
        "voltage but no current (open rack contact?)",
    ),
    AlarmSpec("cc_cv_change", Severity.WARNING, Action.NOTIFY, "left constant current"),
    AlarmSpec(
        "rectifier_over_temperature",
        Severity.CRITICAL,
        Action.OUTPUT_OFF,
        "rectifier over-temperature",
    ),
    AlarmSpec("bath_out_of_band", Severity.ALARM, Action.NOTIFY, "bath temperature out of band"),
]
ALARM_SPECS: Mapping[str, AlarmSpec] = {s.code: s for s in _SPECS}


@dataclass
class ActiveAlarm:
    alarm_id: str
    source: str
    spec: AlarmSpec
    message: str
    raised_at: float
    acked: bool = False


class AlarmBook:
    """Active alarms of one run; raises/clears/acks and emits the events."""

    def __init__(
        self,
        run_id: str,
        emit: Callable[[Event], None],
        wall_time: Callable[[], float],
        actions: Mapping[str, Action] | None = None,
    ) -> None:
        self.run_id = run_id
        self._emit = emit
        self._wall_time = wall_time
        # per-site overrides of the default action of an alarm code
        self._actions = dict(actions or {})
        self._active: dict[str, ActiveAlarm] = {}

    @staticmethod
    def alarm_id(source: str, code: str) -> str:
        return f"{source}:{code}"

    @property
    def any_active(self) -> bool:
        return bool(self._active)

    @property
    def active(self) -> list[ActiveAlarm]:
        return list(self._active.values())

    def action_of(self, alarm: ActiveAlarm) -> Action:
        return self._actions.get(alarm.spec.code, alarm.spec.action)

    def stopping(self, source: str) -> ActiveAlarm | None:
        """The first active alarm of `source` whose action stops the run, if any."""
        for alarm in self._active.values():
            if alarm.source == source and self.action_of(alarm) in STOPPING_ACTIONS:
                return alarm
        return None

    def holds(self, source: str) -> bool:
        """True while an active alarm of `source` holds the schedule."""
        return any(
            a.source == source and self.action_of(a) is Action.HOLD for a in self._active.values()
        )

    def raise_alarm(self, source: str, code: str, message: str) -> ActiveAlarm | None:
        """Raise once; returns the new alarm, or None if it was already active."""
        alarm_id = self.alarm_id(source, code)
        if alarm_id in self._active:
            return None
        spec = ALARM_SPECS[code]
        alarm = ActiveAlarm(alarm_id, source, spec, message, self._wall_time())
        self._active[alarm_id] = alarm
        self._emit(
            AlarmRaised(
                self.run_id,
                alarm.raised_at,
                alarm_id,
                source,
                code,
                spec.severity.value,
                self.action_of(alarm).value,
                f"{source}: {spec.title}: {message}",
            )
        )
        return alarm

    def clear(self, source: str, code: str) -> None:
        alarm = self._active.pop(self.alarm_id(source, code), None)
        if alarm is not None:
            self._emit(AlarmCleared(self.run_id, self._wall_time(), alarm.alarm_id, source, code))

    def sync(
        self, source: str, found: Mapping[str, str], owned: Iterable[str]
    ) -> list[ActiveAlarm]:
        """Raise the codes in `found` (code -> message), clear the `owned` codes absent
        from it; returns the newly raised alarms."""
        new = [a for code, msg in found.items() if (a := self.raise_alarm(source, code, msg))]
        if self._active:  # the usual case, nothing active, costs nothing per sample
            for code in owned:
                if code not in found:
                    self.clear(source, code)
        return new

    def ack(self, alarm_id: str, who: str) -> bool:
        alarm = self._active.get(alarm_id)
        if alarm is None or alarm.acked:
            return False
        alarm.acked = True
        self._emit(AlarmAcked(self.run_id, self._wall_time(), alarm_id, who))
        return True
