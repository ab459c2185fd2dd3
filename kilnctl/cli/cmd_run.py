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
import threading
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
    freeze_startup_objects,
    live_plant,
    open_devices,
)
from kilnctl.clock import Clock, VirtualClock
from kilnctl.engine.engine import Engine, EngineError
from kilnctl.engine.messages import (
    Abort,
    AlarmRaised,
    AnswerPrompt,
    Event,
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
from kilnctl.plant import Plant
from kilnctl.recipes.loader import (
    REF_RULE,
    RecipeError,
    RecipeLibrary,
    find_recipe,
    library_for,
)
from kilnctl.recipes.models import Lot, PlatingRecipe, Recipe
from kilnctl.recipes.process_limits import defaults_for
from kilnctl.report import format_duration

TRAJECTORY_POINTS = 13


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
    p.add_argument("--material", default="brass", help="lot material for a bare recipe")
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

    p = subparsers.add_parser("resume", help="resume an unfinished run from the journal")
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


async def simulate(
    recipe: Recipe,
    plant: Plant,
    library: RecipeLibrary,
    *,
    kiln: str | None,
    lot: Lot | None,
    seed: int = 0,
) -> dict[str, Any]:
    """Dry-run `recipe` against simulated devices on the virtual clock; the summary."""
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
    outcome = await engine.wait(run_id)
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

    def add(self, event: Event) -> None:
        if isinstance(event, Sample):
            self.samples.setdefault(event.source, []).append(event)
        elif isinstance(event, StepFinished):
            self.steps.append({"label": event.label, "outcome": event.outcome, **event.details})
        elif isinstance(event, AlarmRaised):
            self.alarms.append(event.message)

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
        }


def render_summary(s: dict[str, Any]) -> str:
    """The dry-run summary as text."""
    lines = [
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
    lines.extend(f"  default used: {d}" for d in s.get("defaults", []))
    return "\n".join(lines)


def _defaults(recipe: Recipe, library: RecipeLibrary, plant: Plant) -> list[str]:
    """What the recipes leave to a default that changes the result (efficiency, hold limits)."""
    return [str(d) for d in defaults_for(recipe, library, plant.vitreous_enamel)]


def cmd_simulate(args: argparse.Namespace) -> int:
    plant = plant_for(args.config)
    recipe, library = _recipe(args.recipe)
    lot = None
    if isinstance(recipe, PlatingRecipe):
        try:
            lot = Lot.model_validate(
                {
                    "material": args.material,
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
    """Prints events, asks prompts on the terminal, turns Ctrl-C into pause/abort."""

    def __init__(self, engine: Engine, run_id: str, as_json: bool) -> None:
        self.engine = engine
        self.run_id = run_id
        self.as_json = as_json
        self.tty = sys.stdout.isatty()
        self.lines = EventLines()
        self._last_progress = 0.0
        self._lines: asyncio.Queue[str | None] | None = None

    def _start_reader(self) -> asyncio.Queue[str | None]:
        """Read stdin in a daemon thread: a question left unanswered when the run ends
        must not keep the process alive (an executor thread would be joined at exit)."""
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()

        def read() -> None:
            try:
                for line in sys.stdin:
                    loop.call_soon_threadsafe(lines.put_nowait, line)
            except (OSError, ValueError):
                pass  # stdin closed
            with contextlib.suppress(RuntimeError):  # the loop may be gone already
                loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=read, name="kilnctl-stdin", daemon=True).start()
        return lines

    async def _ask(self, question: str) -> str:
        # questions go to stderr: with --json, stdout carries nothing but JSON lines
        print(question, end="", file=sys.stderr, flush=True)
        if self._lines is None:
            self._lines = self._start_reader()
        line = await self._lines.get()
        return line.strip().lower() if line is not None else "abort"  # EOF: nobody to ask

    async def prompt(self, event: PromptRaised) -> None:
        answer = await self._ask(f"\n>>> {event.text} [{'/'.join(event.choices)}] ")
        answer = answer or event.choices[0]
        if answer.startswith("a"):
            answer = "abort"
        elif answer not in event.choices:
            answer = event.choices[0]
        with contextlib.suppress(EngineError):  # answered elsewhere meanwhile
            await self.engine.submit(
                AnswerPrompt(self.run_id, prompt_id=event.prompt_id, answer=answer, who="terminal")
            )

    async def abort(self, reason: str) -> None:
        with contextlib.suppress(EngineError):  # the run ended meanwhile
            await self.engine.submit(Abort(self.run_id, who="terminal", reason=reason))

    async def interrupted(self) -> None:
        answer = await self._ask("\n^C: [p]ause, [a]bort, or [c]ontinue? ")
        try:
            if answer.startswith("p"):
                await self.engine.submit(Pause(self.run_id, who="terminal"))
                answer = await self._ask("paused: [r]esume or [a]bort? ")
                if answer.startswith("r"):
                    await self.engine.submit(Resume(self.run_id, who="terminal"))
                    return
        except EngineError:
            return  # the run ended meanwhile
        if not answer.startswith("c"):
            await self.abort("Ctrl-C")

    def show(self, event: Event) -> None:
        if self.as_json:
            print(json.dumps(event.to_dict()), flush=True)
            return
        if isinstance(event, Sample):
            if self.tty:
                print("\r" + _progress(event).ljust(70), end="", flush=True)
            elif event.t - self._last_progress >= 60:
                self._last_progress = event.t
                print(_progress(event), flush=True)
            return
        line = self.lines.line(event.to_dict())
        if line:
            print(("\n" if self.tty else "") + line, flush=True)

    async def follow(self, queue: asyncio.Queue[Event]) -> str:
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[None]] = set()

        def spawn(coro: Coroutine[Any, Any, None]) -> None:
            task = loop.create_task(coro)
            tasks.add(task)
            task.add_done_callback(tasks.discard)

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
    journal = Journal(args.journal or plant.journal_path)
    devices = open_devices(plant)
    settings = EngineSettings(period_s=plant.sample_period_s)
    engine = Engine(devices, plant, library or RecipeLibrary(), journal, clock, settings)
    queue = engine.subscribe(maxsize=10_000)
    freeze_startup_objects()
    try:
        if start is not None:
            run_id = await engine.submit(start)
        else:
            assert resume_id is not None
            run_id = await engine.resume(resume_id)
        assert run_id is not None
        console = _Console(engine, run_id, args.json)
        if run_id not in engine.runs:  # resume refused: the reason was published
            while not queue.empty():
                console.show(queue.get_nowait())
            return 1
        outcome = await console.follow(queue)
        return 0 if outcome == "completed" else 1
    except (EngineError, RecipeError) as exc:
        raise UserError(str(exc)) from exc
    finally:
        await engine.close()
        await close_devices(devices)
        journal.close()


def cmd_run(args: argparse.Namespace) -> int:
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
    plant, clock = live_plant(args)
    run_id = args.run
    with Journal(args.journal or plant.journal_path) as journal:
        unfinished = journal.unfinished_runs()
    if run_id is None:
        if not unfinished:
            raise UserError("no unfinished run in the journal")
        run_id = unfinished[-1].run_id
    # a run started from a file finds that file's refs beside it again (REF_RULE)
    source = next((r.meta.get("file") for r in unfinished if r.run_id == run_id), None)
    library = library_for(source) if isinstance(source, str) else None
    return asyncio.run(_drive(args, plant, clock, None, run_id, library))
