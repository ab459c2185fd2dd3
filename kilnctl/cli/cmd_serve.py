"""`kilnctl serve [--socket PATH] [--speed N]`: the engine as a long-lived local service.

Opens the plant's devices (as `kilnctl run` does), owns the engine and the journal, runs
the telemetry writer when the plant config has [influx], resumes unfinished runs (the
engine decides whether that is safe), watches every kiln and tank in no run (stuck relay,
over-temperature, current with the output off: kilnctl.engine.watch), and serves the
socket API until SIGTERM/SIGINT, when it puts every device safe and exits 0. Clients
(`kilnctl tui`) attach and detach freely: closing a terminal never stops a firing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from functools import partial
from pathlib import Path

from kilnctl.cli.cmd_telemetry import consumer_for, influx_sink
from kilnctl.cli.main import UserError, log_to_stderr
from kilnctl.cli.plant_devices import (
    close_devices,
    device_claims,
    freeze_startup_objects,
    live_plant,
    open_devices,
    take_claims,
)
from kilnctl.clock import Clock
from kilnctl.engine.engine import Engine, EngineError
from kilnctl.engine.settings import EngineSettings
from kilnctl.engine.watch import WATCH_JOB
from kilnctl.journal import Journal, JournalError
from kilnctl.journal_location import ensure_parent, journal_for
from kilnctl.plant import Plant
from kilnctl.recipes.loader import RecipeLibrary
from kilnctl.service.protocol import default_socket_path
from kilnctl.service.server import Service, ServiceError
from kilnctl.telemetry import BackgroundWriter, TelemetryWriter
from kilnctl.telemetry.health import TELEMETRY_JOB, HealthRecord, WriterHealth, writer_status
from kilnctl.telemetry.sinks import server_version

log = logging.getLogger("kilnctl.serve")

SERVICE_JOBS = frozenset({WATCH_JOB, TELEMETRY_JOB})
"""Job names of the service's own journal records (the plant watch's, the telemetry
writer's): finished when the service stops or restarts, never resumed as runs."""

PROBE_TIMEOUT_S = 5.0
"""How long the telemetry writer waits for the server's version (/ping) when it asks."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the serve subcommand."""
    p = subparsers.add_parser(
        "serve",
        help="run the engine as a local service (the TUI attaches to it)",
        description="Run the engine as a service on a Unix socket until SIGTERM/Ctrl-C.",
    )
    p.add_argument("--socket", help=f"socket path (default: {default_socket_path()})")
    p.add_argument("--speed", type=float, help="run the clock N times faster (simulators)")
    p.add_argument("--journal", help="journal file (default: the plant config's, else the "
                   "per-user state directory; logged at start)")  # fmt: skip
    p.add_argument("--debug", action="store_true", help="log pymodbus's frames (hex) and "
                   "its every message too; by default a device's link changes are one line "
                   "each (lost, back) and pymodbus logs warnings only")  # fmt: skip
    p.set_defaults(func=cmd_serve)


def _telemetry(plant: Plant, journal: Journal, clock: Clock) -> BackgroundWriter | None:
    if plant.influx is None:
        return None
    cfg = plant.influx
    sink = influx_sink(cfg)
    # the writer reads the journal from its own connection: SQLite objects stay per-thread
    own = Journal(journal.path)
    health = WriterHealth(
        wall_time=clock.wall_time,
        probe=partial(server_version, cfg.url, PROBE_TIMEOUT_S),
        record=HealthRecord(own, meta={"telemetry": cfg.url}),
    )
    writer = TelemetryWriter(
        own,
        sink,
        batch_size=cfg.batch_size,
        tags=plant.telemetry_tags(),
        consumer=consumer_for(cfg),
        health=health,
    )
    return BackgroundWriter(writer, speed=float(getattr(clock, "speed", 1.0)))


async def serve(
    plant: Plant,
    socket_path: Path,
    journal_path: str,
    clock: Clock,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
) -> int:
    """Run the service until `stop` is set; every device is safe when this returns."""
    try:
        journal = Journal(journal_path)
    except JournalError as exc:
        raise UserError(str(exc)) from None
    # the service owns the whole plant: every device is claimed before anything is sent,
    # and other processes' `devices`/`read` find this socket in the claim (kilnctl.claims)
    claims = device_claims(plant, "kilnctl serve", socket=socket_path.absolute())
    try:
        take_claims(claims, plant.devices, "stop it first, then start the service")
        devices = open_devices(plant)
    except UserError:
        claims.release()
        journal.close()
        raise
    library = RecipeLibrary()
    settings = EngineSettings(period_s=plant.sample_period_s)
    engine = Engine(devices, plant, library, journal, clock, settings, claims)
    telemetry = _telemetry(plant, journal, clock)
    service = Service(
        engine,
        library=library,
        journal=journal,
        plant_name=f"{len(plant.kilns)} kilns, {len(plant.tanks)} tanks",
        telemetry=plant.influx.url if plant.influx is not None else "",
    )
    try:
        try:
            await service.start(socket_path)
        except ServiceError as exc:
            raise UserError(str(exc)) from None
        unfinished = journal.unfinished_runs()
        for info in unfinished:
            if info.job_name == TELEMETRY_JOB:  # the last service's writer record: not a run
                journal.finish_run(info.run_id, clock.wall_time(), "stopped")
        if telemetry is not None:  # after that: its record of this service is a new one
            telemetry.start()
            service.telemetry_backlog = telemetry.writer.backlog
            service.telemetry_health = partial(writer_status, telemetry.writer)
        # every kiln and tank in no run is watched from now on; the last service's watch
        # record (not a run) is carried on with its alarms still raised, before any run
        # is resumed: a kiln held safe by one stays so
        engine.start_watch([i.run_id for i in unfinished if i.job_name == WATCH_JOB])
        for info in unfinished:
            if info.job_name in SERVICE_JOBS:
                continue
            try:
                await engine.resume(info.run_id)
            except EngineError as exc:
                log.warning("cannot resume %s: %s", info.run_id, exc)
        freeze_startup_objects()
        log.info("kilnctl service listening on %s", socket_path)
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("stopping: putting every device safe")
        await engine.abort_runs()
        stop.clear()
        await _until_safe(engine, stop)
    finally:
        await service.close()
        await engine.close()  # aborts what is still running; devices end safe
        await close_devices(devices)
        claims.release()
        if telemetry is not None:
            await asyncio.to_thread(telemetry.stop)
            telemetry.writer.journal.close()
        journal.close()
    return 0


async def _until_safe(engine: Engine, stop: asyncio.Event) -> None:
    """Keep retrying the devices not confirmed safe; a second stop signal ends this,
    leaving them (engine.close logs them as LEFT UNSAFE)."""
    unsafe = engine.safekeeper.unsafe_devices()
    if not unsafe:
        return
    log.error(
        "not stopping: %s not confirmed safe; retrying until it is "
        "(SIGTERM/Ctrl-C again stops leaving it so)",
        ", ".join(sorted(unsafe)),
    )
    waits = {
        asyncio.get_running_loop().create_task(engine.safekeeper.wait_all_safe()),
        asyncio.get_running_loop().create_task(stop.wait()),
    }
    _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()


async def _serve_until_signalled(
    plant: Plant, socket_path: Path, journal_path: str, clock: Clock
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # The service outlives the terminal that started it (an SSH session dropping must not
    # stop a firing): a hang-up is noted, not obeyed.
    loop.add_signal_handler(signal.SIGHUP, log.info, "SIGHUP ignored: the service keeps running")
    return await serve(plant, socket_path, journal_path, clock, stop)


def cmd_serve(args: argparse.Namespace) -> int:
    if args.speed is not None and args.speed <= 0:
        raise UserError(f"--speed must be > 0, got {args.speed:g}")
    log_to_stderr(debug=args.debug)
    plant, clock = live_plant(args)
    path = Path(args.socket) if args.socket else default_socket_path()
    try:
        journal = ensure_parent(journal_for(args.journal, plant, args.config))
    except OSError as exc:
        raise UserError(f"cannot create the journal's folder: {exc}") from None
    log.info("journal: %s", journal)
    return asyncio.run(_serve_until_signalled(plant, path, str(journal), clock))
