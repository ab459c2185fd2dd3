"""`kilnctl simulate JOB|PROFILE`, `kilnctl run JOB --lot ID`, `kilnctl resume [RUN]`.

simulate: a dry run against in-process simulated devices on the virtual clock (prompts
answered automatically): predicted trajectory, duration, amp-hours and thickness.
run/resume: the plant's real devices, the journal, the real (or --speed scaled) clock;
events printed as lines or JSON lines; prompts asked on the terminal; Ctrl-C asks pause
or abort, and the devices are left safe whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

from kilnctl.cli.event_lines import EventLines
from kilnctl.cli.main import UserError
from kilnctl.cli.plant_arg import plant_for
from kilnctl.cli.plant_devices import (
    close_devices,
    device_claims,
    freeze_startup_objects,
    live_plant,
    open_devices,
)
from kilnctl.cli.terminal import Terminal
from kilnctl.cli.unsafe_wait import LEFT_UNSAFE_EXIT, stay_until_safe
from kilnctl.clock import Clock, VirtualClock
from kilnctl.engine.engine import Engine, EngineError
from kilnctl.engine.messages import (
    Abort,
    AlarmRaised,
    AnswerPrompt,
    Event,
    Notice,
    Pause,
    PromptRaised,
    Resume,
    RunFinished,
    Sample,
    StartJob,
    StepFinished,
)
from kilnctl.engine.settings import EngineSettings
from kilnctl.journal import Journal
from kilnctl.journal_location import ensure_parent, journal_for
from kilnctl.plant import Plant
from kilnctl.recipes import estimate
from kilnctl.recipes.loader import (
    REF_RULE,
    RecipeError,
    RecipeLibrary,
    find_recipe,
    library_for,
)
from kilnctl.recipes.models import FiringProfile, Job, Lot, PlatingRecipe, Recipe
from kilnctl.recipes.process_limits import defaults_for
from kilnctl.report import format_duration

TRAJECTORY_POINTS = 13
DEFAULT_SIM_MATERIAL = "brass"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the simulate, run and resume subcommands."""
    p = subparsers.add_parser(
        "simulate",
        help="dry-run a job/profile/recipe on simulators",
        description="Dry-run on in-process simulators of the plant's devices. " + REF_RULE,
    )
    p.add_argument("recipe", help="recipe name (profiles/) or a .toml file")
    p.add_argument("--json", action="store_true", help="the summary as one JSON object")
    p.add_argument("--kiln", help="kiln for a bare firing profile (default: the first)")
    p.add_argument("--pins", type=int, default=100, help="lot size for a bare plating recipe")
    p.add_argument("--area-per-pin", type=float, default=0.12, help="dm² per pin (0.12)")
    p.add_argument(
        "--material",
        help=f"lot material for a bare recipe (plating default: {DEFAULT_SIM_MATERIAL}; "
        "a firing is checked against it only when given)",
    )
    p.add_argument("--seed", type=int, default=0, help="simulator noise seed")
    p.set_defaults(func=cmd_simulate)

    p = subparsers.add_parser(
        "run",
        help="run a job on the plant's devices",
        description="Run a job (or a profile or recipe) on the plant's devices. " + REF_RULE,
    )
    p.add_argument("recipe", help="job (or profile/recipe) name, or a .toml file")
    p.add_argument("--lot", required=True, help="lot id for the batch record")
    p.add_argument("--kiln", help="kiln for a bare firing profile")
    _common_run_options(p)
    p.set_defaults(func=cmd_run)

    p = subparsers.add_parser(
        "resume",
        help="resume a paused run of the service, else an unfinished run from the journal",
    )
    p.add_argument("run", nargs="?", help="run id (default: the latest unfinished run)")
    _common_run_options(p)
    p.set_defaults(func=cmd_resume)


def _common_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="events as JSON lines")
    p.add_argument("--speed", type=float, help="run the clock N times faster (simulators)")
    p.add_argument("--journal", help="journal file (default: the plant config's)")


# ---------------------------------------------------------------------- loading


def _recipe(ref: str) -> tuple[Recipe, RecipeLibrary]:
    """The recipe named on the command line and the library its refs resolve in (REF_RULE:
    beside the file, then the profile folders), the same as `validate` and `show` use."""
    recipe, _, library = _find(ref)
    return recipe, library


def _find(ref: str) -> tuple[Recipe, Path | None, RecipeLibrary]:
    try:
        return find_recipe(ref)
    except RecipeError as exc:
        raise UserError(str(exc)) from exc


# ---------------------------------------------------------------------- simulate


def _sim_devices(plant: Plant, clock: VirtualClock, seed: int) -> dict[str, object]:
    # simulators are imported only here: `simulate` is a dry run by definition
    from simulators.inprocess import SimBathHeater, SimKilnController, SimRectifier
    from simulators.physics.plating import PlatingCell, PlatingParams, default_bath_params

    devices: dict[str, object] = {}
    for kiln in plant.kilns.values():
        devices[kiln.controller] = SimKilnController(kiln.controller, clock.now, seed=seed)
    for tank in plant.tanks.values():
        if tank.rectifier in devices:
            continue
        bath = default_bath_params()
        if tank.bath_temp_c is not None:  # the bath is at working temperature already
            bath = replace(bath, initial_c=sum(tank.bath_temp_c) / 2)
        cell = PlatingCell(PlatingParams(bath=bath), clock.now, seed)
        devices[tank.rectifier] = SimRectifier(tank.rectifier, clock.now, cell=cell)
        if tank.heater is not None:
            devices[tank.heater] = SimBathHeater(tank.heater, clock.now, cell=cell)
    return devices


async def _hold_baths(plant: Plant, devices: dict[str, Any]) -> None:
    for tank in plant.tanks.values():
        if tank.heater is not None and tank.bath_temp_c is not None:
            await devices[tank.heater].set_setpoint(sum(tank.bath_temp_c) / 2)


SIM_LIMIT_FACTOR = 3.0
"""`simulate` stops a job still running after this many times its estimated duration ..."""
SIM_LIMIT_MIN_S = 2 * 3600.0
"""... but not before this (short recipes: the estimate's rounding), ..."""
SIM_LIMIT_MAX_S = 48 * 3600.0
"""... and always here (also when no estimate can be made): no job of the plant runs two
days, and a dry run must end (a segment that cannot end would run it forever)."""


def sim_time_limit(recipe: Recipe, library: RecipeLibrary, lot: Lot | None) -> tuple[float, str]:
    """Simulated seconds a dry run of `recipe` may take, and the words saying why."""
    try:
        steps: list[Recipe] = (
            [library.get(s.ref) for s in recipe.steps if s.ref is not None]
            if isinstance(recipe, Job)
            else [recipe]
        )
    except RecipeError:
        steps = []
    area = lot.area_dm2 if lot is not None else None
    estimated = 0.0
    for step in steps:
        if isinstance(step, FiringProfile):
            estimated += estimate.estimate_firing(step).duration_s
        elif isinstance(step, PlatingRecipe):
            estimated += sum(estimate.estimate_step(s, area).duration_s or 0.0 for s in step.steps)
    limit = min(max(SIM_LIMIT_FACTOR * estimated, SIM_LIMIT_MIN_S), SIM_LIMIT_MAX_S)
    basis = (
        f"{SIM_LIMIT_FACTOR:g} × the estimated {format_duration(estimated)}"
        if estimated and limit == SIM_LIMIT_FACTOR * estimated
        else f"the {format_duration(limit)} cap of a dry run"
    )
    why = (
        f"not finished after {format_duration(limit)} simulated ({basis}): "
        "a segment that cannot end? see the notices and `kilnctl validate`"
    )
    return limit, why


async def simulate(
    recipe: Recipe,
    plant: Plant,
    library: RecipeLibrary,
    *,
    kiln: str | None,
    lot: Lot | None,
    seed: int = 0,
    limit_s: float | None = None,
) -> dict[str, Any]:
    """Dry-run `recipe` against simulated devices on the virtual clock; the summary. The run
    is aborted after `limit_s` simulated seconds (default: sim_time_limit)."""
    clock = VirtualClock()
    devices = _sim_devices(plant, clock, seed)
    await _hold_baths(plant, devices)
    settings = EngineSettings(period_s=plant.sample_period_s, auto_answer=True)
    engine = Engine(devices, plant, library, None, clock, settings)
    collector = _Collector()
    queue = engine.subscribe(maxsize=1_000_000)
    wall = time.perf_counter()
    if kiln is None and plant.kilns:
        kiln = next(iter(plant.kilns))
    try:
        run_id = await engine.submit(
            StartJob(
                ref=recipe.name, recipe=recipe, kiln=kiln, lot=lot, lot_id="dry-run", who="simulate"
            )
        )
    except EngineError as exc:
        raise UserError(str(exc)) from exc
    assert run_id is not None
    limit, why = sim_time_limit(recipe, library, lot)
    if limit_s is not None:
        limit, why = limit_s, f"not finished after {format_duration(limit_s)} simulated"

    async def stop_at_limit() -> None:
        await clock.sleep(limit)
        with contextlib.suppress(EngineError):  # it ended meanwhile
            await engine.submit(Abort(run_id, who="simulate", reason=why))

    watchdog = asyncio.get_running_loop().create_task(stop_at_limit())
    try:
        outcome = await engine.wait(run_id)
    finally:
        watchdog.cancel()
    while not queue.empty():
        collector.add(queue.get_nowait())
    return collector.summary(
        recipe, outcome, engine.runs[run_id].reason, clock.now(), time.perf_counter() - wall
    )


class _Collector:
    """Keeps what a dry-run summary needs from the event stream."""

    def __init__(self) -> None:
        self.samples: dict[str, list[Sample]] = {}
        self.steps: list[dict[str, Any]] = []
        self.alarms: list[str] = []
        self.notices: list[str] = []

    def add(self, event: Event) -> None:
        if isinstance(event, Sample):
            self.samples.setdefault(event.source, []).append(event)
        elif isinstance(event, StepFinished):
            self.steps.append({"label": event.label, "outcome": event.outcome, **event.details})
        elif isinstance(event, AlarmRaised):
            self.alarms.append(event.message)
        elif isinstance(event, Notice):
            self.notices.append(f"{event.source} {event.topic}: {event.message}")

    def summary(
        self, recipe: Recipe, outcome: str, reason: str, sim_s: float, wall_s: float
    ) -> dict[str, Any]:
        kilns = {}
        for source, samples in self.samples.items():
            if "pv_c" not in samples[0].values:
                continue
            t0 = samples[0].t
            stride = max(1, len(samples) // (TRAJECTORY_POINTS - 1))
            points = (
                [*samples[::stride], samples[-1]]
                if samples[-1] is not samples[::stride][-1]
                else samples[::stride]
            )
            kilns[source] = {
                "peak_pv_c": round(max(s.values["pv_c"] for s in samples), 1),
                "peak_sp_c": round(max(s.values["sp_c"] for s in samples), 1),
                "trajectory": [
                    {
                        "t_min": round((s.t - t0) / 60, 1),
                        "sp_c": round(s.values["sp_c"], 1),
                        "pv_c": round(s.values["pv_c"], 1),
                        "out_pct": round(s.values["out_pct"]),
                    }
                    for s in points
                ],
            }
        return {
            "recipe": recipe.name,
            "kind": recipe.kind,
            "outcome": outcome,
            "reason": reason,
            "duration_s": round(sim_s, 1),
            "wall_s": round(wall_s, 3),
            "steps": self.steps,
            "kilns": kilns,
            "alarms": self.alarms,
            "notices": self.notices,
        }


def render_summary(s: dict[str, Any]) -> str:
    """The dry-run summary as text."""
    lines = [f"{n}" for n in s.get("notices", []) if " preflight: " in n]
    lines += [
        f"{s['kind']} {s['recipe']}: {s['outcome']}"
        + (f" ({s['reason']})" if s["reason"] else "")
        + f" after {format_duration(s['duration_s'])} simulated ({s['wall_s']:.2f} s wall)"
    ]
    for step in s["steps"]:
        extra = []
        if "duration_s" in step:
            extra.append(format_duration(step["duration_s"]))
        if "amp_hours" in step and "step" in step:
            extra.append(f"{step['amp_hours']:.3f} Ah")
        if "thickness_um" in step:
            extra.append(f"{step['thickness_um']:.3f} µm")
        if step.get("final_pv_c") is not None:
            extra.append(f"final PV {step['final_pv_c']:.0f} °C")
        if step.get("reason"):
            extra.append(step["reason"])
        name = step.get("step") or step["label"]
        lines.append(f"  {name}: {step['outcome']}" + (f", {', '.join(extra)}" if extra else ""))
    for kiln, k in s["kilns"].items():
        lines.append(f"  {kiln}: peak PV {k['peak_pv_c']:.1f} °C (setpoint {k['peak_sp_c']:.1f})")
        lines.append("    t/min      SP °C    PV °C   out %")
        lines.extend(
            f"    {p['t_min']:6.1f}  {p['sp_c']:8.1f} {p['pv_c']:8.1f}  {p['out_pct']:5d}"
            for p in k["trajectory"]
        )
    lines.extend(f"  alarm: {a}" for a in s["alarms"])
    lines.extend(f"  notice: {n}" for n in s.get("notices", []) if " preflight: " not in n)
    lines.extend(f"  default used: {d}" for d in s.get("defaults", []))
    return "\n".join(lines)


def _defaults(recipe: Recipe, library: RecipeLibrary, plant: Plant) -> list[str]:
    """What the recipes leave to a default that changes the result (efficiency, hold limits)."""
    return [str(d) for d in defaults_for(recipe, library, plant.vitreous_enamel)]


def cmd_simulate(args: argparse.Namespace) -> int:
    plant = plant_for(args.config)
    recipe, library = _recipe(args.recipe)
    lot = None
    # a bare plating recipe needs a lot (its area); a bare firing gets one when a material
    # is named, so the material's rules hold as they do for a job's lot
    if isinstance(recipe, PlatingRecipe) or (isinstance(recipe, FiringProfile) and args.material):
        try:
            lot = Lot.model_validate(
                {
                    "material": args.material or DEFAULT_SIM_MATERIAL,
                    "pin_count": args.pins,
                    "area_per_pin": args.area_per_pin,
                }
            )
        except ValueError as exc:
            raise UserError(f"bad lot: {exc}") from exc
    summary = asyncio.run(simulate(recipe, plant, library, kiln=args.kiln, lot=lot, seed=args.seed))
    summary["defaults"] = _defaults(recipe, library, plant)
    print(json.dumps(summary) if args.json else render_summary(summary))
    return 0 if summary["outcome"] == "completed" else 1


# ---------------------------------------------------------------------- run / resume


def _progress(sample: Sample) -> str:
    v = sample.values
    if "pv_c" in v:
        return (
            f"{sample.source}: PV {v['pv_c']:7.1f} °C  SP {v['sp_c']:7.1f} °C  "
            f"out {v['out_pct']:5.1f} %"
        )
    if "amps" in v:
        return f"{sample.source}: {v['amps']:6.2f} A  {v['volts']:5.2f} V  {v['amp_hours']:.3f} Ah"
    return f"{sample.source}: " + " ".join(f"{k}={x:.2f}" for k, x in v.items())


class _Console:
    """Prints events, asks prompts on the terminal, turns Ctrl-C into pause/abort
    (kilnctl.cli.terminal keeps each question readable until it is answered)."""

    def __init__(self, engine: Engine, run_id: str, as_json: bool) -> None:
        self.engine = engine
        self.run_id = run_id
        self.as_json = as_json
        self.terminal = Terminal()
        self.lines = EventLines()
        self._last_progress = 0.0
        self._interrupting = False

    async def prompt(self, event: PromptRaised) -> None:
        choices = tuple(dict.fromkeys([*event.choices, "abort"]))
        answer = await self.terminal.ask(
            f">>> {event.text} [{'/'.join(event.choices)}] ", choices, default=event.choices[0]
        )
        with contextlib.suppress(EngineError):  # answered elsewhere meanwhile
            await self.engine.submit(
                AnswerPrompt(self.run_id, prompt_id=event.prompt_id, answer=answer, who="terminal")
            )

    async def ask_leave(self, question: str) -> str:
        """For stay_until_safe: "leave", "retry" (Enter), or "abort" at the end of input."""
        return await self.terminal.ask(question, ("leave", "retry"), default="retry")

    async def abort(self, reason: str) -> None:
        with contextlib.suppress(EngineError):  # the run ended meanwhile
            await self.engine.submit(Abort(self.run_id, who="terminal", reason=reason))

    async def interrupted(self) -> None:
        if self._interrupting or self.terminal.asking:
            self.terminal.show_question_again()  # one question at a time, in order
            return
        self._interrupting = True
        try:
            await self._pause_abort_or_continue()
        finally:
            self._interrupting = False

    async def _pause_abort_or_continue(self) -> None:
        answer = await self.terminal.ask(
            "^C: [p]ause, [a]bort, or [c]ontinue? ", ("pause", "abort", "continue")
        )
        try:
            if answer == "pause":
                await self.engine.submit(Pause(self.run_id, who="terminal"))
                await self.while_paused("paused", "Ctrl-C")
                return
        except EngineError:
            return  # the run ended meanwhile
        if answer == "abort":
            await self.abort("Ctrl-C")

    async def while_paused(self, why: str, abort_reason: str) -> None:
        """Ask how a paused run goes on: resume it or abort it (it stays paused, and the
        question on screen, until one is answered)."""
        answer = await self.terminal.ask(f"{why}: [r]esume or [a]bort? ", ("resume", "abort"))
        try:
            if answer == "resume":
                await self.engine.submit(Resume(self.run_id, who="terminal"))
                return
        except EngineError:
            return  # the run ended meanwhile
        await self.abort(abort_reason)

    def show(self, event: Event) -> None:
        if self.as_json:
            print(json.dumps(event.to_dict()), flush=True)
            return
        if isinstance(event, Sample):
            if self.terminal.tty:
                self.terminal.status(_progress(event))
            elif event.t - self._last_progress >= 60:
                self._last_progress = event.t
                print(_progress(event), flush=True)
            return
        line = self.lines.line(event.to_dict())
        if line:
            self.terminal.line(line)

    async def follow(self, queue: asyncio.Queue[Event], paused: bool = False) -> str:
        """Show the run's events until it finishes; returns its outcome. `paused`: the
        run was resumed paused (as the operator left it): ask at once how it goes on."""
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[None]] = set()

        def spawn(coro: Coroutine[Any, Any, None]) -> None:
            task = loop.create_task(coro)
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        if paused:
            spawn(self.while_paused("resumed paused", "aborted after a paused resume"))

        def on_sigint() -> None:
            spawn(self.interrupted())

        def on_terminate(signum: signal.Signals) -> None:
            # No operator is left to answer (SIGTERM from a service manager or `timeout`,
            # SIGHUP from a closed terminal): abort, which leaves every device safe.
            # A firing that must outlive its terminal runs under `kilnctl serve`.
            spawn(self.abort(f"{signum.name} received"))

        # not in the main thread, Ctrl-C stays a KeyboardInterrupt
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, on_sigint)
            for signum in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(signum, on_terminate, signum)
        try:
            while True:
                event = await queue.get()
                if event.run_id != self.run_id:
                    continue
                self.show(event)
                if isinstance(event, PromptRaised):
                    task = loop.create_task(self.prompt(event))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if isinstance(event, RunFinished):
                    return event.outcome
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(signum)
            for task in tasks:
                task.cancel()


async def _drive(
    args: argparse.Namespace,
    plant: Plant,
    clock: Clock,
    start: StartJob | None,
    resume_id: str | None,
    library: RecipeLibrary | None = None,
) -> int:
    journal = Journal(ensure_parent(journal_for(args.journal, plant, args.config)))
    devices = open_devices(plant)
    settings = EngineSettings(period_s=plant.sample_period_s)
    # the engine claims the run's devices before its first request (kilnctl.claims)
    claims = device_claims(plant, "kilnctl run" if start is not None else "kilnctl resume")
    engine = Engine(devices, plant, library or RecipeLibrary(), journal, clock, settings, claims)
    queue = engine.subscribe(maxsize=10_000)
    freeze_startup_objects()
    try:
        if start is not None:
            run_id = await engine.submit(start)
        else:
            assert resume_id is not None
            run_id = await engine.resume(resume_id)
        assert run_id is not None
        print(f"kilnctl: run {run_id}, journal {journal.path}", file=sys.stderr)
        console = _Console(engine, run_id, args.json)
        if run_id not in engine.runs:  # resume refused: the reason was published
            while not queue.empty():
                console.show(queue.get_nowait())
            code = 1
        else:
            outcome = await console.follow(queue, paused=engine.runs[run_id].ctx.paused)
            code = 0 if outcome == "completed" else 1
        # the run has ended; a device it drove may not be confirmed safe yet
        if not await stay_until_safe(engine.safekeeper, queue, console.show, console.ask_leave):
            return LEFT_UNSAFE_EXIT
        return code
    except (EngineError, RecipeError) as exc:
        raise UserError(str(exc)) from exc
    finally:
        await engine.close()
        await close_devices(devices)
        claims.release()
        journal.close()


def cmd_run(args: argparse.Namespace) -> int:
    from kilnctl.cli.cmd_control import hand_to_service

    handed = hand_to_service(args.recipe, args.lot, args.kiln)
    if handed is not None:  # a running service holds the devices: it runs the job
        return handed
    plant, clock = live_plant(args)
    recipe, path, library = _find(args.recipe)
    # stderr: with --json, stdout carries nothing but events; the batch record keeps them too
    for line in _defaults(recipe, library, plant):
        print(f"default used: {line}", file=sys.stderr)
    # a file named on the command line is recorded, so `resume` looks beside it again
    source = str(path.resolve()) if path is not None and Path(args.recipe).is_file() else None
    start = StartJob(
        ref=recipe.name,
        recipe=recipe,
        lot_id=args.lot,
        kiln=args.kiln,
        who="terminal",
        source=source,
    )
    return asyncio.run(_drive(args, plant, clock, start, None, library))


def cmd_resume(args: argparse.Namespace) -> int:
    from kilnctl.cli.cmd_control import resume_in_service
    from kilnctl.cli.cmd_serve import SERVICE_JOBS

    resumed = resume_in_service(args.run)
    if resumed is not None:
        print(f"resumed: run {resumed} (in the service)")
        return 0
    plant, clock = live_plant(args)
    run_id = args.run
    with Journal(journal_for(args.journal, plant, args.config)) as journal:
        # a service killed leaves its own records (watch, telemetry) open: not runs
        unfinished = [r for r in journal.unfinished_runs() if r.job_name not in SERVICE_JOBS]
    if run_id is None:
        if not unfinished:
            raise UserError("no unfinished run in the journal")
        run_id = unfinished[-1].run_id
    # a run started from a file finds that file's refs beside it again (REF_RULE)
    source = next((r.meta.get("file") for r in unfinished if r.run_id == run_id), None)
    library = library_for(source) if isinstance(source, str) else None
    return asyncio.run(_drive(args, plant, clock, None, run_id, library))
