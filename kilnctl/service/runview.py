"""What the service knows of each run from the event stream, for the "status" snapshot.

A client attaching mid-run draws at once from this: job, lot, step, state, the latest
sample per source, the current segment per kiln, active alarms and open prompts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kilnctl.engine.messages import (
    AlarmAcked,
    AlarmCleared,
    AlarmRaised,
    Event,
    PlatingStepFinished,
    PlatingStepStarted,
    PromptAnswered,
    PromptRaised,
    RunFinished,
    RunStarted,
    Sample,
    SegmentChanged,
    StateChanged,
    StepStarted,
)


@dataclass
class RunView:
    """The live picture of one run."""

    run_id: str
    job: str = ""
    lot: str = ""
    step: str = ""
    plating_step: str = ""
    state: str = "running"
    started_at: float = 0.0
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)
    segments: dict[str, dict[str, Any]] = field(default_factory=dict)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    prompts: dict[str, dict[str, Any]] = field(default_factory=dict)
    thickness_um: dict[str, float] = field(default_factory=dict)
    """Thickness plated by finished plating steps, per tank."""
    outcome: str | None = None
    reason: str = ""

    def apply(self, event: Event) -> None:
        """Update the picture with one event."""
        if isinstance(event, Sample):
            self.samples[event.source] = {"t": event.t, **event.values}
        elif isinstance(event, RunStarted):
            self.job, self.lot, self.started_at = event.job_name, event.lot_id, event.t
        elif isinstance(event, PlatingStepStarted):
            self.plating_step = event.label
        elif isinstance(event, StepStarted):
            self.step, self.plating_step = event.label, ""
        elif isinstance(event, PlatingStepFinished):
            tank = event.details.get("tank")
            thickness = event.details.get("thickness_um")
            if isinstance(tank, str) and isinstance(thickness, int | float):
                self.thickness_um[tank] = self.thickness_um.get(tank, 0.0) + float(thickness)
        elif isinstance(event, StateChanged) and event.source == "run":
            self.state = event.state
        elif isinstance(event, SegmentChanged):
            self.segments[event.source] = {
                "index": event.index,
                "phase": event.phase,
                "target_c": event.target_c,
            }
        elif isinstance(event, AlarmRaised):
            self.alarms[event.alarm_id] = {**_fields(event), "acked": False}
        elif isinstance(event, AlarmAcked) and event.alarm_id in self.alarms:
            self.alarms[event.alarm_id]["acked"] = True
        elif isinstance(event, AlarmCleared):
            self.alarms.pop(event.alarm_id, None)
        elif isinstance(event, PromptRaised):
            self.prompts[event.prompt_id] = _fields(event)
        elif isinstance(event, PromptAnswered):
            self.prompts.pop(event.prompt_id, None)
        elif isinstance(event, RunFinished):
            self.outcome, self.reason, self.state = event.outcome, event.reason, "finished"
            self.prompts.clear()

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as "status" sends it."""
        return {
            "run_id": self.run_id,
            "job": self.job,
            "lot": self.lot,
            "step": self.step,
            "plating_step": self.plating_step,
            "state": self.state,
            "started_at": self.started_at,
            "samples": self.samples,
            "segments": self.segments,
            "alarms": list(self.alarms.values()),
            "prompts": list(self.prompts.values()),
            "thickness_um": self.thickness_um,
            "outcome": self.outcome,
            "reason": self.reason,
        }


def _fields(event: Event) -> dict[str, Any]:
    data = event.to_dict()
    data.pop("kind")
    return data


class RunBook:
    """RunViews of the runs seen since start-up; finished runs are dropped on request."""

    def __init__(self) -> None:
        self.views: dict[str, RunView] = {}

    def apply(self, event: Event) -> None:
        """Route an event to its run's view."""
        view = self.views.get(event.run_id)
        if view is None:
            view = self.views[event.run_id] = RunView(event.run_id)
        view.apply(event)

    def active(self) -> list[RunView]:
        """Runs not finished."""
        return [v for v in self.views.values() if v.outcome is None]

    def forget_finished(self, keep: int = 20) -> None:
        """Keep only the last `keep` finished runs, so a long-lived service stays small."""
        finished = [k for k, v in self.views.items() if v.outcome is not None]
        for run_id in finished[:-keep] if keep else finished:
            del self.views[run_id]
