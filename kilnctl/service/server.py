"""The service: the engine behind a Unix-domain socket speaking JSON lines.

`Service(engine, ...)` answers requests (see protocol.OPS), keeps a live picture of the
runs for "status", and streams events to subscribers through bounded feeds, so neither a
slow nor a vanished client can hold the engine up. Clients come and go; runs go on.
The service does not own the engine's lifetime: whoever built the engine closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kilnctl.engine.engine import Engine, EngineError
from kilnctl.engine.messages import (
    Abort,
    AckAlarm,
    AnswerPrompt,
    Event,
    ExtendHold,
    Pause,
    Resume,
    RunCommand,
    SkipSegment,
    StartJob,
)
from kilnctl.engine.watch import WATCH_JOB
from kilnctl.journal import JournalError
from kilnctl.plant import Plant
from kilnctl.recipes.loader import RecipeError
from kilnctl.service import protocol
from kilnctl.service.device_read import DeviceReadError, read_device
from kilnctl.service.feed import EventFeed
from kilnctl.service.history import RecentSamples, merge_and_thin, read_journal
from kilnctl.service.jobsteps import JobSteps, plan_rows
from kilnctl.service.plantstatus import plant_devices
from kilnctl.service.protocol import MAX_LINE, ProtocolError, Request
from kilnctl.service.recipe_preview import recipe_detail, recipe_rows
from kilnctl.service.runview import RunBook, RunView
from kilnctl.service.timeleft import PlatingProgress, TimeLeft

log = logging.getLogger(__name__)

_SIMPLE_COMMANDS: dict[str, type[RunCommand]] = {
    "pause": Pause,
    "resume": Resume,
    "skip": SkipSegment,
}


MAX_HISTORY_POINTS = 5000
"""Most points per series a "history" reply may ask for (a reply line stays small)."""


class ServiceError(Exception):
    """The service cannot start (socket in use, ...); the message says what to do."""


class Service:
    """Serves one engine on a Unix socket."""

    def __init__(
        self,
        engine: Engine,
        *,
        library: Any = None,
        journal: Any = None,
        plant_name: str = "",
        feed_size: int = 1000,
        telemetry: str = "",
    ) -> None:
        self.engine = engine
        self.library = library
        self.journal = journal
        self.plant_name = plant_name
        self.feed_size = feed_size
        self.telemetry = telemetry
        """Where telemetry goes ("" when none), shown in the status header."""
        self.telemetry_backlog: Callable[[], int] | None = None
        """Journal records not yet sent to telemetry (set by `kilnctl serve` when it runs a
        telemetry writer), reported by "status" as the telemetry lag."""
        self.telemetry_health: Callable[[], dict[str, Any]] | None = None
        """The telemetry writer's health (kilnctl.telemetry.health.writer_status), reported
        by "status" as "telemetry_health"; its backlog is then "telemetry_backlog" too."""
        self.book = RunBook()
        self.recent = RecentSamples()
        self._plating: dict[str, PlatingProgress] = {}
        self._steps: dict[str, JobSteps] = {}
        self.feeds: set[EventFeed] = set()
        self.clients = 0
        self._queue = engine.subscribe(maxsize=100_000)
        self._server: asyncio.Server | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._connections: dict[asyncio.Task[None], _Connection] = {}
        self.path: Path | None = None

    # ------------------------------------------------------------------ lifetime

    async def start(self, path: str | Path) -> None:
        """Listen on `path` (mode 0600); a stale socket file is replaced."""
        path = Path(path)
        if path.exists() or path.is_symlink():
            if await _answers(path):
                raise ServiceError(f"a kilnctl service is already running on {path}")
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        old_umask = os.umask(0o177)  # the socket is born 0600: no window for other users
        try:
            self._server = await asyncio.start_unix_server(
                self._connection, path=str(path), limit=MAX_LINE
            )
        except OSError as exc:
            raise ServiceError(f"cannot listen on {path}: {exc.strerror or exc}") from None
        finally:
            os.umask(old_umask)
        path.chmod(0o600)
        self.path = path
        self._pump_task = asyncio.get_running_loop().create_task(self._pump())

    async def close(self) -> None:
        """Stop listening and drop the clients (the engine and its runs are untouched)."""
        if self._server is not None:
            self._server.close()
        # closing the streams ends each handler at its next read (cancelling a stream
        # handler task makes asyncio log the CancelledError as an error)
        for conn in list(self._connections.values()):
            conn.abort()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task
        self.engine.unsubscribe(self._queue)
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    # ------------------------------------------------------------------ events

    async def _pump(self) -> None:
        while True:
            self._dispatch(await self._queue.get())
            self.drain_events()

    def drain_events(self) -> None:
        """Take every event the engine has published so far (status is then current)."""
        while not self._queue.empty():
            self._dispatch(self._queue.get_nowait())

    def _dispatch(self, event: Event) -> None:
        data = event.to_dict()
        self.book.apply(data)
        progress = self._plating.get(event.run_id)
        if progress is None:
            progress = self._plating[event.run_id] = PlatingProgress(self.library)
        progress.apply(data)
        self._follow_steps(data)
        if event.kind == "sample":
            self.recent.add(event.run_id, data["source"], event.t, data["values"])
        for feed in self.feeds:
            feed.put(data)
        if event.kind == "run_finished":
            self.book.forget_finished()
            self.recent.forget(event.run_id)
            self._plating.pop(event.run_id, None)
            # the job view shows how an ended run's steps ended: kept as long as its view
            self._steps = {r: s for r, s in self._steps.items() if r in self.book.views}

    def _follow_steps(self, data: dict[str, Any]) -> None:
        """The job view's rows of each run: built from the engine's plan at its start."""
        run_id = data["run_id"]
        if data.get("kind") == "run_started":
            job = getattr(self.engine.runs.get(run_id), "job", None)
            if job is None:  # a run of no plan (a device made safe on demand): no rows
                return
            area = job.lot.area_dm2 if job.lot is not None else None
            self._steps[run_id] = JobSteps(plan_rows(job.plan, job.unit_of, area))
        steps = self._steps.get(run_id)
        if steps is not None:
            steps.apply(data)

    # ------------------------------------------------------------------ requests

    def snapshot(self) -> dict[str, Any]:
        """The "status" reply body: plant, active runs, clients."""
        self.drain_events()
        now = self.engine.clock.wall_time()
        health = self._health()
        return {
            "plant": self.plant_name,
            "time": now,
            # how fast service time runs (1 on a real plant): clients count down with it
            "speed": float(getattr(self.engine.clock, "speed", 1.0)),
            "runs": [
                {
                    **v.to_dict(),
                    **self._time_left(v.run_id),
                    "plan": self._firing_plan(v.run_id),
                    "steps": self._job_steps(v.run_id),
                    "ah_target": self._ah_target(v.run_id),
                }
                for v in self.book.active()
            ],
            "clients": self.clients,
            "subscribers": len(self.feeds),
            "telemetry": self.telemetry,
            # kept for clients that read only the record count
            "telemetry_backlog": health["backlog"] if health else self._backlog(),
            "telemetry_health": health,
            "journal": str(self.journal.path) if self.journal is not None else "",
            "unsafe": self.engine.safekeeper.unsafe_devices(),
            "devices": self._plant_devices(),
        }

    def _plant_devices(self) -> list[dict[str, Any]]:
        """Every configured kiln and tank with its latest reading (plantstatus)."""
        watch = self.engine.watch
        rows = plant_devices(
            self.engine.plant,
            self.book.active(),
            watch.latest if watch is not None else {},
            watch.alarms.active if watch is not None else (),
            {d: r for r, h in self.engine.runs.items() if h.outcome is None for d in h.devices},
            watch.periods if watch is not None else {},
        )
        unsafe = self.engine.safekeeper.unsafe_devices()
        for row in rows:
            if row["run_id"]:
                row["time_left_s"] = self._time_left(row["run_id"])["time_left_s"]
                self._step_band(row)
            if row["device"] in unsafe:  # its run ended, the keeper still retries it
                row["unsafe"] = unsafe[row["device"]]
        return rows

    def _health(self) -> dict[str, Any] | None:
        if self.telemetry_health is None:
            return None
        try:
            return self.telemetry_health()
        except Exception:  # a status reply must never fail on the telemetry side's trouble
            log.exception("telemetry health unknown")
            return None

    def _step_band(self, row: dict[str, Any]) -> None:
        """A plating step with its own bath band on the row's tank: the row's bath is
        judged against it (the run's bath alarm is, plating.py) rather than the tank's."""
        progress = self._plating.get(row["run_id"])
        step = progress.step if progress is not None else None
        band = getattr(step, "bath_temp_c", None)
        if step is not None and step.tank == row["name"] and band and row["bath"]:
            row["bath"]["band"] = [float(band[0]), float(band[1])]

    def _ah_target(self, run_id: str) -> dict[str, Any] | None:
        """The plating step's amp-hour target (PlatingProgress.amp_hours_target), if any."""
        progress = self._plating.get(run_id)
        return progress.amp_hours_target() if progress is not None else None

    def _backlog(self) -> int | None:
        if self.telemetry_backlog is None:
            return None
        try:
            return int(self.telemetry_backlog())
        except Exception:  # a status reply must never fail on the telemetry side's trouble
            log.exception("telemetry backlog unknown")
            return None

    def _time_left(self, run_id: str) -> dict[str, float | None]:
        """time_left_s: the current firing or plating step; plating_left_s: the plating
        recipe (None when unknown)."""
        plating = self._plating_left(run_id)
        if plating is not None:
            return {"time_left_s": plating.step_s, "plating_left_s": plating.recipe_s}
        return {"time_left_s": self._firing_left(run_id), "plating_left_s": None}

    def _plating_left(self, run_id: str) -> TimeLeft | None:
        progress = self._plating.get(run_id)
        return progress.estimate(self.engine.clock.wall_time()) if progress else None

    def _job_steps(self, run_id: str) -> list[dict[str, Any]]:
        """The job's steps with status, times and ETA (left_s from the reply's "time",
        jobsteps.py); [] when unknown."""
        steps = self._steps.get(run_id)
        if steps is None:
            return []
        plating = self._plating_left(run_id)
        # the running job step's process: the whole plating recipe, or the firing
        left = plating.recipe_s if plating is not None else self._firing_left(run_id)
        steps.estimate(left)
        return steps.to_list()

    def _schedule(self, run_id: str) -> Any:
        """The firing schedule of the run's current firing, or None.

        The engine has no progress API yet: this finds the firing schedule behind the run's
        checkpoint function and says None whenever that shape is not there."""
        handle = self.engine.runs.get(run_id)
        unit = getattr(getattr(handle, "ctx", None), "step_state_fn", None)
        return getattr(getattr(unit, "__self__", None), "schedule", None)

    def _firing_plan(self, run_id: str) -> list[list[float]]:
        """The current firing's planned setpoint from now on: [[unix time, SP °C], ...]
        (FiringSchedule.plan), [] when no firing is going."""
        plan = getattr(self._schedule(run_id), "plan", None)
        if not callable(plan):
            return []
        return [[t, sp] for t, sp in plan(self.engine.clock.wall_time())]

    def _firing_left(self, run_id: str) -> float | None:
        """Estimated time left in the current firing, if one is going (None otherwise)."""
        remaining = getattr(self._schedule(run_id), "remaining_s", None)
        if not callable(remaining):
            return None
        value = remaining()
        return float(value) if isinstance(value, int | float) else None

    async def handle(self, req: Request) -> dict[str, Any]:
        """Carry out one request (not "subscribe", which needs the connection)."""
        try:
            return await self._handle(req)
        except ProtocolError as exc:
            return protocol.error(req.id, str(exc))
        except EngineError as exc:
            return protocol.error(req.id, f"{req.op}: {exc}")

    async def _handle(self, req: Request) -> dict[str, Any]:
        op = req.op
        if op == "status":
            return protocol.ok(req.id, **self.snapshot())
        if op == "start":
            return protocol.ok(req.id, run=await self._start(req))
        if op == "runs":
            return protocol.ok(req.id, runs=self._runs(int(req.number("limit", 50))))
        if op == "recipes":
            return protocol.ok(req.id, recipes=self._recipes())
        if op == "recipe":
            return protocol.ok(req.id, **self._recipe(req))
        if op == "history":
            return protocol.ok(req.id, **await self._history(req))
        if op == "steps":
            return protocol.ok(req.id, **self._run_steps(req))
        if op == "read":  # for `kilnctl devices`/`read`: the service holds the device's line
            try:
                body = await read_device(self.engine.devices, req.text("device") or "")
            except DeviceReadError as exc:
                return protocol.error(req.id, f"read: {exc}")
            return protocol.ok(req.id, **body)
        if op == "safe":
            return protocol.ok(req.id, devices=await self._safe(req))
        command = self._command(req)
        await self.engine.submit(command)
        self.drain_events()
        return protocol.ok(req.id, run=command.run_id)

    def _run_steps(self, req: Request) -> dict[str, Any]:
        """The "steps" reply: the service time and the run (its "status" form, ended or
        not, with its steps) for the job view."""
        run_id = req.text("run")
        self.drain_events()
        view = self.book.views.get(run_id or "")
        if view is None:
            active = ", ".join(v.run_id for v in self.book.active()) or "none"
            raise ProtocolError(
                f'steps: give "run", a run active or recently ended (active: {active})'
            )
        now = self.engine.clock.wall_time()
        run = {**view.to_dict(), "steps": self._job_steps(view.run_id)}
        if view.outcome is None:
            run.update(self._time_left(view.run_id))
        return {"time": now, "run": run}

    async def _start(self, req: Request) -> str:
        job, lot = req.text("job"), req.text("lot", "") or ""
        if not job or not lot:
            # the lot id is the batch record's key: a run of no lot is no record
            raise ProtocolError('start: give "job" (a name from "recipes") and "lot"')
        start = StartJob(
            ref=job,
            lot_id=lot,
            who=req.text("who", "service") or "service",
            kiln=req.text("kiln"),
            tank=req.text("tank"),
            kilns=_names(req, "kilns"),
            tanks=_names(req, "tanks"),
        )
        try:
            run_id = await self.engine.submit(start)
        except RecipeError as exc:
            raise EngineError(str(exc)) from None
        self.drain_events()
        return str(run_id)

    def _command(self, req: Request) -> RunCommand:
        who = req.text("who", "service") or "service"
        op = req.op
        if op in _SIMPLE_COMMANDS:
            return _SIMPLE_COMMANDS[op](self._run_for(req), who=who)
        if op == "extend":
            seconds = req.number("seconds", 60.0)  # the engine checks its range for every client
            return ExtendHold(self._run_for(req), who=who, seconds=seconds)
        if op == "abort":
            reason = req.text("reason", "operator abort") or "operator abort"
            return Abort(self._run_for(req), who=who, reason=reason)
        if op == "ack":
            alarm = req.text("alarm")
            if not alarm:
                raise ProtocolError('ack: give "alarm" (an alarm id from "status")')
            run = self._run_for(req, lambda v: alarm in v.alarms, f"alarm {alarm!r}")
            return AckAlarm(run, who=who, alarm_id=alarm)
        if op == "answer":
            prompt = req.text("prompt")
            if not prompt:
                raise ProtocolError('answer: give "prompt" (a prompt id from "status")')
            run = self._run_for(req, lambda v: prompt in v.prompts, f"prompt {prompt!r}")
            answer = req.text("answer", "ok") or "ok"
            return AnswerPrompt(run, who=who, prompt_id=prompt, answer=answer)
        raise ProtocolError(f"{op}: not a command here")

    def _run_for(
        self, req: Request, has: Callable[[RunView], bool] | None = None, what: str = ""
    ) -> str:
        """The run a command is for: the "run" argument, else the only candidate."""
        run = req.text("run")
        if run:
            return run
        self.drain_events()
        # The plant watch's record is in the book but is no run: a pause or an abort
        # without a run id means the one real run (only an alarm or prompt finds the watch)
        candidates = [
            v.run_id
            for v in self.book.active()
            if (has(v) if has is not None else v.job != WATCH_JOB)
        ]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            if what:
                raise ProtocolError(f"{req.op}: no active run has {what}")
            raise ProtocolError(f"{req.op}: no run is active")
        raise ProtocolError(f'{req.op}: several runs active ({", ".join(candidates)}): give "run"')

    async def _safe(self, req: Request) -> list[dict[str, Any]]:
        """Make devices safe now (the engine aborts a run driving one); their states."""
        names = req.args.get("devices")
        if req.args.get("all") is True:
            names = sorted(self.engine.devices)
        elif not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
            raise ProtocolError('safe: give "devices" (a list of device names) or "all": true')
        who = req.text("who", "service") or "service"
        reports = await self.engine.make_safe_now(names, who)
        self.drain_events()
        return [r.to_dict() for r in reports]

    def _runs(self, limit: int) -> list[dict[str, Any]]:
        if self.journal is None:
            return []
        infos = self.journal.runs()[-limit:] if limit > 0 else []
        return [
            {
                "run_id": r.run_id,
                "job": r.job_name,
                "lot": r.lot_id,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "outcome": r.outcome,
            }
            for r in infos
        ]

    async def _history(self, req: Request) -> dict[str, Any]:
        run, source = req.text("run"), req.text("source")
        if not run or not source:
            raise ProtocolError('history: give "run" (a run id) and "source" (a kiln or tank)')
        since = req.number("since", 0.0)
        max_points = int(req.number("max_points", 200))
        if not 2 <= max_points <= MAX_HISTORY_POINTS:
            raise ProtocolError(
                f"history: max_points must be 2..{MAX_HISTORY_POINTS}, got {max_points}"
            )
        series: dict[str, list[tuple[float, float]]] = {}
        if self.journal is not None:
            # read on its own connection in a worker thread: see service/history.py
            try:
                series = await asyncio.to_thread(
                    read_journal, Path(self.journal.path), run, source, since
                )
            except JournalError as exc:
                raise EngineError(str(exc)) from None
        self.drain_events()
        recent = self.recent.after(run, source, since)
        thinned, count = merge_and_thin(series, recent, max_points)
        return {"run": run, "source": source, "count": count, "series": thinned}

    def _recipes(self) -> list[dict[str, Any]]:
        return recipe_rows(self.library, self._plant())

    def _plant(self) -> Plant | None:
        plant = self.engine.plant
        return plant if isinstance(plant, Plant) else None

    def _recipe(self, req: Request) -> dict[str, Any]:
        name = req.text("name")
        if not name:
            raise ProtocolError('recipe: give "name" (a name from "recipes")')
        if self.library is None:
            raise ProtocolError("recipe: this service has no recipe library")
        return recipe_detail(name, self.library, self._plant())

    # ------------------------------------------------------------------ connections

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        conn = _Connection(writer)
        self._connections[task] = conn
        self.clients += 1
        try:
            await self._serve_client(reader, conn)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: nothing of a run depends on it
        finally:
            self.clients -= 1
            self._connections.pop(task, None)
            if conn.feed is not None:
                self.feeds.discard(conn.feed)
            await conn.close()

    async def _serve_client(self, reader: asyncio.StreamReader, conn: _Connection) -> None:
        while True:
            try:
                line = await reader.readline()
            except ValueError:  # longer than MAX_LINE: the stream cannot be resynchronised
                await conn.send(protocol.error(None, f"request longer than {MAX_LINE} bytes"))
                return
            if not line:
                return
            if not line.strip():
                continue
            try:
                req = protocol.parse_request(line)
            except ProtocolError as exc:
                await conn.send(protocol.error(exc.req_id, str(exc)))
                continue
            if req.op == "subscribe":
                await self._subscribe(req, conn)
                continue
            await conn.send(await self.handle(req))

    async def _subscribe(self, req: Request, conn: _Connection) -> None:
        if conn.feed is not None:
            await conn.send(protocol.ok(req.id, **self.snapshot()))
            return
        size = int(req.number("queue", self.feed_size))
        if size < 1:
            await conn.send(protocol.error(req.id, f"subscribe: queue must be >= 1, got {size}"))
            return
        # the snapshot and the feed start from the same point: no event lost in between
        snapshot = self.snapshot()
        conn.feed = EventFeed(size)
        self.feeds.add(conn.feed)
        await conn.send(protocol.ok(req.id, **snapshot))
        conn.start_sender()


class _Connection:
    """One client's stream: replies and (after subscribe) events, one line at a time."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.feed: EventFeed | None = None
        self._lock = asyncio.Lock()
        self._sender: asyncio.Task[None] | None = None

    async def send(self, message: dict[str, Any]) -> None:
        async with self._lock:
            self.writer.write(protocol.encode(message))
            await self.writer.drain()

    def start_sender(self) -> None:
        self._sender = asyncio.get_running_loop().create_task(self._send_events())

    async def _send_events(self) -> None:
        assert self.feed is not None
        try:
            while True:
                await self.send(await self.feed.get())
        except ConnectionError:
            self.writer.close()  # ends the reader side too

    def abort(self) -> None:
        """Drop the connection now (service shutting down)."""
        self.writer.transport.abort()

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await self._sender
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


async def _answers(path: Path) -> bool:
    """True if something accepts connections on the socket `path`."""
    try:
        _, writer = await asyncio.open_unix_connection(str(path))
    except OSError:  # refused or gone: a stale file left by a crash
        return False
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return True


def _names(req: Request, key: str) -> dict[str, str]:
    """A {role: unit} argument of "start" ({} when not given)."""
    value = req.args.get(key)
    if value is None:
        return {}
    if not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
        raise ProtocolError(f'start: "{key}" must map names in the recipe to plant units')
    return {str(k): v for k, v in value.items()}
