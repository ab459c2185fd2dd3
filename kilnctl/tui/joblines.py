"""Plain-text lines of the job view: a run's steps in order with device, status, start and
end time of day, planned duration, and the ETA (time of day, time left) of the current
and each pending step, plus the job's. Shared by the TUI's job view (j) and
`kilnctl status --steps`; no widgets here.

At 80 columns (74 characters):

     # step                 device  status  start   end  planned   ETA     left
     1 coat 1 (base)        kiln1   done    07:15 07:52  0:37:00
     2 coat 2 (colour)      kiln1   running 07:52        0:40:00 08:34  0:12:00

From WIDE on, the device column is wider and the recipe (a firing's top temperature in
the display unit) follows.
"""

from __future__ import annotations

import time
from typing import Any

from kilnctl.report import format_duration
from kilnctl.service.jobsteps import JobSteps, StepRow
from kilnctl.tui.format import Display

WIDE = 100
"""From this width on (120-column terminals): wider device column and the recipe."""

NOTE = "ETAs count no operator waits (prompts)"

Line = tuple[str, str]
"""A line and its style class: a step's status, or "head" / "note"."""


def clock_time(t: float | None) -> str:
    """Local time of day "HH:MM" of a service (unix) time, "" when unknown."""
    return "" if t is None else time.strftime("%H:%M", time.localtime(t))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _columns(width: int) -> tuple[int, int, int]:
    """(step label, device, recipe) widths for a line of `width` characters."""
    unit = 12 if width >= WIDE else 7
    fixed = 2 + 1 + unit + 1 + 7 + 1 + 5 + 1 + 5 + 1 + 8 + 1 + 5 + 1 + 8
    label = max(8, min(28, width - fixed - 1)) if width >= WIDE else max(8, width - fixed - 1)
    recipe = max(0, width - fixed - label - 3) if width >= WIDE else 0
    return label, unit, recipe


def _row_line(
    row: StepRow, d: Display, status_at: float | None, gone_s: float, cols: tuple[int, int, int]
) -> str:
    label_w, unit_w, recipe_w = cols
    start = clock_time(row.started_at) if row.status != "pending" else ""
    end = clock_time(row.ended_at) if row.status not in ("running", "pending") else ""
    planned = "operator" if row.kind == "prompt" else format_duration(row.planned_s)
    eta, left = "", ""
    if row.left_s is not None and status_at is not None:
        eta = clock_time(status_at + row.left_s)
        left = "~" + format_duration(max(0.0, row.left_s - gone_s))
    elif row.status in ("running", "pending"):
        eta, left = "?", "?"
    line = (
        f"{row.index + 1:>2} {_cut(row.label, label_w):<{label_w}} "
        f"{_cut(row.unit or '-', unit_w):<{unit_w}} {row.status:<7} {start:>5} {end:>5} "
        f"{planned:>8} {eta:>5} {left:>8}"
    )
    if recipe_w:
        what = row.recipe + (f" ≤{d.temp(row.top_c, 0, 0)}" if row.top_c is not None else "")
        line += f"  {_cut(what, recipe_w)}"
    return line.rstrip()


def _header(width: int) -> str:
    label_w, unit_w, recipe_w = _columns(width)
    line = (
        f"{'#':>2} {'step':<{label_w}} {'device':<{unit_w}} {'status':<7} {'start':>5} "
        f"{'end':>5} {'planned':>8} {'ETA':>5} {'left':>8}"
    )
    return line + ("  recipe" if recipe_w else "")


def job_summary(run: dict[str, Any], steps: JobSteps, gone_s: float) -> str:
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
    return f"{where}; job ETA {clock_time(status_at + left)} (in ~{remaining})"


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
        (_cut(job_summary(run, steps, gone), width), "head"),
    ]
    if not steps.rows:
        lines.append(("no step list from the service (an older service?)", "note"))
        return lines
    cols = _columns(width)
    lines.append((_cut(_header(width), width), "columns"))
    status_at = run.get("time") if isinstance(run.get("time"), int | float) else None
    for row in steps.rows:
        lines.append((_cut(_row_line(row, d, status_at, gone, cols), width), row.status))
    for row in steps.rows:
        if row.reason and row.reason != run.get("reason"):  # the run's is in the summary
            lines.append((_cut(f"step {row.index + 1} {row.status}: {row.reason}", width), "note"))
    lines.append((NOTE, "note"))
    return lines


def job_text(run: dict[str, Any], d: Display | None = None, width: int = 74) -> str:
    """The job view as plain text (`kilnctl status --steps`)."""
    return "\n".join(text for text, _ in job_lines(run, d or Display(), width))
