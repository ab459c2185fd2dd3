"""The batch record of one run (ISA-88 style), built from the journal, and its renderings.

`build_batch_record()` gathers what the journal holds about a run: which recipe versions
ran (content hashes), every step with start/end and what happened, setpoints, a summary of
the readings, deviations, alarms (raised/acknowledged/cleared), operator actions, prompts
and answers, and QC results. Renderers turn it into Markdown, HTML (with an inline SVG
chart), JSON (everything, samples included) or CSV (samples). `assess_qc()` turns the QC
figures entered at the end of a lot into the "qc" event the record shows.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from kilnctl.chart import Marker, svg_chart
from kilnctl.journal import Event, Journal, RunInfo, Sample
from kilnctl.run_state import simulated_text

# ASTM B568 (XRF coating thickness): at least this many readings per sample.
MIN_XRF_READINGS = 5


# --------------------------------------------------------------------------- QC


@dataclass(frozen=True)
class ThicknessSpec:
    """What the XRF thickness readings of a lot are judged against: the recipe's tolerance
    band of its plated layer (and the target it plated to, when it ended by thickness)."""

    step: str
    tolerance_um: tuple[float, float]
    target_um: float | None = None

    def text(self) -> str:
        """e.g. "bright nickel 3-8 µm (target 5 µm)"."""
        lo, hi = self.tolerance_um
        target = f" (target {self.target_um:g} µm)" if self.target_um is not None else ""
        return f"{self.step} {lo:g}-{hi:g} µm{target}"


def thickness_spec(events: Iterable[Event]) -> ThicknessSpec | None:
    """The tolerance of the last plated layer of a run that has one, from its journaled
    plating steps (the recipe as it ran; engine.plating records the band); None: none."""
    spec = None
    for e in events:
        band = e.data.get("details", {}).get("thickness_tolerance_um")
        if e.kind == "plating_step_finished" and band:
            target = e.data["details"].get("target_thickness_um")
            spec = ThicknessSpec(str(e.data.get("label", "")), (band[0], band[1]), target)
    return spec


def assess_qc(
    *,
    thickness_um: Sequence[float],
    adhesion: str,
    visual_defects: int,
    sample_size: int,
    notes: str = "",
    who: str = "",
    spec: ThicknessSpec | None = None,
) -> dict[str, Any]:
    """The "qc" event data for one inspected sample: figures, warnings and the verdict.

    Adhesion is pass/fail per ASTM B571 and one failure fails the lot; fewer than
    MIN_XRF_READINGS thickness readings is a warning (ASTM B568), not a failure. Each
    thickness reading (µm) must lie in the recipe's tolerance band (`spec`): one outside
    fails the sample; with no band the thickness is recorded, not judged (a warning).
    """
    if adhesion not in ("pass", "fail"):
        raise ValueError(f"adhesion must be pass or fail, got {adhesion!r}")
    if sample_size < 1:
        raise ValueError(f"sample size must be >= 1, got {sample_size}")
    if not 0 <= visual_defects <= sample_size:
        raise ValueError(f"visual defects must be 0..{sample_size}, got {visual_defects}")
    if any(not math.isfinite(x) or x < 0 for x in thickness_um):
        raise ValueError("thickness readings must be finite and >= 0 µm")
    warnings = []
    if len(thickness_um) < MIN_XRF_READINGS:
        warnings.append(
            f"only {len(thickness_um)} thickness readings; ASTM B568 asks for at least "
            f"{MIN_XRF_READINGS} per sample"
        )
    data: dict[str, Any] = {
        "thickness_um": list(thickness_um),
        "adhesion": adhesion,
        "visual_defects": visual_defects,
        "sample_size": sample_size,
        "notes": notes,
        "who": who,
        "warnings": warnings,
        "verdict": "fail" if adhesion == "fail" else "pass",
    }
    if thickness_um:
        data["thickness_mean_um"] = sum(thickness_um) / len(thickness_um)
        data["thickness_min_um"] = min(thickness_um)
        data["thickness_max_um"] = max(thickness_um)
        data.update(_judge_thickness(thickness_um, spec, warnings))
        if data["thickness_verdict"] == "fail":
            data["verdict"] = "fail"
    return data


def _judge_thickness(
    thickness_um: Sequence[float], spec: ThicknessSpec | None, warnings: list[str]
) -> dict[str, Any]:
    """The thickness verdict fields of a "qc" event (pass, fail or "not judged")."""
    if spec is None:
        warnings.append(
            "the recipe gives no thickness_tolerance for the plated layer: the thickness "
            "is recorded, not judged"
        )
        return {"thickness_verdict": "not judged"}
    lo, hi = spec.tolerance_um
    outside = [x for x in thickness_um if not lo <= x <= hi]
    return {
        "thickness_spec": {
            "step": spec.step,
            "tolerance_um": [lo, hi],
            "target_um": spec.target_um,
        },
        "thickness_outside_um": outside,
        "thickness_verdict": "fail" if outside else "pass",
    }


def thickness_text(q: dict[str, Any]) -> str:
    """The thickness judgement of a "qc" event in words ("" when it had no readings)."""
    verdict = q.get("thickness_verdict")
    spec = q.get("thickness_spec")
    if verdict is None or spec is None:
        return "" if verdict is None else f"thickness {verdict}"
    lo, hi = spec["tolerance_um"]
    against = ThicknessSpec(spec["step"], (lo, hi), spec.get("target_um")).text()
    outside = q.get("thickness_outside_um") or []
    if not outside:
        return f"thickness pass against {against}"
    readings = ", ".join(f"{x:g}" for x in outside)
    return f"thickness FAIL against {against}: {readings} µm outside"


def lot_qc_verdict(qc_results: Iterable[dict[str, Any]]) -> str | None:
    """The lot's QC verdict: fail if any sample failed (one adhesion failure fails the
    lot), pass if all passed, None when no QC was entered."""
    verdicts = [r.get("verdict") for r in qc_results]
    if not verdicts:
        return None
    return "fail" if "fail" in verdicts else "pass"


# --------------------------------------------------------------------------- the record


@dataclass
class ValueSummary:
    """min / mean / max of one value of one source over a time window."""

    n: int = 0
    min: float = math.inf
    max: float = -math.inf
    total: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        self.min = min(self.min, x)
        self.max = max(self.max, x)
        self.total += x

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    def to_dict(self) -> dict[str, float | int]:
        return {"n": self.n, "min": self.min, "mean": self.mean, "max": self.max}


Readings = dict[str, dict[str, ValueSummary]]  # source -> value name -> summary


@dataclass
class StepRecord:
    """One job step: when it ran, how it ended, and the readings while it ran."""

    index: int
    label: str
    kind: str
    started_at: float
    finished_at: float | None = None
    outcome: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    readings: Readings = field(default_factory=dict)


@dataclass
class AlarmRecord:
    """One alarm occurrence from raise to clear."""

    alarm_id: str
    source: str
    code: str
    severity: str
    action: str
    message: str
    raised_at: float
    acked_at: float | None = None
    acked_by: str | None = None
    cleared_at: float | None = None


@dataclass
class PromptRecord:
    """A question put to the operator and the answer given."""

    prompt_id: str
    text: str
    raised_at: float
    answer: str | None = None
    answered_by: str | None = None
    answered_at: float | None = None


@dataclass
class BatchRecord:
    """Everything the journal knows about one run, shaped for the report."""

    run: RunInfo
    steps: list[StepRecord]
    readings: Readings
    setpoints: list[dict[str, Any]]
    deviations: list[dict[str, Any]]
    alarms: list[AlarmRecord]
    operator_actions: list[dict[str, Any]]
    prompts: list[PromptRecord]
    qc: list[dict[str, Any]]
    notices: list[dict[str, Any]]
    events: list[Event]
    samples: list[Sample]

    @property
    def duration_s(self) -> float | None:
        if self.run.finished_at is None:
            return None
        return self.run.finished_at - self.run.started_at

    @property
    def qc_verdict(self) -> str | None:
        return lot_qc_verdict(self.qc)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the run, every section, every event and every sample."""

        def readings(r: Readings) -> dict[str, Any]:
            return {src: {k: s.to_dict() for k, s in vals.items()} for src, vals in r.items()}

        return {
            "run": asdict(self.run)
            | {
                "duration_s": self.duration_s,
                "reason": run_reason(self),
                "simulated": simulated_text(self.run.meta) or None,
            },
            "recipes": [{"name": n, "hash": h} for n, h in self.run.recipe_hashes.items()],
            "steps": [asdict(s) | {"readings": readings(s.readings)} for s in self.steps],
            "readings": readings(self.readings),
            "setpoints": self.setpoints,
            "deviations": self.deviations,
            "alarms": [asdict(a) for a in self.alarms],
            "operator_actions": self.operator_actions,
            "prompts": [asdict(p) for p in self.prompts],
            "qc": self.qc,
            "qc_verdict": self.qc_verdict,
            "notices": self.notices,
            "events": [asdict(e) for e in self.events],
            "samples": [asdict(s) for s in self.samples],
        }


def _summarise(samples: Iterable[Sample]) -> Readings:
    out: Readings = {}
    for sample in samples:
        per_source = out.setdefault(sample.source, {})
        for key, value in sample.values.items():
            if isinstance(value, int | float) and math.isfinite(value):
                per_source.setdefault(key, ValueSummary()).add(float(value))
    return out


def _with_t(event: Event) -> dict[str, Any]:
    return {"t": event.t, **event.data}


# Operator commands that change what the master recipe said would happen.
RECIPE_CHANGING_ACTIONS = frozenset({"skip", "extend", "abort"})


def _deviations(
    recorded: list[dict[str, Any]], alarms: list[AlarmRecord], operator: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every departure from the recipe, by time: deviations the engine recorded, alarms,
    and operator commands that changed the schedule (skip, extend, abort)."""
    found = [{"origin": "deviation", **d} for d in recorded]
    found += [
        {
            "origin": "alarm",
            "t": a.raised_at,
            "code": a.code,
            "source": a.source,
            "message": a.message,
        }
        for a in alarms
    ]
    found += [
        {"origin": "operator", **o} for o in operator if o.get("action") in RECIPE_CHANGING_ACTIONS
    ]
    return sorted(found, key=lambda d: float(d["t"]))


def build_batch_record(journal: Journal, run_id: str) -> BatchRecord:
    """Gather the batch record of `run_id` (JournalError if the journal has no such run)."""
    run = journal.run(run_id)
    events = list(journal.events(run_id))
    samples = list(journal.samples(run_id))
    steps: list[StepRecord] = []
    open_steps: dict[Any, StepRecord] = {}
    alarms: list[AlarmRecord] = []
    open_alarms: dict[str, AlarmRecord] = {}
    prompts: dict[str, PromptRecord] = {}
    sections: dict[str, list[dict[str, Any]]] = {
        "setpoint": [],
        "deviation": [],
        "operator": [],
        "qc": [],
        "notice": [],
    }
    for event in events:
        d = event.data
        if event.kind == "step_started":
            step = StepRecord(
                index=int(d.get("index", len(steps))),
                label=str(d.get("label", "")),
                kind=str(d.get("step_kind", "")),
                started_at=event.t,
            )
            steps.append(step)
            open_steps[step.index] = step
        elif event.kind == "step_finished" and d.get("index") in open_steps:
            step = open_steps.pop(d["index"])
            step.finished_at = event.t
            step.outcome = d.get("outcome")
            step.details = dict(d.get("details") or {})
        elif event.kind == "alarm_raised":
            alarm = AlarmRecord(
                alarm_id=str(d.get("alarm_id", "")),
                source=str(d.get("source", "")),
                code=str(d.get("code", "")),
                severity=str(d.get("severity", "")),
                action=str(d.get("action", "")),
                message=str(d.get("message", "")),
                raised_at=event.t,
            )
            alarms.append(alarm)
            open_alarms[alarm.alarm_id] = alarm
        elif event.kind == "alarm_ack" and d.get("alarm_id") in open_alarms:
            alarm = open_alarms[d["alarm_id"]]
            alarm.acked_at, alarm.acked_by = event.t, d.get("who")
        elif event.kind == "alarm_cleared" and d.get("alarm_id") in open_alarms:
            open_alarms.pop(d["alarm_id"]).cleared_at = event.t
        elif event.kind == "prompt":
            pid = str(d.get("prompt_id", len(prompts)))
            prompts[pid] = PromptRecord(pid, str(d.get("text", "")), event.t)
        elif event.kind == "prompt_answer" and str(d.get("prompt_id")) in prompts:
            prompt = prompts[str(d["prompt_id"])]
            prompt.answer, prompt.answered_by = d.get("answer"), d.get("who")
            prompt.answered_at = event.t
        elif event.kind in sections:
            sections[event.kind].append(_with_t(event))
        elif event.kind == "segment":
            sections["setpoint"].append(_with_t(event))
    for step in steps:
        # Half-open windows: a sample at the instant one step ends and the next starts
        # belongs to the next step only.
        end = step.finished_at if step.finished_at is not None else math.inf
        step.readings = _summarise(s for s in samples if step.started_at <= s.t < end)
    return BatchRecord(
        run=run,
        steps=steps,
        readings=_summarise(samples),
        setpoints=sections["setpoint"],
        deviations=_deviations(sections["deviation"], alarms, sections["operator"]),
        alarms=alarms,
        operator_actions=sections["operator"],
        prompts=list(prompts.values()),
        qc=sections["qc"],
        notices=sections["notice"],
        events=events,
        samples=samples,
    )


# --------------------------------------------------------------------------- formatting


def format_time(t: float | None) -> str:
    """Unix time -> "2026-11-26 01:23:45Z" (UTC), or "-"."""
    if t is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(t))


def format_duration(seconds: float | None) -> str:
    """Seconds -> "h:mm:ss", or "-"."""
    if seconds is None:
        return "-"
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _num(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else "-"


def _cell(value: Any) -> str:
    return _num(value) if isinstance(value, float) else str(value)


def _sub_steps(value: Any) -> list[dict[str, Any]] | None:
    """A detail that is a list of records (a plating recipe's steps) gets its own table."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return value
    return None


def _details(data: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}=({len(v)} steps, table below)" if (v := _sub_steps(val)) else f"{k}={_cell(val)}"
        for k, val in data.items()
    )


def _sub_step_tables(record: BatchRecord) -> list[Table]:
    tables = []
    for step in record.steps:
        for key, value in step.details.items():
            rows = _sub_steps(value)
            if rows is None:
                continue
            headers = list(dict.fromkeys(k for row in rows for k in row))
            tables.append(
                Table(
                    f"{key.capitalize()} of step {step.index}: {step.label}",
                    tuple(headers),
                    [tuple(_cell(row.get(h, "")) for h in headers) for row in rows],
                )
            )
    return tables


@dataclass(frozen=True)
class Table:
    """A titled table: the one shape every text section of the report takes."""

    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    empty: str = "none"


def _meta_text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_cell(v)}" for k, v in value.items())
    return _cell(value)


def _readings_rows(readings: Readings) -> list[tuple[str, ...]]:
    return [
        (source, key, _num(s.min), _num(s.mean), _num(s.max), str(s.n))
        for source, values in sorted(readings.items())
        for key, s in sorted(values.items())
    ]


def report_tables(record: BatchRecord) -> list[Table]:
    """The report's sections in order, as tables (Markdown and HTML render the same)."""
    run, rel = record.run, record.run.started_at

    def at(t: float | None) -> str:
        return "-" if t is None else f"{format_time(t)} (+{format_duration(t - rel)})"

    qc_verdict = record.qc_verdict or "not entered"
    tables = [
        Table(
            "Run",
            ("field", "value"),
            [
                ("outcome", outcome_text(record)),
                ("clock", simulated_text(run.meta) or "real time"),
                ("run", run.run_id),
                ("job", run.job_name),
                ("lot", run.lot_id),
                ("started", format_time(run.started_at)),
                ("finished", format_time(run.finished_at)),
                ("duration", format_duration(record.duration_s)),
                ("QC verdict", qc_verdict),
                # meta "lot" holds the lot's material/size; the row above is its id
                *(
                    (f"{k} details" if k == "lot" else k, _meta_text(v))
                    for k, v in sorted(run.meta.items())
                    if v is not None and k not in RUN_ORIGIN_KEYS and k != "defaults"
                ),
            ],
        ),
        Table(
            "Recipes (control recipe versions)",
            ("recipe", "content hash"),
            [(n, h) for n, h in sorted(run.recipe_hashes.items())],
        ),
        # values the recipes left out whose defaults shaped the run (e.g. a bath's cathode
        # efficiency behind a thickness target), recorded by the engine at the start
        Table(
            "Defaults used",
            ("default", "value and source"),
            [tuple(str(d).split(" = ", 1)) for d in run.meta.get("defaults") or []],
        ),
        Table(
            "Steps",
            ("#", "step", "kind", "start", "end", "outcome", "details"),
            [
                (
                    str(s.index),
                    s.label,
                    s.kind,
                    at(s.started_at),
                    at(s.finished_at),
                    s.outcome or "-",
                    _details(s.details),
                )
                for s in record.steps
            ],
        ),
    ]
    tables += _sub_step_tables(record)
    for step in record.steps:
        tables.append(
            Table(
                f"Readings during step {step.index}: {step.label}",
                ("source", "value", "min", "mean", "max", "n"),
                _readings_rows(step.readings),
                empty="no samples",
            )
        )
    tables += [
        Table(
            "Readings (whole run)",
            ("source", "value", "min", "mean", "max", "n"),
            _readings_rows(record.readings),
            empty="no samples",
        ),
        Table(
            "Setpoints and segments",
            ("time", "details"),
            [
                (at(e["t"]), _details({k: v for k, v in e.items() if k != "t"}))
                for e in record.setpoints
            ],
        ),
        Table(
            "Deviations (recorded, alarms, schedule changes)",
            ("time", "origin", "details"),
            [
                (
                    at(e["t"]),
                    e["origin"],
                    _details({k: v for k, v in e.items() if k not in ("t", "origin")}),
                )
                for e in record.deviations
            ],
        ),
        Table(
            "Alarms",
            ("alarm", "source", "severity", "action", "message", "raised", "ack", "cleared"),
            [
                (
                    a.code or a.alarm_id,
                    a.source,
                    a.severity,
                    a.action,
                    a.message,
                    at(a.raised_at),
                    "-" if a.acked_at is None else f"{at(a.acked_at)} by {a.acked_by}",
                    at(a.cleared_at),
                )
                for a in record.alarms
            ],
        ),
        Table(
            "Operator actions",
            ("time", "who", "action", "detail"),
            [
                (
                    at(e["t"]),
                    str(e.get("who", "")),
                    str(e.get("action", "")),
                    str(e.get("detail", "")),
                )
                for e in record.operator_actions
            ],
        ),
        Table(
            "Prompts",
            ("prompt", "asked", "answer", "by", "answered"),
            [
                (p.text, at(p.raised_at), p.answer or "-", p.answered_by or "-", at(p.answered_at))
                for p in record.prompts
            ],
        ),
        Table(
            f"QC results (lot verdict: {qc_verdict})",
            (
                "entered",
                "thickness µm (n, mean, min-max)",
                "adhesion",
                "visual defects",
                "verdict",
                "by",
                "notes / warnings",
            ),
            [_qc_row(q, at, bool(simulated_text(run.meta))) for q in record.qc],
            empty="not entered",
        ),
        Table(
            "Notices",
            ("time", "details"),
            [
                (at(e["t"]), _details({k: v for k, v in e.items() if k != "t"}))
                for e in record.notices
            ],
        ),
    ]
    return tables


def chart_markers(record: BatchRecord) -> list[Marker]:
    """Step starts and alarms of the run, to mark on its chart."""
    steps: list[Marker] = [(s.started_at, "step", s.label) for s in record.steps]
    alarms: list[Marker] = [(a.raised_at, "alarm", a.code or a.message) for a in record.alarms]
    return sorted(steps + alarms)


RUN_ORIGIN_KEYS = frozenset({"pid", "host", "simulated"})
"""Run meta about the process that ran it (engine.run_origin): shown as the clock row."""


def run_reason(record: BatchRecord) -> str:
    """Why the run ended, from its run_finished event ("" when none or completed)."""
    for event in reversed(record.events):
        if event.kind == "run_finished":
            return str(event.data.get("reason") or "")
    return ""


def outcome_text(record: BatchRecord) -> str:
    """e.g. "aborted: operator abort at the TUI (tui)", "completed", "unfinished"."""
    reason = run_reason(record)
    return (record.run.outcome or "unfinished") + (f": {reason}" if reason else "")


def _qc_row(
    q: dict[str, Any], at: Callable[[float | None], str], simulated: bool = False
) -> tuple[str, ...]:
    """One QC entry. On a simulated run the offset from the start means nothing: the real
    time it was entered is shown instead."""
    readings = q.get("thickness_um") or []
    thickness = (
        f"{len(readings)}, {q['thickness_mean_um']:.2f}, "
        f"{q['thickness_min_um']:.2f}-{q['thickness_max_um']:.2f}"
        if readings
        else "none"
    )
    if judged := thickness_text(q):
        thickness += f"; {judged}"
    notes = "; ".join([q.get("notes", ""), *q.get("warnings", [])]).strip("; ")
    entered = q.get("entered_at")
    when = (
        f"{format_time(entered)} (real time)"
        if simulated and isinstance(entered, int | float)
        else at(q["t"])
    )
    return (
        when,
        thickness,
        str(q.get("adhesion", "-")),
        f"{q.get('visual_defects', '-')} of {q.get('sample_size', '-')}",
        str(q.get("verdict", "-")),
        str(q.get("who", "")),
        notes,
    )


# --------------------------------------------------------------------------- renderers


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or " "


def render_markdown(record: BatchRecord, chart_link: str | None) -> str:
    """The batch record as Markdown; `chart_link` is the SVG file written beside it."""
    lines = [f"# Batch record: {record.run.job_name}, lot {record.run.lot_id}", ""]
    lines += [f"**Outcome: {outcome_text(record)}**", ""]
    if simulated_text(record.run.meta):
        lines += [f"**Simulated run** ({simulated_text(record.run.meta)}): times are the "
                  "simulated clock's.", ""]  # fmt: skip
    if chart_link:
        lines += [f"![temperatures and currents]({chart_link})", ""]
    elif record.samples:
        lines += ["(chart: write the report to a file with --out to get the SVG beside it)", ""]
    for table in report_tables(record):
        lines += [f"## {table.title}", ""]
        if not table.rows:
            lines += [f"_{table.empty}_", ""]
            continue
        lines.append("| " + " | ".join(table.headers) + " |")
        lines.append("|" + "---|" * len(table.headers))
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
        lines.append("")
    return "\n".join(lines)


_HTML_STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "th,td{border:1px solid #bbb;padding:3px 8px;text-align:left;font-size:13px}"
    "th{background:#eee}"
)


def render_html(record: BatchRecord) -> str:
    """The batch record as one self-contained HTML page with an inline SVG chart."""
    e = html.escape
    title = f"Batch record: {record.run.job_name}, lot {record.run.lot_id}"
    body = [f"<h1>{e(title)}</h1>", f"<p><strong>Outcome: {e(outcome_text(record))}</strong></p>"]
    if simulated_text(record.run.meta):
        body.append(f"<p><strong>Simulated run</strong> ({e(simulated_text(record.run.meta))}): "
                    "times are the simulated clock's.</p>")  # fmt: skip
    chart = svg_chart(record.samples, record.run.started_at, markers=chart_markers(record))
    if chart:
        body.append(f"<figure>{chart}</figure>")
    for table in report_tables(record):
        body.append(f"<h2>{e(table.title)}</h2>")
        if not table.rows:
            body.append(f"<p><em>{e(table.empty)}</em></p>")
            continue
        head = "".join(f"<th>{e(h)}</th>" for h in table.headers)
        rows = "".join(
            "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in table.rows
        )
        body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{e(title)}'
        f"</title><style>{_HTML_STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def render_json(record: BatchRecord) -> str:
    """Everything in the record, samples and events included."""
    # NaN/inf are not JSON: written as null so any parser can read the file.
    return json.dumps(_finite(record.to_dict()), indent=2, default=str) + "\n"


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


# Units of the sample values, for headers that say them.
VALUE_UNITS = {
    "pv_c": "°C",
    "sp_c": "°C",
    "out_pct": "%",
    "volts": "V",
    "amps": "A",
    "amps_sp": "A",
    "amp_hours": "Ah",
    "bath_c": "°C",
}


def render_csv(record: BatchRecord, *, units: bool = False) -> str:
    """The run's samples, one row per sample, one column per value name; with `units`,
    each header says its unit (`pv_c [°C]`, `t [s]`)."""
    keys = sorted({k for s in record.samples for k in s.values})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["run_id", "source", "seq", "t", "time_utc", "elapsed_s", *keys]
    if units:
        unit = {"t": "s", "elapsed_s": "s", **VALUE_UNITS}
        header = [f"{h} [{unit[h]}]" if h in unit else h for h in header]
    writer.writerow(header)
    for s in record.samples:
        writer.writerow(
            [
                record.run.run_id,
                s.source,
                s.seq,
                f"{s.t:.3f}",
                format_time(s.t),
                f"{s.t - record.run.started_at:.3f}",
                *(s.values.get(k, "") for k in keys),
            ]
        )
    return out.getvalue()
