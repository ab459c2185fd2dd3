"""What is known of each run from the event stream: the "status" snapshot of the service,
and the TUI's picture of the runs (the same code on both sides of the socket).

A client attaching mid-run draws at once from this: job, lot, step, state, the latest
sample per source, the current segment per kiln, active alarms and open prompts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    time_left_s: float | None = None
    """Estimated time left in the current firing or plating step (from "status"; None
    when unknown)."""
    plating_left_s: float | None = None
    """Estimated time left in the current plating recipe (from "status")."""
    sample_periods: dict[str, float] = field(default_factory=dict)
    """Service seconds between the last two samples of each source: how often the run
    really reads it (longer than the control period when its line is slow)."""

    def apply(self, event: dict[str, Any]) -> None:
        """Update the picture with one event in its JSON form (Event.to_dict())."""
        kind = event.get("kind")
        if kind == "sample":
            last = self.samples.get(event["source"], {}).get("t")
            if isinstance(last, int | float) and event["t"] > last:
                self.sample_periods[event["source"]] = event["t"] - last
            self.samples[event["source"]] = {"t": event["t"], **event["values"]}
        elif kind == "run_started":
            self.job, self.lot, self.started_at = event["job_name"], event["lot_id"], event["t"]
        elif kind == "step_started":
            self.step, self.plating_step = event["label"], ""
            self.time_left_s = self.plating_left_s = None  # the last step's; "status" says anew
        elif kind == "plating_step_started":
            self.plating_step = event["label"]
            self.time_left_s = self.plating_left_s = None
        elif kind == "plating_step_finished":
            tank = event["details"].get("tank")
            thickness = event["details"].get("thickness_um")
            if isinstance(tank, str) and isinstance(thickness, int | float):
                self.thickness_um[tank] = self.thickness_um.get(tank, 0.0) + float(thickness)
            if isinstance(tank, str) and tank in self.samples:
                # the rectifier is off now: its last reading would read as current flowing
                ah = event["details"].get("amp_hours", self.samples[tank].get("amp_hours"))
                self.samples[tank] = {"t": event["t"], "off": 1.0, "amp_hours": ah}
                # the bath stays: the run samples the heaters it holds for the whole run
        elif kind == "state" and event["source"] == "run":
            self.state = event["state"]
        elif kind == "segment":
            self.segments[event["source"]] = {k: event[k] for k in ("index", "phase", "target_c")}
        elif kind == "alarm_raised":
            self.alarms[event["alarm_id"]] = {**_fields(event), "acked": False}
        elif kind == "alarm_ack" and event["alarm_id"] in self.alarms:
            self.alarms[event["alarm_id"]]["acked"] = True
        elif kind == "alarm_cleared":
            self.alarms.pop(event["alarm_id"], None)
        elif kind == "prompt":
            self.prompts[event["prompt_id"]] = _fields(event)
        elif kind == "prompt_answer":
            self.prompts.pop(event["prompt_id"], None)
        elif kind == "run_finished":
            self.outcome, self.reason, self.state = event["outcome"], event["reason"], "finished"
            self.prompts.clear()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunView:
        """A view from its "status" form (what a client receives when it attaches)."""
        view = cls(data["run_id"])
        for key in ("job", "lot", "step", "plating_step", "state", "started_at", "outcome"):
            setattr(view, key, data.get(key, getattr(view, key)))
        view.reason = data.get("reason", "")
        view.time_left_s = data.get("time_left_s")
        view.plating_left_s = data.get("plating_left_s")
        view.samples = dict(data.get("samples", {}))
        view.segments = dict(data.get("segments", {}))
        view.alarms = {a["alarm_id"]: dict(a) for a in data.get("alarms", [])}
        view.prompts = {p["prompt_id"]: dict(p) for p in data.get("prompts", [])}
        view.thickness_um = dict(data.get("thickness_um", {}))
        return view

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


def _fields(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "kind"}


class RunBook:
    """RunViews of the runs seen since start-up; finished runs are dropped on request."""

    def __init__(self) -> None:
        self.views: dict[str, RunView] = {}

    def apply(self, event: dict[str, Any]) -> None:
        """Route an event (JSON form) to its run's view."""
        run_id = event["run_id"]
        view = self.views.get(run_id)
        if view is None:
            if event.get("kind") != "run_started":
                # a run forgotten here, or none (a device made safe on demand): the events
                # of its unconfirmed devices must not bring back a ghost of an active run
                return
            view = self.views[run_id] = RunView(run_id)
        view.apply(event)

    def active(self) -> list[RunView]:
        """Runs not finished."""
        return [v for v in self.views.values() if v.outcome is None]

    def forget_finished(self, keep: int = 20) -> None:
        """Keep only the last `keep` finished runs, so a long-lived service stays small."""
        finished = [k for k, v in self.views.items() if v.outcome is not None]
        for run_id in finished[:-keep] if keep else finished:
            del self.views[run_id]
