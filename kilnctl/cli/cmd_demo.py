"""`kilnctl demo [--headless]`: the simulated plant, a service and the TUI, together.

Starts `kilnctl sim --speed 60` and `kilnctl serve --speed 60` as child processes (the
plant config is kilnctl.example.toml with the simulators' URLs), starts the main job for lot
DEMO-<date> with prompts answered automatically well inside the unload window, and opens
the TUI on it. With --headless, or when stdout is not a terminal, it prints the event lines
instead and exits when the job ends.

Reachable while it runs: the simulators write the user's default URLs file and the service
listens on the default socket (unless another sim/service already has them), so
`kilnctl sim-fault`, `kilnctl status`, `kilnctl pause` work from another shell. The journal
is kept in the per-user state directory (demo-journal.sqlite) and named on exit.

The demo owns its children: they run in their own session (a Ctrl-C or hang-up of the
terminal reaches the demo only) and get SIGTERM if the demo dies (PR_SET_PDEATHSIG). On
any exit (job end, q, Ctrl-C, SIGTERM, SIGHUP) the demo aborts what runs, so the service
makes the devices safe, then stops the service, then the simulators.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from kilnctl.cli.event_lines import EventLines
from kilnctl.cli.main import UserError
from kilnctl.engine.job import UNLOAD_MARGIN_MIN_S
from kilnctl.journal_location import default_journal_path, ensure_parent
from kilnctl.plant import EXAMPLE_PLANT
from kilnctl.service.client import RequestFailed, ServiceClient, ServiceUnavailable
from kilnctl.service.protocol import DROPPED, default_socket_path
from kilnctl.sim_link import SIM_URLS_ENV, running_sim, sim_urls_path

DEMO_JOB = "job-3-layer-enamel-nickel-gold"
SPEED = 60.0
ANSWER_AFTER_S = UNLOAD_MARGIN_MIN_S / SPEED / 2
"""Wall seconds a prompt stays on screen before the demo answers it: half the shortest
unload window (engine/job.py) at the demo's speed, so the demo never over-fires."""
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the demo subcommand."""
    p = subparsers.add_parser(
        "demo",
        help="simulated plant + service + TUI running the main job (a first look)",
        description=f"Run {DEMO_JOB} on the simulated plant at x{SPEED:g} speed, prompts "
        "answered automatically; q quits and stops everything.",
    )
    p.add_argument("--headless", action="store_true", help="print event lines, no TUI")
    p.add_argument("--job", default=DEMO_JOB, help=f"job to run (default {DEMO_JOB})")
    p.set_defaults(func=cmd_demo)


def kilnctl_argv(*args: str) -> list[str]:
    """The argv that runs `kilnctl ARGS...` with this interpreter."""
    return [sys.executable, "-m", "kilnctl", *args]


class _Children:
    """The demo's child processes; stop() ends each (SIGTERM, then SIGKILL) and waits."""

    def __init__(self, env: dict[str, str]) -> None:
        self.procs: list[tuple[str, asyncio.subprocess.Process]] = []
        self.env = env

    async def spawn(self, name: str, argv: list[str], log: IO[bytes]) -> asyncio.subprocess.Process:
        # own session: the terminal's Ctrl-C or hang-up must not stop the simulators before
        # the service has made the devices safe; the demo stops them in order
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=self.env,
            start_new_session=True,
            preexec_fn=_term_with_parent,
        )
        self.procs.append((name, proc))
        return proc

    async def stop(self) -> None:
        """Stop the children newest first: the service (devices safe) before the simulators."""
        for _, proc in reversed(self.procs):
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                try:
                    async with asyncio.timeout(STOP_TIMEOUT_S):
                        await proc.wait()
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()


def _term_with_parent() -> None:
    """In the child before exec: SIGTERM when the demo dies, even by SIGKILL (Linux
    prctl(2) PR_SET_PDEATHSIG = 1); elsewhere nothing."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


async def _abort_runs(socket: Path) -> None:
    """Abort the service's runs and wait until they ended: the devices are safe (read back
    by the engine) before the service and the simulators are stopped."""
    with contextlib.suppress(ServiceUnavailable, RequestFailed, TimeoutError):
        client = await ServiceClient.connect(socket, timeout_s=2.0)
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                for run in (await client.request("status"))["runs"]:
                    with contextlib.suppress(RequestFailed):  # ended meanwhile
                        await client.request(
                            "abort", run=run["run_id"], reason="demo stopped", who="demo"
                        )
                while (await client.request("status"))["runs"]:
                    await asyncio.sleep(0.1)
        finally:
            await client.close()


async def _endpoints(workdir: Path) -> tuple[Path, Path]:
    """The service socket and the simulators' URLs file: the user's defaults, so other
    shells reach them, unless a service or simulator of the user's already has them."""
    socket, urls = default_socket_path(), sim_urls_path()
    from kilnctl.cli.cmd_control import answers

    if await answers(socket):
        socket = workdir / "kilnctl.sock"
    if running_sim(urls) is not None:
        urls = workdir / "urls.json"
    return socket, urls


async def _wait_for_urls(path: Path, sim: asyncio.subprocess.Process, log: Path) -> None:
    async with asyncio.timeout(START_TIMEOUT_S):
        while not path.is_file():
            if sim.returncode is not None:
                raise UserError(f"the simulators did not start: see {log}")
            await asyncio.sleep(0.1)


async def _connect(socket: Path, serve: asyncio.subprocess.Process, log: Path) -> ServiceClient:
    async with asyncio.timeout(START_TIMEOUT_S):
        while True:
            if serve.returncode is not None:
                raise UserError(f"the service did not start: {_tail(log)}")
            with contextlib.suppress(ServiceUnavailable):
                return await ServiceClient.connect(socket, timeout_s=1.0)
            await asyncio.sleep(0.1)


def _tail(log: Path) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return lines[-1] if lines else f"see {log}"


async def _answer_later(client: ServiceClient, event: dict[str, Any]) -> None:
    await asyncio.sleep(ANSWER_AFTER_S)
    choice = (event.get("choices") or ["ok"])[0]
    print(f"demo: answering {choice!r} to {event['text']!r} automatically", flush=True)
    with contextlib.suppress(RequestFailed, ServiceUnavailable):  # answered or gone
        await client.request(
            "answer",
            run=event["run_id"],
            prompt=event["prompt_id"],
            answer=choice,
            who="demo (automatic)",
        )


async def _headless(client: ServiceClient, run_id: str) -> int:
    """Print events until the run ends; answer prompts after a pause."""
    tasks: set[asyncio.Task[None]] = set()
    lines = EventLines()
    last_progress = 0.0
    outcome = "unknown"
    try:
        async for event in client.events():
            if event.get("kind") == DROPPED:
                print(f"(display fell behind: {event.get('count')} events skipped)", flush=True)
                continue
            if event.get("run_id") != run_id:
                continue
            if event.get("kind") == "sample" and event["t"] - last_progress >= 600:
                last_progress = event["t"]  # one progress line per 10 simulated minutes
                values = ", ".join(f"{k}={v:.2f}" for k, v in event["values"].items())
                print(f"  {event['source']}: {values}", flush=True)
            line = lines.line(event)
            if line:
                print(line, flush=True)
            if event.get("kind") == "prompt":
                task = asyncio.get_running_loop().create_task(_answer_later(client, event))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if event.get("kind") == "run_finished":
                outcome = str(event.get("outcome"))
                break
    finally:
        for task in tasks:
            task.cancel()
    print(f"demo: the job ended {outcome}", flush=True)
    return 0 if outcome == "completed" else 1


async def _demo(args: argparse.Namespace, headless: bool, workdir: Path, journal: Path) -> int:
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    # SIGTERM, a hang-up (terminal gone) and, headless, Ctrl-C end the demo like q does:
    # the finally below makes the devices safe and stops the children in order
    for signum in (signal.SIGTERM, signal.SIGHUP, *((signal.SIGINT,) if headless else ())):
        loop.add_signal_handler(signum, main.cancel)
    sim_log, serve_log = workdir / "sim.log", workdir / "serve.log"
    socket, urls_file = await _endpoints(workdir)
    # The demo's own simulators: the service finds them through this URLs file, with the
    # bundled plant config (whose device names are the simulated plant's).
    children = _Children({**os.environ, SIM_URLS_ENV: str(urls_file)})
    with sim_log.open("wb") as sim_out, serve_log.open("wb") as serve_out:
        try:
            sim = await children.spawn(
                "sim",
                kilnctl_argv("sim", "--speed", f"{SPEED:g}", "--urls", str(urls_file)),
                sim_out,
            )
            await _wait_for_urls(urls_file, sim, sim_log)
            serve = await children.spawn(
                "serve",
                kilnctl_argv(
                    "--config",
                    str(EXAMPLE_PLANT),
                    "serve",
                    "--socket",
                    str(socket),
                    "--speed",
                    f"{SPEED:g}",
                    "--journal",
                    str(journal),
                ),
                serve_out,
            )
            print(
                f"demo: service on {socket}, simulators' URLs in {urls_file}\n"
                f"demo: from another shell: kilnctl status"
                + ("" if socket == default_socket_path() else f" --socket {socket}")
                + ", kilnctl sim-fault kiln1 tc_open"
                + ("" if urls_file == sim_urls_path() else f" --urls {urls_file}"),
                flush=True,
            )
            client = await _connect(socket, serve, serve_log)
            try:
                await client.request("subscribe")
                lot = f"DEMO-{time.strftime('%Y%m%d')}"
                try:
                    run_id = (await client.request("start", job=args.job, lot=lot, who="demo"))[
                        "run"
                    ]
                except RequestFailed as exc:
                    raise UserError(f"the demo job did not start: {exc}") from None
                print(f"demo: {args.job} started as {run_id} for lot {lot}", flush=True)
                if headless:
                    return await _headless(client, run_id)
            finally:
                await client.close()
            from kilnctl.tui.app import KilnApp

            app = KilnApp(
                socket,
                auto_answer_s=ANSWER_AFTER_S,
                subtitle=f"demo x{SPEED:g}: prompts are answered automatically",
            )
            await app.run_async()
            return app.return_code or 0
        except TimeoutError:
            raise UserError(
                f"the demo did not come up in {START_TIMEOUT_S:g} s: see {workdir}"
            ) from None
        finally:
            # shielded: a second Ctrl-C or SIGTERM must not cut the shutdown short
            await asyncio.shield(_stop_in_order(children, socket))


async def _stop_in_order(children: _Children, socket: Path) -> None:
    await _abort_runs(socket)
    await children.stop()


def demo_journal_path() -> Path:
    """The demo's journal: beside the user's journal, apart from real production runs."""
    return default_journal_path().with_name("demo-journal.sqlite")


def cmd_demo(args: argparse.Namespace) -> int:
    headless = bool(args.headless) or not sys.stdout.isatty()
    workdir = Path(tempfile.mkdtemp(prefix="kilnctl-demo-"))
    journal = ensure_parent(demo_journal_path())
    keep_logs = False
    try:
        code = asyncio.run(_demo(args, headless, workdir, journal))
    except asyncio.CancelledError:  # a signal: the children were stopped on the way out
        code = 130
    except UserError:
        keep_logs = True  # the error names workdir: its logs say what went wrong
        raise
    finally:
        if not keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)
        print(
            f"demo: journal kept at {journal} (kilnctl runs --journal {journal})",
            file=sys.stderr,
        )
    return code
