"""`kilnctl runs`, `kilnctl report RUN` and `kilnctl qc RUN`: the journal's runs, the batch
record of one run, and QC results entered at the end of a lot."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from kilnctl.chart import svg_chart
from kilnctl.cli.main import UserError
from kilnctl.cli.plant_arg import plant_for
from kilnctl.journal import Journal, JournalError, RunInfo
from kilnctl.journal_location import default_journal_path, journal_for
from kilnctl.report import (
    assess_qc,
    build_batch_record,
    chart_markers,
    format_duration,
    format_time,
    render_csv,
    render_html,
    render_json,
    render_markdown,
    thickness_spec,
    thickness_text,
)
from kilnctl.run_state import run_state, simulated_text

FORMATS = {".md": "md", ".html": "html", ".htm": "html", ".json": "json", ".csv": "csv"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("runs", help="list the runs in the journal")
    add_journal_option(p)
    p.add_argument("--json", action="store_true", help="one JSON object per run")
    p.set_defaults(func=cmd_runs)

    p = subparsers.add_parser("report", help="the batch record of a run (md, html, json, csv)")
    add_journal_option(p)
    p.add_argument("run", help="run id, a unique prefix of one, or 'last'")
    p.add_argument(
        "--format",
        choices=("md", "html", "json", "csv"),
        help="default: from --out's suffix, else md",
    )
    p.add_argument("--out", help="write to FILE (Markdown: the chart goes beside it as .svg)")
    p.set_defaults(func=cmd_report)

    p = subparsers.add_parser("qc", help="record QC results of a lot (thickness, adhesion, ...)")
    add_journal_option(p)
    p.add_argument("run", help="run id, a unique prefix of one, or 'last'")
    p.add_argument(
        "--thickness-um",
        default=None,
        type=_floats,
        help="XRF readings of one sample, comma-separated, e.g. 5.1,5.0,4.9,5.2,5.0 "
        "(required for a run with plating, refused for one without)",
    )
    p.add_argument("--adhesion", required=True, choices=("pass", "fail"), help="ASTM B571")
    p.add_argument("--visual-defects", type=int, required=True, help="pins with defects")
    p.add_argument("--sample-size", type=int, required=True, help="pins inspected")
    p.add_argument("--notes", default="", help="free text")
    p.add_argument("--who", default="", help="inspector")
    p.set_defaults(func=cmd_qc)


def add_journal_option(parser: argparse.ArgumentParser) -> None:
    """--journal, shared by every command that reads the journal."""
    parser.add_argument(
        "--journal",
        help=f"journal file (default: the plant config's journal, else {default_journal_path()})",
    )


def journal_path(args: argparse.Namespace) -> Path:
    """--journal, else the plant config's journal path, else the per-user default."""
    if args.journal:
        return Path(args.journal)
    return journal_for(None, plant_for(args.config, optional=True), args.config)


def open_journal(args: argparse.Namespace) -> Journal:
    """The existing journal (never creates an empty one by accident)."""
    path = journal_path(args)
    if not path.is_file():
        raise UserError(f"no journal at {path} (give --journal FILE)")
    try:
        return Journal(path)
    except JournalError as exc:
        raise UserError(str(exc)) from None


def resolve_run(journal: Journal, ref: str) -> RunInfo:
    """A run by exact id, unique id prefix, or "last" (the last run recorded in the journal,
    Journal.runs)."""
    runs = journal.runs()
    if not runs:
        raise UserError(f"the journal {journal.path} holds no runs")
    if ref == "last":
        return runs[-1]
    matches = [r for r in runs if r.run_id == ref] or [r for r in runs if r.run_id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UserError(f"no run {ref!r} in {journal.path} (see `kilnctl runs`)")
    ids = ", ".join(r.run_id for r in matches[:5])
    raise UserError(f"run {ref!r} is ambiguous: {ids}{', ...' if len(matches) > 5 else ''}")


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give numbers separated by commas, e.g. 5.1,5.0,4.9"
        ) from None


def _service_runs() -> set[str]:
    """Run ids the service on the default socket is running now (empty: no service)."""
    from kilnctl.cli.cmd_control import ask, service_answers

    if not service_answers():
        return set()
    status = ask(argparse.Namespace(socket=None), "status")
    return {str(r["run_id"]) for r in status.get("runs", [])}


def cmd_runs(args: argparse.Namespace) -> int:
    with open_journal(args) as journal:
        runs = journal.runs()
        reasons = journal.finish_reasons()
        path = journal.path
    live = _service_runs() if any(r.outcome is None for r in runs) else set()
    if args.json:
        for r in runs:
            print(json.dumps(_run_row(r, reasons.get(r.run_id, ""), live)))
        return 0
    print(f"journal: {path}")
    if not runs:
        print("no runs")
        return 0
    header = ("RUN", "JOB", "LOT", "START (UTC)", "DURATION", "OUTCOME", "REASON")
    rows = [
        (
            r.run_id,
            r.job_name,
            r.lot_id,
            format_time(r.started_at) + (" (sim)" if simulated_text(r.meta) else ""),
            format_duration(None if r.finished_at is None else r.finished_at - r.started_at),
            run_state(r, live),
            reasons.get(r.run_id, "")
            or ("kilnctl resume " + r.run_id if run_state(r, live) == "crashed" else ""),
        )
        for r in runs
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if any(simulated_text(r.meta) for r in runs):
        print("(sim): stamped in simulated time, see the report")
    return 0


def _run_row(r: RunInfo, reason: str = "", live: set[str] | None = None) -> dict[str, Any]:
    duration = None if r.finished_at is None else r.finished_at - r.started_at
    return {
        "run_id": r.run_id,
        "job": r.job_name,
        "lot": r.lot_id,
        "started_at": r.started_at,
        "duration_s": duration,
        "outcome": r.outcome,
        "state": run_state(r, live or ()),
        "reason": reason,
        "simulated": simulated_text(r.meta) or None,
    }


def cmd_report(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else None
    fmt = args.format or (FORMATS.get(out.suffix.lower(), "md") if out else "md")
    with open_journal(args) as journal:
        run = resolve_run(journal, args.run)
        record = build_batch_record(journal, run.run_id)
    if fmt == "md":
        chart_link = None
        if out is not None:
            svg = svg_chart(record.samples, record.run.started_at, markers=chart_markers(record))
            if svg:
                chart_path = out.with_suffix(".svg")
                _write(chart_path, svg)
                chart_link = chart_path.name
        text = render_markdown(record, chart_link)
    elif fmt == "html":
        text = render_html(record)
    elif fmt == "json":
        text = render_json(record)
    else:
        text = render_csv(record)
    if out is None:
        sys.stdout.write(text)
    else:
        _write(out, text)
        print(f"wrote {out}", file=sys.stderr)
    return 0


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None


def _has_plating(journal: Journal, run_id: str) -> bool:
    """True when the run had a plating step (a plating thickness applies to its lot)."""
    return any(
        e.kind == "plating_step_started"
        or (e.kind == "step_started" and e.data.get("step_kind") == "plating")
        for e in journal.events(run_id)
    )


def _check_applies(journal: Journal, run: RunInfo, thickness: list[float] | None) -> None:
    """UserError for QC results that do not apply to the run."""
    plating = _has_plating(journal, run.run_id)
    if thickness and not plating:
        raise UserError(
            f"qc: run {run.run_id} ({run.job_name}) had no plating step: a plating "
            "thickness does not apply to it; leave out --thickness-um"
        )
    if plating and not thickness:
        raise UserError(
            f"qc: run {run.run_id} ({run.job_name}) plated the lot: give --thickness-um "
            "(XRF readings, e.g. 5.1,5.0,4.9,5.2,5.0)"
        )


def cmd_qc(args: argparse.Namespace) -> int:
    with open_journal(args) as journal:
        run = resolve_run(journal, args.run)
        try:
            data = assess_qc(
                thickness_um=args.thickness_um or [],
                adhesion=args.adhesion,
                visual_defects=args.visual_defects,
                sample_size=args.sample_size,
                notes=args.notes,
                who=args.who,
                spec=thickness_spec(journal.events(run.run_id)),
            )
        except ValueError as exc:
            raise UserError(f"qc: {exc}") from None
        _check_applies(journal, run, args.thickness_um)
        # The journal's times are the run's clock (simulated time on a sped-up simulator):
        # QC is placed no earlier than the run's end, so its offset is never negative, and
        # the real time it was entered is kept beside it.
        entered = time.time()
        data["entered_at"] = entered
        end = run.finished_at if run.finished_at is not None else run.started_at
        journal.record_event(run.run_id, max(entered, end), "qc", data)
    for warning in data["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    mean = data.get("thickness_mean_um")
    thickness = "no thickness readings" if mean is None else f"mean thickness {mean:.2f} µm"
    reasons = [thickness_text(data)] if data.get("thickness_verdict") == "fail" else []
    if data["adhesion"] == "fail":
        reasons.append("an adhesion failure fails the lot")
    reason = f" ({'; '.join(reasons)})" if reasons else ""
    print(
        f"QC recorded for run {run.run_id}, lot {run.lot_id}: {thickness}, adhesion "
        f"{data['adhesion']}, {data['visual_defects']} of {data['sample_size']} with visual "
        f"defects -> {data['verdict'].upper()}{reason}"
    )
    return 0
