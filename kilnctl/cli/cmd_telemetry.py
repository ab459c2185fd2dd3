"""`kilnctl telemetry`: run the InfluxDB telemetry writer in the foreground (a sidecar).

Settings come from the plant config's [influx] section; flags override them.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import threading
from types import FrameType

from pydantic import ValidationError

from kilnctl.cli.cmd_runs import add_journal_option, journal_path
from kilnctl.cli.main import UserError, log_to_stderr
from kilnctl.cli.plant_arg import plant_for
from kilnctl.identifiers import identifier_problem
from kilnctl.journal import Journal, JournalError
from kilnctl.plant import InfluxConfig
from kilnctl.telemetry import SinkConfigError, SinkError, TelemetryWriter, make_sink
from kilnctl.telemetry.sinks import API_CHOICES, Sink

log = logging.getLogger("kilnctl.telemetry")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "telemetry",
        help="copy the journal to InfluxDB (foreground; for a sidecar)",
        description="Copy samples and events from the journal to InfluxDB, from the "
        "writer's own cursor; an outage is retried with backoff and loses nothing. "
        "Settings: the plant config's [influx] section, overridden by these flags. "
        "The token may also come from $KILNCTL_INFLUX_TOKEN.",
    )
    add_journal_option(p)
    add_influx_options(p)
    p.add_argument("--poll-interval", type=float, default=1.0, help="seconds between polls")
    p.add_argument(
        "--once", action="store_true", help="deliver what is pending, then exit (1 on failure)"
    )
    p.set_defaults(func=cmd_telemetry)


def add_influx_options(p: argparse.ArgumentParser) -> None:
    """The flags that override the plant config's [influx] section and its cell/site tags
    (telemetry and export share them)."""
    p.add_argument("--url", help="e.g. http://127.0.0.1:8086")
    p.add_argument("--api", choices=API_CHOICES, help="v2 (also VictoriaMetrics), v1, auto")
    p.add_argument("--org", help="v2 organisation")
    p.add_argument("--bucket", help="v2 bucket")
    p.add_argument("--database", help="1.x database")
    p.add_argument("--token", help="v2 token, or 1.x user:password")
    p.add_argument("--batch-size", type=int, help="records per write (default 500)")
    p.add_argument("--cell", help="cell tag (default: the plant config's cell, else host name)")
    p.add_argument("--site", help="site tag (default: the plant config's site)")


def influx_settings(args: argparse.Namespace) -> InfluxConfig:
    """The plant config's [influx] section with the command-line overrides applied."""
    base: dict[str, object] = {}
    plant = plant_for(args.config, optional=True)
    if plant is not None and plant.influx is not None:
        base = plant.influx.model_dump()
    overrides = {
        "url": args.url,
        "api": args.api,
        "org": args.org,
        "bucket": args.bucket,
        "database": args.database,
        "token": args.token or os.environ.get("KILNCTL_INFLUX_TOKEN"),
        "batch_size": args.batch_size,
    }
    base.update({k: v for k, v in overrides.items() if v is not None})
    if not base.get("url"):
        raise UserError("no InfluxDB configured: add an [influx] section or give --url")
    try:
        return InfluxConfig.model_validate(base)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UserError(f"[influx]: {problems}") from None


def telemetry_tags(args: argparse.Namespace) -> dict[str, str]:
    """The cell/site tags: the plant config's (its cell defaults to the host name), with
    --cell/--site applied; a value that could not round-trip is a user error."""
    plant = plant_for(args.config, optional=True)
    tags = plant.telemetry_tags() if plant is not None else {"cell": socket.gethostname()}
    for key in ("cell", "site"):
        value = getattr(args, key)
        if value is not None:
            if problem := identifier_problem(value):
                raise UserError(f"--{key} {value!r} {problem}")
            tags[key] = value
    return tags


def sink_key(settings: InfluxConfig) -> str:
    """Which destination a cursor belongs to: the server and its database or bucket."""
    return f"{settings.url.rstrip('/')}/{settings.database or settings.bucket}"


def consumer_for(settings: InfluxConfig) -> str:
    """The journal cursor of the writer to this destination: each server gets everything,
    whichever others were written to before."""
    return f"influx:{sink_key(settings)}"


def influx_sink(settings: InfluxConfig) -> Sink:
    """The InfluxDB sink an [influx] section describes; a bad section is a user error."""
    try:
        return make_sink(
            settings.url,
            api=settings.api,
            org=settings.org,
            bucket=settings.bucket,
            token=settings.token,
            database=settings.database,
        )
    except ValueError as exc:
        raise UserError(f"[influx]: {exc}") from None


def cmd_telemetry(args: argparse.Namespace) -> int:
    settings = influx_settings(args)
    sink = influx_sink(settings)
    log_to_stderr()
    try:
        journal = Journal(journal_path(args))
    except JournalError as exc:
        raise UserError(str(exc)) from None
    writer = TelemetryWriter(
        journal,
        sink,
        batch_size=settings.batch_size,
        poll_interval_s=args.poll_interval,
        tags=telemetry_tags(args),
        consumer=consumer_for(settings),
    )
    try:
        if args.once:
            try:
                writer.drain()
            except SinkConfigError as exc:
                log.error("telemetry: stopped writing to %s: %s", sink.description, exc)
                return 2
            except SinkError as exc:
                log.error("telemetry: cannot write to %s: %s", sink.description, exc)
                return 1
            log.info(
                "telemetry: delivered %d records to %s%s",
                writer.delivered,
                sink.description,
                f"; {writer.quarantined} refused by the server and set aside in the journal"
                if writer.quarantined
                else "",
            )
            return 0
        return _run_until_signalled(writer)
    finally:
        sink.close()
        journal.close()


def _run_until_signalled(writer: TelemetryWriter) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    log.info(
        "telemetry: %s -> %s, %d records pending",
        writer.journal.path,
        writer.sink.description,
        writer.backlog(),
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a sidecar is stopped
        writer.run(stop)
    log.info("telemetry: stopped after delivering %d records", writer.delivered)
    return 2 if writer.stopped_by is not None else 0
