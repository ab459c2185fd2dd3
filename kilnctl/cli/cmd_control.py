"""The command line as a client of `kilnctl serve`: what the TUI does, from a shell.

    kilnctl status [--json] [--steps]  every kiln/tank; runs, step, PV/SP or current, time
                                       left, alarms
    kilnctl start JOB --lot ID         start a job on the service
    kilnctl pause|skip [--run ID]      (resume: see cmd_run, which also resumes a crash)
    kilnctl extend SECONDS, abort --reason TEXT, ack ALARM, answer PROMPT [ANSWER]

Each command is one request on the service socket (service/protocol.py), the same API the
TUI uses; the lines of `status` are the TUI's (tui/format.py). A run may be named by a
unique prefix of its id; without --run the service picks the only candidate."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
from pathlib import Path
from typing import Any

from kilnctl.cli.main import UserError
from kilnctl.service.client import RequestFailed, ServiceClient, ServiceUnavailable
from kilnctl.service.protocol import default_socket_path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add status, start, pause, skip, extend, abort, ack and answer."""
    p = subparsers.add_parser(
        "status", help="every kiln and tank; the service's runs: step, PV/SP, time left, alarms"
    )
    add_service_options(p, run=False)
    p.add_argument("--json", action="store_true", help="the service's status reply as JSON")
    p.add_argument(
        "--steps",
        action="store_true",
        help="each run's job steps: device, status, start/end, planned time, ETA (as the TUI's j)",
    )
    p.set_defaults(func=cmd_status)

    p = subparsers.add_parser("start", help="start a job on the running service")
    add_service_options(p, run=False)
    p.add_argument("job", help="job (or profile/recipe) name, as `kilnctl recipes` lists")
    p.add_argument("--lot", required=True, help="lot id for the batch record")
    p.add_argument("--kiln", help="kiln for a bare firing profile")
    p.add_argument("--tank", help="tank for a bare plating recipe")
    p.set_defaults(func=cmd_start)

    for op, text in (("pause", "pause a run"), ("skip", "skip the current segment or step")):
        p = subparsers.add_parser(op, help=f"{text} of the service")
        add_service_options(p)
        p.set_defaults(func=cmd_simple, op=op)

    p = subparsers.add_parser("extend", help="extend the current hold or soak of a run")
    add_service_options(p)
    p.add_argument("seconds", type=float, help="seconds to add to the hold (service time)")
    p.set_defaults(func=cmd_extend)

    p = subparsers.add_parser("abort", help="abort a run of the service (devices made safe)")
    add_service_options(p)
    p.add_argument("--reason", default="operator abort", help="why, for the batch record")
    p.set_defaults(func=cmd_abort)

    p = subparsers.add_parser("ack", help="acknowledge an alarm of a run")
    add_service_options(p)
    p.add_argument("alarm", help="alarm id, as `kilnctl status` lists it")
    p.set_defaults(func=cmd_ack)

    p = subparsers.add_parser("answer", help="answer an operator prompt of a run")
    add_service_options(p)
    p.add_argument("prompt", help="prompt id, as `kilnctl status` lists it")
    p.add_argument("answer", nargs="?", default="ok", help="the answer (default: ok)")
    p.set_defaults(func=cmd_answer)


def add_service_options(p: argparse.ArgumentParser, run: bool = True) -> None:
    """--socket and --who (and --run for a command on one run)."""
    p.add_argument("--socket", help=f"service socket (default: {default_socket_path()})")
    if run:
        p.add_argument("--run", help="run id or a unique prefix (default: the only active run)")
    p.add_argument("--who", default=None, help="operator name for the batch record")


def who_of(args: argparse.Namespace) -> str:
    """The operator recorded for a command: --who, else "cli:<login name>"."""
    if args.who:
        return str(args.who)
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        return "cli"


def socket_of(args: argparse.Namespace) -> Path:
    return Path(args.socket) if getattr(args, "socket", None) else default_socket_path()


async def _exchange(path: Path, requests: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    client = await ServiceClient.connect(path, timeout_s=3.0)
    try:
        return [await client.request(op, **fields) for op, fields in requests]
    finally:
        await client.close()


def ask(args: argparse.Namespace, op: str, **fields: Any) -> dict[str, Any]:
    """One request to the service; UserError (one line) if none runs or it refuses."""
    try:
        return asyncio.run(_exchange(socket_of(args), [(op, fields)]))[0]
    except (ServiceUnavailable, RequestFailed) as exc:
        raise UserError(str(exc)) from None


async def answers(path: Path) -> bool:
    """True when a service answers on the socket `path`."""
    try:
        await _exchange(path, [])
    except ServiceUnavailable:
        return False
    return True


def service_answers(path: Path | None = None) -> bool:
    """answers() from synchronous code (default: the default socket)."""
    return asyncio.run(answers(path or default_socket_path()))


def run_id_for(args: argparse.Namespace) -> str | None:
    """--run expanded from a unique prefix among the service's active runs."""
    ref = getattr(args, "run", None)
    if not ref:
        return None
    runs = [r["run_id"] for r in ask(args, "status")["runs"]]
    matches = [r for r in runs if r == ref] or [r for r in runs if r.startswith(ref)]
    if len(matches) == 1:
        return str(matches[0])
    if not matches:
        listed = ", ".join(runs) or "none"
        raise UserError(f"no active run {ref!r} in the service (active: {listed})")
    raise UserError(f"run {ref!r} is ambiguous: {', '.join(matches)}")


def _command(args: argparse.Namespace, op: str, done: str, **fields: Any) -> int:
    run = run_id_for(args)
    if run:
        fields["run"] = run
    reply = ask(args, op, who=who_of(args), **fields)
    print(f"{done}: run {reply.get('run', run)}")
    return 0


def cmd_simple(args: argparse.Namespace) -> int:
    words = {"pause": "paused", "skip": "skipped", "resume": "resumed"}
    return _command(args, args.op, words[args.op])


def cmd_extend(args: argparse.Namespace) -> int:
    if args.seconds <= 0:
        raise UserError(f"extend: seconds must be > 0, got {args.seconds:g}")
    return _command(args, "extend", f"hold extended by {args.seconds:g} s", seconds=args.seconds)


def cmd_abort(args: argparse.Namespace) -> int:
    return _command(args, "abort", "abort requested (devices are being made safe)",
                    reason=args.reason)  # fmt: skip


def cmd_ack(args: argparse.Namespace) -> int:
    return _command(args, "ack", f"alarm {args.alarm} acknowledged", alarm=args.alarm)


def cmd_answer(args: argparse.Namespace) -> int:
    return _command(
        args, "answer", f"prompt {args.prompt} answered {args.answer!r}",
        prompt=args.prompt, answer=args.answer,
    )  # fmt: skip


def cmd_start(args: argparse.Namespace) -> int:
    fields = {"job": args.job, "lot": args.lot, "kiln": args.kiln, "tank": args.tank}
    reply = ask(args, "start", who=who_of(args), **{k: v for k, v in fields.items() if v})
    print(f"started run {reply['run']}: {args.job}, lot {args.lot} (follow: kilnctl status)")
    return 0


def status_text(snapshot: dict[str, Any], steps: bool = False) -> str:
    """The "status" reply as the lines a technician reads: a header, the TUI's line per
    kiln and tank, then per run the TUI's panel lines, its alarms and its prompts with the
    ids to ack/answer them; with `steps`, each run's job steps as the TUI's job view."""
    from kilnctl.report import format_duration
    from kilnctl.service.runview import RunView
    from kilnctl.tui.format import Display, alarm_line, run_lines
    from kilnctl.tui.joblines import job_lines
    from kilnctl.tui.plantlines import WIDE, name_width, plant_line, stale_after_s
    from kilnctl.tui.telemetryline import telemetry_text

    speed = float(snapshot.get("speed") or 1.0)
    clock = f"simulated time x{speed:g}" if speed != 1.0 else "real time"
    telemetry = snapshot.get("telemetry") or "journal only"
    backlog = snapshot.get("telemetry_backlog")
    health = snapshot.get("telemetry_health")
    if backlog is not None and not health:  # a service from before telemetry_health
        telemetry += f", {backlog} record(s) behind"
    lines = [
        f"service: {snapshot.get('plant', '')} | {clock} | telemetry: {telemetry}",
        f"journal: {snapshot.get('journal') or '-'}",
    ]
    if isinstance(health, dict):
        lines.append(telemetry_text(health, snapshot.get("time")))
    unsafe = snapshot.get("unsafe") or {}
    for name, problem in sorted(unsafe.items()):  # first: a device that may still heat
        lines.append(
            f"!!! {name}: NOT CONFIRMED SAFE ({problem}); the service keeps retrying "
            f"(kilnctl safe {name} shows its state)"
        )
    display = Display(now=snapshot.get("time"), speed=speed)
    devices = [r for r in snapshot.get("devices") or [] if isinstance(r, dict) and "name" in r]
    if devices:
        lines.append("")
        names_w = name_width([str(r["name"]) for r in devices], WIDE + 20)
        # a snapshot: the watch's readings are as fresh as the reply (no poll to wait for)
        lines += [
            f"  {plant_line(r, display, WIDE + 20, 0.0, stale_after_s(r, 0.0), names_w)[0]}"
            for r in devices
        ]
    runs = snapshot.get("runs", [])
    if not runs:
        lines.append("no active runs (start one: kilnctl start JOB --lot ID)")
    for data in runs:
        view = RunView.from_dict(data)
        age = ""
        if isinstance(display.now, int | float) and view.started_at:
            age = f", running {format_duration(max(0.0, display.now - view.started_at))}"
        lines.append("")
        lines.append(f"run {view.run_id}{age}")
        lines += [f"  {text}" for text, _ in run_lines(view, display)]
        lines += [f"  alarm {a['alarm_id']}: {alarm_line(a)}" for a in view.alarms.values()]
        lines += [
            f"  prompt {p['prompt_id']}: {p.get('text', '')}  (kilnctl answer {p['prompt_id']})"
            for p in view.prompts.values()
        ]
        if steps:  # the job view without its first line (the run's, printed above)
            run = {**data, "time": snapshot.get("time")}
            lines += [f"  {text}" for text, _ in job_lines(run, display, WIDE + 18)[1:]]
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    snapshot = ask(args, "status")
    if args.json:
        print(json.dumps({k: v for k, v in snapshot.items() if k not in ("id", "ok")}))
    else:
        print(status_text(snapshot, steps=args.steps))
    return 0


def resume_in_service(run_ref: str | None) -> str | None:
    """Resume a paused run of a running service (`kilnctl resume`): the run id resumed, or
    None when no service answers or it has no paused run matching `run_ref`."""
    ns = argparse.Namespace(socket=None, run=run_ref, who=None)
    if not service_answers():
        return None
    paused = [
        r["run_id"]
        for r in ask(ns, "status")["runs"]
        if r.get("state") == "paused" and (not run_ref or str(r["run_id"]).startswith(run_ref))
    ]
    if len(paused) != 1:
        if paused:
            raise UserError(f"several paused runs ({', '.join(paused)}): give the run id")
        return None
    ask(ns, "resume", run=paused[0], who=who_of(ns))
    return str(paused[0])


def hand_to_service(job: str, lot: str, kiln: str | None, ask_user: Any = input) -> int | None:
    """`kilnctl run` while `kilnctl serve` runs: the service holds the devices, so a second
    engine would fight it. Offer to start the job in the service instead (on a terminal);
    refuse with the command to use otherwise. None: no service, run here."""
    import sys

    path = default_socket_path()
    if not service_answers(path):
        return None
    command = f"kilnctl start {job} --lot {lot}" + (f" --kiln {kiln}" if kiln else "")
    print(f"kilnctl serve is running ({path}) and holds the plant's devices.", file=sys.stderr)
    if not sys.stdin.isatty() and ask_user is input:
        raise UserError(f"not run here: hand the job to the service with `{command}`")
    answer = str(ask_user("Hand the job to the service instead? [Y/n] ")).strip().lower()
    if answer not in ("", "y", "yes"):
        raise UserError(f"not started; to run it in the service: `{command}`")
    ns = argparse.Namespace(socket=str(path), who=None)
    fields = {"job": job, "lot": lot} | ({"kiln": kiln} if kiln else {})
    reply = ask(ns, "start", who=who_of(ns), **fields)
    print(f"started run {reply['run']} in the service (follow: kilnctl status / kilnctl tui)")
    return 0
