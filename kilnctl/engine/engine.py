"""The engine: commands in, events out; several runs (kilns and tanks) at once.

`Engine(devices, plant, library, journal, clock)`; `await submit(command)`;
`subscribe()` gives a bounded queue of events (a slow subscriber loses its oldest events,
it never blocks the engine); `await wait(run_id)`; `await resume(run_id)` continues a run
from its journal checkpoint. Every run path ends with its devices safe.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from drivers.errors import ConfigError, DeviceError
from kilnctl.claims import ClaimError, ClaimRefused, DeviceClaims
from kilnctl.clock import Clock, simulated_time
from kilnctl.engine.alarms import ActiveAlarm
from kilnctl.engine.heldbaths import held_heaters, sample_held_baths
from kilnctl.engine.job import JobRun, PlanStep, no_lot_refusal, plan_job
from kilnctl.engine.latched import Unresolved, held_by_open_watch, raise_again, unresolved_in
from kilnctl.engine.messages import (
    Abort,
    AckAlarm,
    AnswerPrompt,
    Command,
    Event,
    ExtendHold,
    Notice,
    Pause,
    Resume,
    RunCommand,
    RunFinished,
    RunStarted,
    SkipSegment,
    StartJob,
)
from kilnctl.engine.plantview import (
    PlantError,
    devices_of,
    devices_read,
    kiln_setup,
    tank_setups,
)
from kilnctl.engine.resume import outage_refusal
from kilnctl.engine.runtime import RunAborted, RunContext, journal_event
from kilnctl.engine.safe_report import SafeReport, read_safe_state
from kilnctl.engine.safekeeper import SafeKeeper
from kilnctl.engine.settings import EngineSettings
from kilnctl.engine.units import UnitsError, assign_units
from kilnctl.engine.watch import WATCH_CODES, PlantWatch
from kilnctl.identifiers import identifier_problem
from kilnctl.journal import Journal
from kilnctl.plant import Plant
from kilnctl.recipes.loader import RecipeError, content_hash
from kilnctl.recipes.models import FiringProfile, Job, Lot, PlatingRecipe
from kilnctl.recipes.process_limits import (
    VitreousEnamelLimits,
    defaults_used,
    with_process_limits,
)
from kilnctl.recipes.rules import Finding, StepRef, check_steps, step_where
from kilnctl.run_state import service_record

log = logging.getLogger(__name__)

MAX_EXTEND_S = 4 * 3600.0
"""Longest a hold is extended by one command (a longer soak belongs in the recipe)."""


class EngineError(Exception):
    """A command the engine cannot carry out (unknown run, busy kiln, bad recipe, ...)."""


def run_origin(clock: Clock) -> dict[str, Any]:
    """Run meta saying where a run happens: the process and host running it (`kilnctl runs`
    tells a live run from a crashed one by them) and, on simulated time, "simulated" with
    the real time it started (the journal's times are the simulated clock's)."""
    origin: dict[str, Any] = {"pid": os.getpid(), "host": socket.gethostname()}
    simulated = simulated_time(clock)
    if simulated is not None:
        origin["simulated"] = {**simulated, "real_started_at": time.time()}
    return origin


@dataclass
class RunHandle:
    """A run in this engine: its context, task, devices, and outcome once finished."""

    ctx: RunContext
    task: asyncio.Task[str]
    devices: set[str]
    job_name: str
    outcome: str | None = None
    reason: str = ""
    results: list[dict[str, Any]] = field(default_factory=list)
    job: JobRun | None = None
    """The run's steps (plan, lot, devices), for the service's job view."""
    reads: set[str] = field(default_factory=set)
    """Devices the run only reads (its tanks' bath heaters): the run samples them, so
    the plant watch leaves them alone while it is active."""


@dataclass(frozen=True)
class _Prepared:
    job_name: str
    plan: list[PlanStep]
    lot: Lot | None
    hashes: dict[str, str]
    kilns: list[str | None]
    tanks: list[str]
    is_job: bool = False
    defaults: list[str] = field(default_factory=list)
    """defaults the recipes rely on (process_limits.defaults_used), for the batch record"""


def _with_class_limits(plan: list[PlanStep], limits: VitreousEnamelLimits) -> list[PlanStep]:
    """Firing steps carry their effective hold limits (a file's own win over the vitreous
    enamel defaults), so the over-fire interlock aborts a coat held too long even when the
    file set no max_hold. Hashes are taken from the files' recipes before this."""
    return [
        replace(s, recipe=with_process_limits(s.recipe, limits))
        if isinstance(s.recipe, FiringProfile)
        else s
        for s in plan
    ]


class Engine:
    """Runs jobs, profiles and recipes on the plant's devices."""

    def __init__(
        self,
        devices: dict[str, object],
        plant: Any,
        library: Any,
        journal: Journal | None,
        clock: Clock,
        settings: EngineSettings | None = None,
        claims: DeviceClaims | None = None,
    ) -> None:
        self.devices = devices
        self.plant = plant
        self.library = library
        self.journal = journal
        self.clock = clock
        self.settings = settings or EngineSettings()
        self.runs: dict[str, RunHandle] = {}
        self.claims = claims
        """This process's device claims: a run claims its devices before its first
        request, so no other process drives them meanwhile (None: no claims, in-process
        devices)."""
        self._subscribers: list[asyncio.Queue[Event]] = []
        self._local_ids = 0
        self.safekeeper = SafeKeeper(
            clock,
            self._publish,
            retry_min_s=self.settings.safe_retry_min_s,
            retry_max_s=self.settings.safe_retry_max_s,
        )
        """Devices whose safe state is not confirmed yet, retried until it is."""
        self.watch: PlantWatch | None = None
        """Watches the kilns and tanks in no run (`start_watch`; `kilnctl serve` does)."""
        self._kept: PlantWatch | None = None
        """A watch never started, keeping a run's watch-kind alarms in the journal when no
        watch runs (`_keeper_for`)."""

    def start_watch(self, carry: list[str] | None = None) -> PlantWatch:
        """Start watching every configured kiln and tank not in a run (stuck relay,
        over-temperature, current with the output off); stopped by close(). `carry`: the
        unfinished watch records of an earlier service, oldest first, whose alarms still
        raised the watch takes over (PlantWatch.carry_over)."""
        if self.watch is None:
            self.watch = self._new_watch(self._publish)
            self.watch.carry_over(carry or [])
            self.watch.start()
        return self.watch

    def _new_watch(self, publish: Callable[[Event], None]) -> PlantWatch:
        return PlantWatch(
            self.plant,
            self.devices,
            self.clock,
            publish,
            self.owned_devices,
            self.journal,
            self.settings.period_s,
            self.settings.kiln_limits,
        )

    def _keeper_for(self, alarms: Iterable[Unresolved | ActiveAlarm]) -> PlantWatch | None:
        """Where a finished run's alarms of the watch's kinds (stuck relay, over-temperature,
        current with the output off) stay in force: the running watch (`kilnctl serve`);
        else, in a process with no watch (`kilnctl run`, `resume`) but a journal, a watch
        never started whose open journal record keeps them (before, they ended with the
        process): the next run or resume refuses the kiln or tank (held_by_open_watch) and
        the next `kilnctl serve` raises them again, acts again and takes the
        acknowledgement (PlantWatch.carry_over). None when there is nothing to keep."""
        if self.watch is not None:
            return self.watch
        if self.journal is None or not any(a.spec.code in WATCH_CODES for a in alarms):
            return None
        if self._kept is None:
            # its events are journaled; the run's own lines already told the operator
            self._kept = self._new_watch(lambda event: None)
        return self._kept

    def busy_devices(self) -> set[str]:
        """Devices a run is driving now."""
        return {d for h in self.runs.values() if h.outcome is None for d in h.devices}

    def owned_devices(self) -> set[str]:
        """Devices an active run drives or reads (its bath heaters): the plant watch reads
        none of them, the run samples them."""
        return {d for h in self.runs.values() if h.outcome is None for d in h.devices | h.reads}

    # ------------------------------------------------------------------ events

    def subscribe(self, maxsize: int | None = None) -> asyncio.Queue[Event]:
        """A bounded queue receiving every event from now on."""
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize or self.settings.subscriber_queue)
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def _publish(self, event: Event) -> None:
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()  # the slow subscriber loses its oldest event
            queue.put_nowait(event)

    def _journaled(self, event: Event) -> None:
        """Emit for a run that has no context here: journal the event, then publish."""
        if self.journal is not None:
            journal_event(self.journal, event)
        self._publish(event)

    # ------------------------------------------------------------------ commands

    async def submit(self, command: Command) -> str | None:
        """Carry out a command; StartJob returns the new run's id."""
        if isinstance(command, StartJob):
            return self._start(command)
        if not isinstance(command, RunCommand):
            raise EngineError(f"unknown command {command!r}")
        if self.watch is not None and command.run_id == self.watch.run_id:
            if not isinstance(command, AckAlarm):
                raise EngineError("the plant watch takes acknowledgements only")
            if not self.watch.ack(command.alarm_id, command.who):
                raise EngineError(f"no unacknowledged alarm {command.alarm_id!r}")
            return command.run_id
        handle = self.runs.get(command.run_id)
        if handle is None or handle.outcome is not None:
            raise EngineError(f"run {command.run_id!r} is not running")
        ctx = handle.ctx
        if isinstance(command, Pause | Resume):
            ctx.paused = isinstance(command, Pause)
            ctx.operator(command.who, command.kind)
            ctx.state("run", "paused" if ctx.paused else "running", f"by {command.who}")
            ctx.maybe_checkpoint(force=True)  # killed now, it must resume as the operator said
        elif isinstance(command, SkipSegment):
            ctx.skip_requests += 1
        elif isinstance(command, ExtendHold):
            # every client's extend comes here: NaN, infinity or a huge value would make a
            # hold that never ends, a kiln kept hot until someone aborts
            if not (0 < command.seconds <= MAX_EXTEND_S):
                raise EngineError(
                    f"extend: {command.seconds:g} s is not allowed "
                    f"(allowed: more than 0, at most {MAX_EXTEND_S / 3600:g} h at a time)"
                )
            ctx.extend_s += command.seconds
        elif isinstance(command, Abort):
            ctx.operator(command.who, "abort", command.reason)
            ctx.request_abort(f"{command.reason} ({command.who})")
        elif isinstance(command, AckAlarm):
            alarm = next((a for a in ctx.alarms.active if a.alarm_id == command.alarm_id), None)
            if not ctx.alarms.ack(command.alarm_id, command.who):
                raise EngineError(f"no unacknowledged alarm {command.alarm_id!r}")
            if alarm is not None and alarm.spec.code == "controller_alarm":
                await self._acknowledge_at_controller(alarm.source)
        elif isinstance(command, AnswerPrompt) and not ctx.answer(
            command.prompt_id, command.answer, command.who
        ):
            raise EngineError(f"no open prompt {command.prompt_id!r}")
        return command.run_id

    async def _acknowledge_at_controller(self, kiln: str) -> None:
        """The controller latches its own alarm until acknowledged at its panel or over
        comms: pass the operator's acknowledgement on, where the driver can."""
        try:
            controller = kiln_setup(self.plant, self.devices, kiln).controller
        except PlantError:
            return
        acknowledge = getattr(controller, "acknowledge_alarms", None)
        if acknowledge is None:
            return
        try:
            await acknowledge()
        except DeviceError as exc:
            log.warning("could not acknowledge the alarm at %s's controller: %s", kiln, exc)

    async def wait(self, run_id: str) -> str:
        """Wait for a run to finish; returns its outcome."""
        return await self.runs[run_id].task

    async def abort_runs(self, reason: str = "engine shutting down") -> None:
        """Abort every run still going and wait for their ends. A device whose safe state
        could not be confirmed is then in `safekeeper.unsafe_devices()`, still retried."""
        if self.watch is not None:
            await self.watch.stop()
        for handle in self.runs.values():
            if handle.outcome is None:
                handle.ctx.request_abort(reason)
        await asyncio.gather(*(h.task for h in self.runs.values()), return_exceptions=True)

    async def close(self) -> None:
        """Abort every run still going, wait for their ends, stop retrying: whoever must
        not leave a device unconfirmed waits on `safekeeper.wait_all_safe()` first."""
        await self.abort_runs()
        await self.safekeeper.stop()

    async def make_safe_now(self, names: list[str], who: str) -> list[SafeReport]:
        """Make the named devices safe on demand and report the state read back. A run
        driving one of them is aborted first (the operator's safe wins over the run's
        next setpoint). A device not confirmed stays with the keeper, retried."""
        unknown = [n for n in names if n not in self.devices]
        if unknown:
            raise EngineError(
                f"unknown device {', '.join(unknown)} (known: {', '.join(sorted(self.devices))})"
            )
        driving = [h for h in self.runs.values() if h.outcome is None and h.devices & set(names)]
        for handle in driving:
            handle.ctx.operator(who, "abort", "devices made safe on demand")
            handle.ctx.request_abort(f"devices made safe on demand ({who})")
        await asyncio.gather(*(h.task for h in driving), return_exceptions=True)
        reports = []
        for name in names:
            device = self.devices[name]
            problem = await self.safekeeper.confirm_now(
                device, f"made safe on demand by {who}", name=name
            )
            reports.append(
                await read_safe_state(name, device, self.clock, self.settings.period_s, problem)
            )
        return reports

    # ------------------------------------------------------------------ starting

    def _get(self, name: str) -> Any:
        if self.library is None:
            raise EngineError(f"no recipe library to look up {name!r}")
        try:
            return self.library.get(name)
        except RecipeError as exc:
            raise EngineError(str(exc)) from exc

    def _prepare(self, cmd: StartJob) -> _Prepared:
        # The lot id is a telemetry tag: refuse here, where it enters, what could not be
        # stored exactly (every client's start goes through this one place).
        if cmd.lot_id and (problem := identifier_problem(cmd.lot_id)):
            raise EngineError(f"lot id {cmd.lot_id!r} {problem}")
        recipe = cmd.recipe if cmd.recipe is not None else self._get(cmd.ref)
        hashes = {recipe.name: content_hash(recipe)}
        lot: Lot | None = cmd.lot
        if isinstance(recipe, Job):
            try:
                plan = plan_job(recipe, self._get)
            except ValueError as exc:
                raise EngineError(str(exc)) from exc
            lot = recipe.lot
            for step in plan:
                if step.recipe is not None:
                    hashes[step.recipe.name] = content_hash(step.recipe)
        elif isinstance(recipe, FiringProfile):
            plan = [PlanStep("firing", recipe.name, recipe, kiln=cmd.kiln)]
        elif isinstance(recipe, PlatingRecipe):
            plan = [PlanStep("plating", recipe.name, recipe)]
        else:
            raise EngineError(f"{cmd.ref!r} is not a job, firing profile or plating recipe")
        try:  # after the hashes: those are the files', whichever units run them
            plan = assign_units(plan, self.plant, cmd.kilns, cmd.tanks)
        except UnitsError as exc:
            raise EngineError(str(exc)) from None
        limits = getattr(self.plant, "vitreous_enamel", None) or VitreousEnamelLimits()
        defaults = [
            str(d) for d in defaults_used([s.recipe for s in plan if s.recipe is not None], limits)
        ]
        plan = _with_class_limits(plan, limits)
        kilns = [s.kiln for s in plan if s.kind == "firing"]
        tanks = sorted(
            {
                st.tank
                for s in plan
                if isinstance(s.recipe, PlatingRecipe)
                for st in s.recipe.steps
                if st.tank is not None
            }
        )
        return _Prepared(
            recipe.name, plan, lot, hashes, kilns, tanks, isinstance(recipe, Job), defaults
        )

    def _preflight(self, prep: _Prepared) -> list[Finding]:
        """`validate`'s checks over the whole job before any device is written: the lot's
        material rules and the plant's limits (kiln max_temp, rectifier ratings), and a
        plating step's need of a lot (the run would stop at it: job.no_lot_refusal). Raises
        EngineError with validate's messages on any error; returns the warnings."""
        steps = [
            StepRef(step_where(i, s.label) if prep.is_job else "", s.recipe, s.kiln)
            for i, s in enumerate(prep.plan)
        ]
        plant = self.plant if isinstance(self.plant, Plant) else None
        findings = check_steps(steps, prep.lot, plant)
        errors = [str(f) for f in findings if f.level == "error"]
        if prep.lot is None:
            errors += [no_lot_refusal(s.label) for s in prep.plan if s.kind == "plating"]
        if errors:
            raise EngineError("refused before any device was written:\n  " + "\n  ".join(errors))
        return findings

    def _start(
        self, cmd: StartJob, run_id: str | None = None, resume: dict[str, Any] | None = None
    ) -> str:
        prep = self._prepare(cmd)
        lot = prep.lot
        used = devices_of(self.plant, prep.kilns, prep.tanks)
        busy = self.busy_devices() & used
        if busy:
            raise EngineError(f"busy: {', '.join(sorted(busy))} already in a run")
        held = self.watch.blocking(used) if self.watch is not None else []
        if held:
            # the alarm's action (device safe, contactor open) lasts until a person has
            # seen it off and the fault has gone: a run would undo it
            raise EngineError(
                f"held safe by the plant watch's alarm {', '.join(held)}: repair the fault, "
                "acknowledge the alarm (`kilnctl ack ALARM_ID`); a run may start once its "
                "condition has gone"
            )
        if self.watch is None and self.journal is not None:
            names = {k for k in prep.kilns if k is not None} | set(prep.tanks)
            in_force = held_by_open_watch(self.journal, names)
            if in_force:
                # no watch here to carry the alarm over (kilnctl run / resume): the
                # service that raised it stopped; its record still holds it in force
                raise EngineError(
                    f"held safe by the plant watch's alarm {', '.join(in_force)}, raised by "
                    "kilnctl serve and still in force in the journal: repair the fault, "
                    "start `kilnctl serve` (it raises the alarm again) and acknowledge it "
                    "there (`kilnctl ack ALARM_ID`); a run may start once its condition has "
                    "gone"
                )
        unsafe = sorted(set(self.safekeeper.unsafe_devices()) & used)
        if unsafe:
            # the keeper's next retry would put it safe under the new run's feet
            raise EngineError(
                f"{', '.join(unsafe)}: safe state not confirmed yet (still retried; "
                "`kilnctl safe DEVICE` shows it)"
            )
        # resolve devices now so a bad plant config fails the command, not the run
        try:
            for k in prep.kilns:
                kiln_setup(self.plant, self.devices, k)
        except PlantError as exc:
            raise EngineError(str(exc)) from exc
        warnings = self._preflight(prep) if resume is None else []
        # before the journal record and the first request: a refused run leaves no trace
        claimed = used | devices_read(self.plant, prep.tanks)
        self._claim(claimed)
        started = self.clock.wall_time()
        if run_id is None:
            if self.journal is not None:
                run_id = self.journal.start_run(
                    job_name=prep.job_name,
                    lot_id=cmd.lot_id,
                    recipe_hashes=prep.hashes,
                    started_at=started,
                    meta={
                        "ref": cmd.ref,
                        "kiln": cmd.kiln,
                        "tank": cmd.tank,
                        "kilns": dict(cmd.kilns),
                        "tanks": dict(cmd.tanks),
                        "who": cmd.who,
                        "lot": lot.model_dump(mode="json") if lot is not None else None,
                        **run_origin(self.clock),
                        "defaults": prep.defaults or None,
                        "file": cmd.source,
                    },
                )
            else:
                self._local_ids += 1
                run_id = f"run-{self._local_ids}"
        if self.claims is not None:
            self.claims.note_run(claimed, run_id)
        ctx = RunContext(
            run_id, self.clock, self.journal, self._publish, self.settings, self.safekeeper
        )
        if resume is not None and self.journal is not None:
            latched = [a for a in unresolved_in(self.journal, run_id) if a.spec.latches]
            raise_again(ctx.alarms, latched, "still raised when the run was resumed")
        material = lot.material.value if lot is not None else None
        material_max = self.settings.material_max_c.get(material) if material else None
        job = JobRun(
            ctx,
            prep.plan,
            lambda k: kiln_setup(self.plant, self.devices, k),
            tank_setups(self.plant, self.devices),
            lot,
            material_max,
        )
        ctx.emit(
            RunStarted(
                run_id, started, prep.job_name, cmd.lot_id, prep.hashes, resumed=resume is not None
            )
        )
        for finding in warnings:  # shown at the start and kept in the batch record
            ctx.notice("job", "preflight", str(finding))
        if resume is not None and resume.get("paused"):
            # paused by the operator before the outage: it stays paused until resumed (the
            # firing says at which setpoint it holds)
            ctx.paused = True
            ctx.state("run", "paused", "resumed paused, as before the outage")
        baths = held_heaters(self.plant, self.devices, prep.tanks)
        task = asyncio.get_running_loop().create_task(
            self._run(ctx, job, used, resume, claimed, baths)
        )
        self.runs[run_id] = RunHandle(
            ctx, task, used, prep.job_name, job=job, reads=claimed - used
        )
        return run_id

    def _claim(self, names: set[str]) -> None:
        """Claim `names` for this process (kept until the process lets go of them);
        EngineError naming the holder when another process has one."""
        if self.claims is None:
            return
        try:
            self.claims.take(names)
        except ClaimRefused as exc:
            raise EngineError(f"{exc}; {exc.advice}") from None
        except ClaimError as exc:
            raise EngineError(str(exc)) from None

    async def _run(
        self,
        ctx: RunContext,
        job: JobRun,
        used: set[str],
        resume: dict[str, Any] | None,
        claimed: set[str],
        baths: dict[str, Any] | None = None,
    ) -> str:
        outcome, reason = "failed", "internal error"
        # the heaters it holds stay sampled for the whole run (firing steps too)
        sampler = asyncio.get_running_loop().create_task(
            sample_held_baths(ctx, baths or {}, self.settings.period_s)
        )
        try:
            await job.run(resume)
            outcome, reason = "completed", ""
        except RunAborted as exc:
            outcome, reason = exc.outcome, exc.reason
        except asyncio.CancelledError:
            outcome, reason = "stopped", "cancelled"
            raise
        except (DeviceError, ConfigError) as exc:
            # A device failing where no unit retries it (e.g. a rectifier refusing its
            # setpoints at a step's start), or a device config the device itself refutes
            # (e.g. a decimal point it does not show): the run fails with those words; no
            # traceback (it would reach the user's terminal), nothing raised from wait().
            log.error("run %s failed: %s", ctx.run_id, exc)
            reason = str(exc)
        except Exception as exc:  # any bug must still end with devices safe and a record
            log.exception("run %s failed", ctx.run_id)
            reason = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            sampler.cancel()  # it only reads; the last bath sample stays (and ages)
            await asyncio.wait({sampler}, timeout=1.0)
            # one path for every end: a device not confirmed safe stays with the keeper,
            # its alarm on this run's record, retried until its safe state is read back
            for name in sorted(used):
                device = self.devices.get(name)
                if device is not None:
                    await self.safekeeper.make_safe(
                        device,
                        f"end of run {ctx.run_id}",
                        name=name,
                        run_id=ctx.run_id,
                        emit=ctx.emit,
                    )
            # The process keeps its claims while the keeper still retries a device: it
            # does not exit (run) or it holds the whole plant (serve) until confirmed.
            if self.claims is not None:
                self.claims.note_run(claimed, None)
            handle = self.runs.get(ctx.run_id)
            if handle is not None:
                handle.outcome, handle.reason, handle.results = outcome, reason, ctx.results
            keeper = self._keeper_for(ctx.alarms.active)
            if keeper is not None:
                keeper.adopt(ctx.alarms)  # e.g. a stuck relay outlives the run
                if keeper is not self.watch:
                    held = ", ".join(a.alarm_id for a in keeper.alarms.active)
                    ctx.emit(Notice(ctx.run_id, ctx.now(), "run", "alarm_kept",
                        f"{held} stays raised after the run: no run may start on it until "
                        "acknowledged in `kilnctl serve` (kilnctl ack ALARM_ID)"))  # fmt: skip
            ctx.emit(RunFinished(ctx.run_id, ctx.now(), outcome, reason))
            if self.journal is not None:
                self.journal.finish_run(ctx.run_id, ctx.now(), outcome)
        return outcome

    # ------------------------------------------------------------------ resume

    async def resume(self, run_id: str) -> str:
        """Continue an unfinished journal run from its last checkpoint (same run id).
        If the outage was too long or the PV is far from the schedule, the run is
        finished "stopped" with the reason as an event; returns the run id either way."""
        if self.journal is None:
            raise EngineError("resume needs a journal")
        info = next((r for r in self.journal.unfinished_runs() if r.run_id == run_id), None)
        if info is None:
            raise EngineError(f"run {run_id!r} is not an unfinished run in the journal")
        kind = service_record(info.meta)
        if kind is not None:  # the watch's or the telemetry writer's: kilnctl serve keeps it
            raise EngineError(
                f"{run_id} is the {kind}'s record, not a run: it is kept by kilnctl serve"
            )
        checkpoint = self.journal.last_checkpoint(run_id)
        meta = info.meta
        cmd = StartJob(
            ref=str(meta.get("ref") or info.job_name),
            lot_id=info.lot_id,
            who=str(meta.get("who") or "operator"),
            kiln=meta.get("kiln"),
            tank=meta.get("tank"),
            kilns=meta.get("kilns") or {},
            tanks=meta.get("tanks") or {},
            lot=Lot.model_validate(meta["lot"]) if meta.get("lot") else None,
        )
        now = self.clock.wall_time()
        refusal = (
            "no checkpoint: the run never got going"
            if checkpoint is None
            else outage_refusal(checkpoint[0], now, self.settings)
        )
        # An alarm that stops runs, raised and not cleared: the run was ending on it when
        # the process died. It may not go on; the alarm stays raised (the watch's kinds).
        stopping = [a for a in unresolved_in(self.journal, run_id) if a.stops_runs]
        if stopping and refusal is None:
            refusal = "it was stopping on alarm " + "; ".join(
                f"{a.alarm_id} ({a.message})" for a in stopping
            )
        used: set[str] = set()
        try:
            prep = self._prepare(cmd)
        except EngineError as exc:
            refusal = refusal or f"cannot load the recipe again: {exc}"
        else:
            used = devices_of(self.plant, prep.kilns, prep.tanks)
            # a run another process still drives (or whose devices it holds) is not ours
            # to continue or to stop: refuse before touching the journal or a device
            self._claim(used | devices_read(self.plant, prep.tanks))
            changed = [n for n, h in prep.hashes.items() if info.recipe_hashes.get(n) != h]
            if changed and refusal is None:
                refusal = f"recipe changed since the run started: {', '.join(changed)}"
        if refusal is not None or checkpoint is None:
            self._publish(Notice(run_id, now, "run", "resume", refusal or ""))
            self.journal.record_event(
                run_id, now, "notice", {"source": "run", "topic": "resume", "message": refusal}
            )
            busy = {d for h in self.runs.values() if h.outcome is None for d in h.devices}
            for name in sorted(used - busy):
                if name in self.devices:
                    await self.safekeeper.make_safe(
                        self.devices[name],
                        "resume refused",
                        name=name,
                        run_id=run_id,
                        emit=self._journaled,
                    )
            self.journal.finish_run(run_id, now, "stopped")
            self._publish(RunFinished(run_id, now, "stopped", refusal or ""))
            keeper = self._keeper_for(stopping)
            if keeper is not None:
                keeper.carry_alarms(stopping, f"found in run {run_id}")
            return run_id
        # Sample numbering goes on after the last sample journaled, which may be newer
        # than the checkpoint: a seq is never used twice in the batch record.
        state = checkpoint[1]
        seq = {str(k): int(v) for k, v in state.get("seq", {}).items()}
        for source, last in self.journal.last_seqs(run_id).items():
            seq[source] = max(seq.get(source, 0), last)
        return self._start(cmd, run_id=run_id, resume={**state, "seq": seq})
