"""The steps of a run's job for the job view: device, status, times and ETA of each.

The service builds the rows from the engine's plan when a run starts, follows the run's
step events, and sends them in "status" (runs[].steps); the TUI applies the same events
to the rows it holds (the same code on both sides of the socket, as RunView).

Planned durations come from kilnctl.recipes.estimate, the figures `kilnctl show` prints:
a firing from the previous firing's final target when the kiln is kept hot for it (only
operator prompts between, same kiln), else from ambient; a plating recipe at the lot's
area. ETAs chain from the current step's time left (the service's estimate: the firing
schedule's plan, or the plating progress) through each pending step's planned duration.
Operator waits (prompts) count as no time: an ETA is the earliest the step can end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from kilnctl.recipes import estimate
from kilnctl.recipes.models import FiringProfile, PlatingRecipe

STATUSES = ("done", "running", "pending", "skipped", "failed", "aborted")
"""A step's status: done (completed), running, pending (not started yet), skipped (never
started: the run ended before it), failed or aborted (the step the run ended in)."""

_STATUS_OF_OUTCOME = {"completed": "done", "failed": "failed", "aborted": "aborted"}
"""A step's outcome (StepFinished) as its status; any other ("stopped": refused or stopped
by the process) shows as aborted, with its reason."""


def status_of(outcome: str) -> str:
    """The status a step or run outcome gives the step it ended."""
    return _STATUS_OF_OUTCOME.get(outcome, "aborted")


@dataclass
class StepRow:
    """One step of a job as the job view shows it. Times are service (unix) seconds."""

    index: int
    label: str
    kind: str
    """"firing" | "plating" | "prompt"."""
    unit: str = ""
    """The kiln, or the tanks, the step runs on ("" for an operator prompt)."""
    recipe: str = ""
    """Profile or plating recipe name (the prompt's text for a prompt step)."""
    top_c: float | None = None
    """A firing's highest target, °C (None for other steps)."""
    planned_s: float | None = None
    """Planned duration, s (0 for a prompt: operator time is not planned; None: unknown)."""
    status: str = "pending"
    started_at: float | None = None
    ended_at: float | None = None
    reason: str = ""
    """Why a failed or aborted step ended."""
    left_s: float | None = None
    """Seconds from the status time to the step's estimated end (running and pending
    steps; None: not known, or not applicable)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRow:
        """A row from its "status" form (unknown keys ignored: a newer service)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def plan_rows(
    plan: Sequence[Any], unit_of: Callable[[Any], str], area_dm2: float | None
) -> list[StepRow]:
    """Rows of a run's plan (engine.job.PlanStep list), with planned durations.
    `unit_of(step)`: the kiln or tanks a step uses (JobRun.unit_of)."""
    rows: list[StepRow] = []
    hot: tuple[str, float] | None = None  # (kiln, °C) kept hot by the previous firing
    for index, step in enumerate(plan):
        unit = unit_of(step)
        row = StepRow(index, step.label, step.kind, unit, planned_s=0.0)
        recipe = step.recipe
        if isinstance(recipe, FiringProfile):
            start_c = hot[1] if hot is not None and hot[0] == unit else estimate.AMBIENT_C
            row.recipe, row.top_c = recipe.name, max(s.target_c for s in recipe.segments)
            row.planned_s = estimate.estimate_firing(recipe, start_c).duration_s
            hot = (unit, recipe.segments[-1].target_c)
        elif isinstance(recipe, PlatingRecipe):
            row.recipe = recipe.name
            row.planned_s = estimate.plating_duration_s(recipe, area_dm2)
            hot = None
        else:
            row.recipe = step.text or ""
        rows.append(row)
    return rows


class JobSteps:
    """The rows of one run, kept current by its events."""

    def __init__(self, rows: list[StepRow]) -> None:
        self.rows = rows

    def apply(self, event: dict[str, Any]) -> None:
        """Update with one event (JSON form): step_started, step_finished, run_finished."""
        kind = event.get("kind")
        if kind == "step_started":
            index = int(event["index"])
            for earlier in self.rows[:index]:
                if earlier.status in ("pending", "running"):
                    # done before an outage (a resumed run starts at its next step)
                    earlier.status = "done"
            started = self._row(index)
            if started is not None:
                started.status, started.started_at = "running", float(event["t"])
                started.ended_at = None
        elif kind == "step_finished":
            ended = self._row(int(event["index"]))
            if ended is not None:
                ended.status, ended.ended_at = status_of(str(event["outcome"])), float(event["t"])
                ended.reason, ended.left_s = str(event.get("details", {}).get("reason", "")), None
        elif kind == "run_finished":
            self.finish(str(event["outcome"]), float(event["t"]), str(event.get("reason", "")))

    def finish(self, outcome: str, t: float, reason: str = "") -> None:
        """The run ended: a step still running ends with the run's outcome, the steps not
        started are skipped."""
        for row in self.rows:
            if row.status == "running":
                row.status, row.ended_at = status_of(outcome), t
                row.reason = row.reason or ("" if outcome == "completed" else reason)
            elif row.status == "pending":
                row.status = "skipped" if outcome != "completed" else row.status
            row.left_s = None

    def _row(self, index: int) -> StepRow | None:
        return self.rows[index] if 0 <= index < len(self.rows) else None

    def estimate(self, current_left_s: float | None) -> None:
        """Set each running and pending step's `left_s` (to its end, from now).

        `current_left_s`: the service's time left in the running step's process; None when
        it has none (its process has not begun: a prompt before it), and the step's whole
        planned duration stands in then, as the operator's wait is not counted. A step of
        unknown length leaves the later ETAs unknown."""
        total: float | None = 0.0
        for row in self.rows:
            if row.status == "running":
                left = current_left_s if current_left_s is not None else row.planned_s
            elif row.status == "pending":
                left = row.planned_s
            else:
                row.left_s = None
                continue
            total = None if total is None or left is None else total + left
            row.left_s = total

    def eta_left_s(self) -> float | None:
        """Seconds to the job's end (the last running or pending step's), None when
        unknown or nothing is left."""
        open_rows = [r for r in self.rows if r.status in ("running", "pending")]
        return open_rows[-1].left_s if open_rows else None

    def to_list(self) -> list[dict[str, Any]]:
        """The "status" form: one dict per step, in job order."""
        return [asdict(r) for r in self.rows]

    @classmethod
    def from_list(cls, data: Any) -> JobSteps:
        """Rows from their "status" form (anything else: no rows)."""
        rows = data if isinstance(data, list) else []
        return cls([StepRow.from_dict(r) for r in rows if isinstance(r, dict)])
