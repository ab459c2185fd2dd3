"""Operator-log lines for a run's events: what `kilnctl run` prints, one line per event,
from the events' JSON form (`Event.to_dict()`), so any client of the event stream can
print the same lines.

Numbers are rounded to what an operator reads (°C to 0.1, A to 0.1, Ah and µm to 0.001);
durations use the batch record's formatter (kilnctl.report.format_duration). Samples get
no line (they are the progress line); a kind without a line of its own gets a generic one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from kilnctl.engine.messages import (
    AlarmAcked,
    AlarmCleared,
    AlarmRaised,
    Notice,
    OperatorAction,
    PlatingStepFinished,
    PlatingStepStarted,
    PromptAnswered,
    PromptRaised,
    RunFinished,
    RunStarted,
    Sample,
    SegmentChanged,
    StateChanged,
    StepFinished,
    StepStarted,
)
from kilnctl.report import format_duration

_STEP_KINDS = {"firing": "firing", "plating": "plating", "prompt": "operator prompt"}
_ACTIONS = {"heat_off": "heat off", "output_off": "output off", "cut_power": "cut the power"}
_SEGMENT_PHASES = {"ramp": "ramp to", "hold": "hold at"}

Event = Mapping[str, Any]


def _num(value: Any, spec: str, unit: str) -> str:
    return f"{float(value):{spec}} {unit}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _figures(details: Mapping[str, Any]) -> list[str]:
    """A step's figures worth a glance: current, amp-hours, thickness, final PV."""
    out = []
    if details.get("current_a") is not None:
        out.append("at " + _num(details["current_a"], ".1f", "A"))
    if details.get("amp_hours") is not None:
        out.append(_num(details["amp_hours"], ".3f", "Ah"))
    if details.get("thickness_um") is not None:
        out.append(_num(details["thickness_um"], ".3f", "µm"))
    if details.get("final_pv_c") is not None:
        out.append("final PV " + _num(details["final_pv_c"], ".1f", "°C"))
    return out


class EventLines:
    """Lines for the events of one run, in order. It remembers what later lines refer
    to: the run's start, the job's step count and step start times, alarm codes by id."""

    def __init__(self) -> None:
        self._run_started: float | None = None
        self._step_count = 0
        self._step_started: dict[int, float] = {}
        self._sub_started: dict[int, float] = {}
        self._alarms: dict[str, str] = {}
        self._standby: set[str] = set()
        """Kilns held between firings: their hold's segments go without saying."""

    def line(self, event: Event) -> str | None:
        """The line for one event (with its local time of day); None for samples and
        for the segments of a kiln's standby hold."""
        kind = event.get("kind")
        if kind == Sample.kind:
            return None
        describe = self._describers.get(str(kind))
        try:
            text = describe(self, event) if describe is not None else _generic(event)
        except (KeyError, TypeError, ValueError):  # a field missing or odd: still say it
            text = _generic(event)
        if text is None:
            return None
        stamp = time.strftime("%H:%M:%S", time.localtime(float(event.get("t", 0.0))))
        return f"{stamp} {text}"

    # ------------------------------------------------------------------ run

    def _run_started_line(self, e: Event) -> str:
        self._run_started = float(e["t"])
        verb = "resumed" if e.get("resumed") else "started"
        lot = f", lot {e['lot_id']}" if e.get("lot_id") else ""
        recipes = _plural(len(e.get("recipe_hashes") or {}), "recipe")
        job = f"{e['job_name']}{lot} ({recipes}, hashes in the batch record)"
        return f"run {e['run_id']} {verb}: {job}"

    def _run_finished_line(self, e: Event) -> str:
        text = f"run {e['run_id']} {e['outcome']}"
        if self._run_started is not None:
            text += f" after {format_duration(float(e['t']) - self._run_started)}"
        return text + (f": {e['reason']}" if e.get("reason") else "")

    # ------------------------------------------------------------------ job steps

    def _step_name(self, e: Event) -> str:
        n = int(e["index"]) + 1
        of = f"/{self._step_count}" if self._step_count else ""
        return f"step {n}{of} {e['label']}"

    def _step_started_line(self, e: Event) -> str:
        self._step_count = int(e.get("step_count") or self._step_count)
        self._step_started[int(e["index"])] = float(e["t"])
        what = _STEP_KINDS.get(e["step_kind"], e["step_kind"])
        where = ""
        if e.get("unit"):
            where = f" in {e['unit']}" if e["step_kind"] == "plating" else f" on {e['unit']}"
        return f"{self._step_name(e)}: started ({what}{where})"

    def _step_finished_line(self, e: Event) -> str:
        started = self._step_started.get(int(e["index"]))
        return f"{self._step_name(e)}: {_outcome(e, started)}"

    def _plating_started_line(self, e: Event) -> str:
        self._sub_started[int(e["index"])] = float(e["t"])
        return f"  {e['label']}: started ({e['step_kind']})"

    def _plating_finished_line(self, e: Event) -> str:
        started = self._sub_started.get(int(e["index"]))
        return f"  {e['label']}: {_outcome(e, started)}"

    # ------------------------------------------------------------------ units

    def _segment_line(self, e: Event) -> str | None:
        if e["source"] in self._standby:
            return None
        phase = _SEGMENT_PHASES.get(e["phase"])
        if phase is None:
            return f"{e['source']}: end of schedule"
        return f"{e['source']}: {phase} {float(e['target_c']):.0f} °C"

    def _state_line(self, e: Event) -> str:
        if e["state"] == "standby":
            self._standby.add(e["source"])
        else:
            self._standby.discard(e["source"])
        return f"{e['source']}: {e['state']}" + (f" ({e['reason']})" if e.get("reason") else "")

    def _notice_line(self, e: Event) -> str:
        return f"{e['source']} {e['topic']}: {e['message']}"

    # ------------------------------------------------------------------ alarms

    def _alarm_raised_line(self, e: Event) -> str:
        what = f"{e['source']} {e['code']}"
        self._alarms[e["alarm_id"]] = what
        tag = "WARNING" if e["severity"] == "warning" else "ALARM"
        action = _ACTIONS.get(e["action"], e["action"])
        return f"{tag} {what} ({action}): {e['message']}"

    def _alarm_cleared_line(self, e: Event) -> str:
        return f"alarm cleared: {e['source']} {e['code']}"

    def _alarm_acked_line(self, e: Event) -> str:
        what = self._alarms.get(e["alarm_id"], e["alarm_id"])
        return f"alarm acknowledged by {e['who']}: {what}"

    # ------------------------------------------------------------------ operator

    def _prompt_line(self, e: Event) -> str:
        return f"asking the operator: {e['text']}"

    def _answer_line(self, e: Event) -> str:
        return f"answered {e['answer']!r} ({e['who']})"

    def _operator_line(self, e: Event) -> str:
        return f"{e['action']} by {e['who']}" + (f": {e['detail']}" if e.get("detail") else "")

    _describers: ClassVar[dict[str, Callable[[EventLines, Event], str | None]]] = {
        RunStarted.kind: _run_started_line,
        RunFinished.kind: _run_finished_line,
        StepStarted.kind: _step_started_line,
        StepFinished.kind: _step_finished_line,
        PlatingStepStarted.kind: _plating_started_line,
        PlatingStepFinished.kind: _plating_finished_line,
        SegmentChanged.kind: _segment_line,
        StateChanged.kind: _state_line,
        Notice.kind: _notice_line,
        AlarmRaised.kind: _alarm_raised_line,
        AlarmCleared.kind: _alarm_cleared_line,
        AlarmAcked.kind: _alarm_acked_line,
        PromptRaised.kind: _prompt_line,
        PromptAnswered.kind: _answer_line,
        OperatorAction.kind: _operator_line,
    }


def _outcome(e: Event, started: float | None) -> str:
    """ "completed in 0:02:13, 5.133 Ah, final PV 794.5 °C" or "aborted: why"."""
    details = e.get("details") or {}
    if e["outcome"] != "completed":
        reason = details.get("reason")
        return f"{e['outcome']}: {reason}" if reason else str(e["outcome"])
    duration = details.get("duration_s")
    if duration is None and started is not None:
        duration = float(e["t"]) - started
    text = "completed" + (f" in {format_duration(duration)}" if duration is not None else "")
    figures = _figures(details)
    return ", ".join([text, *figures])


def _generic(e: Event) -> str:
    """`kind: key=value, ...` with floats rounded, for kinds without a line of their own."""
    fields = ", ".join(
        f"{k}={f'{v:.4g}' if isinstance(v, float) else v}"
        for k, v in e.items()
        if k not in ("kind", "run_id", "t")
    )
    return f"{e.get('kind')}: {fields}"
