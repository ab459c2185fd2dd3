"""`kilnctl export RUN`: one run's samples as CSV (units in the headers), or backfilled into
InfluxDB through the telemetry writer (its own cursor per run; points are idempotent, so an
export run twice, or a run the live writer already sent, lands on the same points)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from kilnctl.cli.cmd_runs import add_journal_option, open_journal, resolve_run
from kilnctl.cli.cmd_telemetry import (
    add_influx_options,
    influx_settings,
    influx_sink,
    sink_key,
    telemetry_tags,
)
from kilnctl.cli.main import UserError, log_to_stderr
from kilnctl.report import build_batch_record, render_csv
from kilnctl.telemetry import SinkError, TelemetryWriter

log = logging.getLogger("kilnctl.telemetry")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "export",
        help="one run's samples to a CSV file or into InfluxDB (backfill)",
        description="Export one run: --csv FILE writes one row per sample with units in the "
        "headers ('-' for stdout); --influx sends the run's samples and events to the "
        "[influx] server (or --url ...) through the telemetry writer. "
        "Example: kilnctl export last --csv lot42.csv",
    )
    p.add_argument("run", help="run id, unique prefix, or 'last'")
    add_journal_option(p)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--csv", metavar="FILE", help="CSV file ('-' = stdout)")
    target.add_argument("--influx", action="store_true", help="backfill into InfluxDB")
    add_influx_options(p)
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    with open_journal(args) as journal:
        run = resolve_run(journal, args.run)
        if args.csv is not None:
            text = render_csv(build_batch_record(journal, run.run_id), units=True)
            if args.csv == "-":
                sys.stdout.write(text)
            else:
                try:
                    Path(args.csv).write_text(text, encoding="utf-8")
                except OSError as exc:
                    raise UserError(f"cannot write {args.csv}: {exc.strerror}") from None
                print(f"wrote {args.csv}", file=sys.stderr)
            return 0
        settings = influx_settings(args)
        sink = influx_sink(settings)
        log_to_stderr()
        writer = TelemetryWriter(
            journal,
            sink,
            batch_size=settings.batch_size,
            # a cursor per run and destination: a backfill to another server starts afresh
            consumer=f"export:{run.run_id}:{sink_key(settings)}",
            tags=telemetry_tags(args),
            run_id=run.run_id,
        )
        try:
            writer.drain()
        except SinkError as exc:
            raise UserError(f"export of run {run.run_id} to {sink.description}: {exc}") from None
        finally:
            sink.close()
    log.info(
        "telemetry: run %s: %d records sent to %s%s",
        run.run_id,
        writer.delivered,
        sink.description,
        f", {writer.quarantined} refused and set aside" if writer.quarantined else "",
    )
    return 0
