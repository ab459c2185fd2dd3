"""Plain-text lines of the job view: a run's steps in order with device, status, start and
end time of day, planned duration, and the ETA (time of day, time left) of the current
and each pending step, plus the job's. Shared by the TUI's job view (j) and
`kilnctl status --steps`; no widgets here.

At 80 columns (74 characters):

     # step               device  status  start   end  planned    ETA     left
     1 coat 1 (counter +… kiln1   done    13:13 13:51  0:37:00
     3 coat 2 (colour)    kiln1   running 13:53        0:25:00  14:14 ~0:01:35
     4 coat 3 (final)     kiln1   pending              0:24:00  14:38 ~0:25:35

"~" marks an estimate; "≥" a lower bound (the running firing's kiln is behind its ramp).
From WIDE on, the device column is wider and the recipe (a firing's top temperature in
the display unit) follows; below NARROW the start and end columns are left out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from kilnctl.report import format_duration
from kilnctl.service.jobsteps import JobSteps, StepRow
from kilnctl.service.runview import RunView
from kilnctl.tui.format import Display, _kiln_behind, source_line

WIDE = 100
"""From this width on (120-column terminals): wider device column and the recipe."""

NARROW = 70
"""Below this width (a terminal under 72 columns) the start and end columns are left out."""

NOTE = "ETAs count no operator waits (prompts)"

Line = tuple[str, str]
"""A line and its style class: a step's status, or "head" / "note"."""


def clock_time(t: float | None) -> str:
    """Local time of day "HH:MM" of a service (unix) time, "" when unknown."""
    return "" if t is None else time.strftime("%H:%M", time.localtime(t))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


@dataclass(frozen=True)
class _Layout:
    """Column widths for lines of a given width."""

    label: int
    unit: int
    recipe: int
    """0: no recipe column (below WIDE)."""
    times: bool
    """Start and end columns (dropped below NARROW so ETA and time left stay)."""

    @classmethod
    def of(cls, width: int) -> _Layout:
        unit = 12 if width >= WIDE else 7
        times = width >= NARROW
        # "#", device, status, [start, end,] planned, ETA, left, and a space after each
        fixed = 3 + unit + 1 + 8 + (12 if times else 0) + 9 + 7 + 8
        label = max(8, width - fixed - 1)
        if width < WIDE:
            return cls(label, unit, 0, times)
        label = min(28, label)
        return cls(label, unit, max(0, width - fixed - label - 3), times)

    def line(self, cells: dict[str, str]) -> str:
        """One line of the cells: index, label, unit, status, start, end, planned, eta,
        left, recipe."""
        line = (
            f"{cells['index']:>2} {_cut(cells['label'], self.label):<{self.label}} "
            f"{_cut(cells['unit'], self.unit):<{self.unit}} {cells['status']:<7} "
        )
        if self.times:
            line += f"{cells['start']:>5} {cells['end']:>5} "
        line += f"{cells['planned']:>8} {cells['eta']:>6} {cells['left']:>8}"
        if self.recipe:
            line += f"  {_cut(cells['recipe'], self.recipe)}"
        return line.rstrip()


HEADER = {
    "index": "#", "label": "step", "unit": "device", "status": "status", "start": "start",
    "end": "end", "planned": "planned", "eta": "ETA", "left": "left", "recipe": "recipe",
}  # fmt: skip


def _cells(
    row: StepRow, d: Display, status_at: float | None, gone_s: float, mark: str
) -> dict[str, str]:
    eta, left = "", ""
    if row.left_s is not None and status_at is not None:
        eta = clock_time(status_at + row.left_s)
        eta = eta if mark == "~" else mark + eta
        left = mark + format_duration(max(0.0, row.left_s - gone_s))
    elif row.status in ("running", "pending"):
        eta, left = "?", "?"
    return {
        "index": str(row.index + 1),
        "label": row.label,
        "unit": row.unit or "-",
        "status": row.status,
        "start": clock_time(row.started_at) if row.status != "pending" else "",
        "end": clock_time(row.ended_at) if row.status not in ("running", "pending") else "",
        "planned": "operator" if row.kind == "prompt" else format_duration(row.planned_s),
        "eta": eta,
        "left": left,
        "recipe": row.recipe + (f" ≤{d.temp(row.top_c, 0, 0)}" if row.top_c is not None else ""),
    }


def _estimate_mark(run: dict[str, Any], steps: JobSteps, d: Display) -> str:
    """ "~" before an estimate, or "≥" while the running firing's kiln is not keeping up
    with its ramp: the schedule's time left assumes it does (as the run panel says), so
    that step's end and every later one are lower bounds. Only live readings count (a
    previous firing's last one must not make a firing not begun look behind)."""
    running = next((r for r in steps.rows if r.status == "running"), None)
    if running is None or running.kind != "firing" or not run.get("run_id"):
        return "~"
    view = RunView.from_dict(run)
    view.samples = {
        source: values
        for source, values in view.samples.items()
        if (age := d.age_s(values)) is not None and not d.is_stale(age)
    }
    return "~" if _kiln_behind(view) is None else "≥"


def job_summary(run: dict[str, Any], steps: JobSteps, d: Display, gone_s: float) -> str:
    """The job's line: ETA and time left, or how it ended."""
    status_at = run.get("time")
    ended = run.get("outcome")
    if ended:
        last = max((r.ended_at for r in steps.rows if r.ended_at is not None), default=None)
        reason = f": {run['reason']}" if run.get("reason") else ""
        return f"job {ended} at {clock_time(last)}{reason}"
    done = sum(r.status == "done" for r in steps.rows)
    where = f"{done} of {len(steps.rows)} steps done"
    left = steps.eta_left_s()
    if left is None or not isinstance(status_at, int | float):
        return f"{where}; job ETA unknown"
    remaining = format_duration(max(0.0, left - gone_s))
    mark = _estimate_mark(run, steps, d)
    at = clock_time(status_at + left)
    return f"{where}; job ETA {'' if mark == '~' else mark}{at} (in {mark}{remaining})"


def job_lines(run: dict[str, Any], d: Display, width: int = 74, gone_s: float = 0.0) -> list[Line]:
    """The job view of one run: `run` is a run in its "status" form (job, lot, state,
    steps, and "outcome" once it ended) with "time" (the reply's service time);
    `gone_s`: service seconds since that status (time left counts down by it, not while
    paused). Lines are cut to `width`."""
    steps = JobSteps.from_list(run.get("steps"))
    paused = run.get("state") in ("paused", "held") or not d.live
    gone = 0.0 if paused or run.get("outcome") else max(0.0, gone_s)
    state = str(run.get("outcome") or run.get("state") or "").upper()
    state = f"[{state}]" if d.live or run.get("outcome") else f"[{state.lower()}?]"
    head = f"{run.get('job', '')}  lot {run.get('lot') or '-'}  {state}"
    lines: list[Line] = [
        (_cut(head, width), "head"),
        (_cut(job_summary(run, steps, d, gone), width), "head"),
    ]
    if not steps.rows:
        lines.append((_cut("no step list from the service (an older service?)", width), "note"))
        return lines
    layout = _Layout.of(width)
    lines.append((_cut(layout.line(HEADER), width), "columns"))
    status_at = run.get("time") if isinstance(run.get("time"), int | float) else None
    mark = _estimate_mark(run, steps, d)
    for row in steps.rows:
        cells = _cells(row, d, status_at, gone, mark)
        lines.append((_cut(layout.line(cells), width), row.status))
    lines += _live(run, steps, d, width)
    for row in steps.rows:
        if row.reason and row.reason != run.get("reason"):  # the run's is in the summary
            lines.append((_cut(f"step {row.index + 1} {row.status}: {row.reason}", width), "note"))
    lines.append((_cut(NOTE, width), "note"))
    return lines


def _live(run: dict[str, Any], steps: JobSteps, d: Display, width: int) -> list[Line]:
    """The running step's kiln or tanks now (the run panel's line for each, in the display
    unit, with its age when old), so the view never hides the live values."""
    running = next((r for r in steps.rows if r.status == "running"), None)
    samples = run.get("samples")
    if running is None or not isinstance(samples, dict) or not run.get("run_id"):
        return []
    view = RunView.from_dict(run)
    lines: list[Line] = []
    for unit in running.unit.split(", "):
        if isinstance(samples.get(unit), dict):
            text, stale = source_line(view, unit, samples[unit], d)
            lines.append((_cut(f"now {text}", width), "note" if stale else "live"))
    return lines


def job_text(run: dict[str, Any], d: Display | None = None, width: int = 74) -> str:
    """The job view as plain text (`kilnctl status --steps`)."""
    return "\n".join(text for text, _ in job_lines(run, d or Display(), width))
