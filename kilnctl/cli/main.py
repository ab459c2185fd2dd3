"""`kilnctl` entry point.

Commands are listed in `COMMANDS` (name -> module, one-line description, example). Only the
module of the command being run is imported: `kilnctl --help` shows the table without
importing any command module, so the plant config models (pydantic), the drivers and the
engine are loaded only by the commands that use them. A `cmd_*` module of this package not
in the table is imported at once (slower `--help`, but never a missing command);
tests/cli/test_cli_lazy.py checks that the table lists every command."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence
from typing import NamedTuple, NoReturn

from kilnctl import __version__


class UserError(Exception):
    """An error the user can act on: printed as one line, exit code 2, no traceback."""


class Command(NamedTuple):
    """Where a subcommand lives and how `kilnctl --help` describes it."""

    module: str
    help: str
    example: str


COMMANDS: dict[str, Command] = {
    "abort": Command("cmd_control", "abort a run of the service", "kilnctl abort --reason 'door'"),
    "ack": Command("cmd_control", "acknowledge an alarm of a run", "kilnctl ack ALARM_ID"),
    "answer": Command(
        "cmd_control", "answer an operator prompt of a run", "kilnctl answer PROMPT_ID ok"
    ),
    "demo": Command(
        "cmd_demo",
        "simulated plant + service + TUI running the main job (a first look)",
        "kilnctl demo --headless",
    ),
    "devices": Command(
        "cmd_devices", "list configured devices and their health", "kilnctl devices --json"
    ),
    "export": Command(
        "cmd_export",
        "one run's samples to a CSV file or into InfluxDB (backfill)",
        "kilnctl export last --csv lot42.csv",
    ),
    "extend": Command(
        "cmd_control", "extend the current hold or soak of a run", "kilnctl extend 600"
    ),
    "pause": Command("cmd_control", "pause a run of the service", "kilnctl pause"),
    "probe": Command(
        "cmd_devices",
        "identify what answers at a device URL",
        "kilnctl probe 'modbus-tcp://127.0.0.1:5020?unit=1'",
    ),
    "qc": Command(
        "cmd_runs",
        "record QC results of a lot (thickness, adhesion, ...)",
        "kilnctl qc last --thickness-um 5.1,5.0 --adhesion pass --visual-defects 0 "
        "--sample-size 20",
    ),
    "read": Command(
        "cmd_devices", "read one device (once, or --watch)", "kilnctl read kiln1 --watch"
    ),
    "recipes": Command(
        "cmd_library",
        "list profiles, plating recipes and jobs: kind, duration, hash, validity",
        "kilnctl recipes --json",
    ),
    "report": Command(
        "cmd_runs",
        "the batch record of a run (md, html, json, csv)",
        "kilnctl report last --out lot42.html",
    ),
    "resume": Command(
        "cmd_run",
        "resume a paused run of the service, else an unfinished run from the journal",
        "kilnctl resume",
    ),
    "run": Command(
        "cmd_run",
        "run a job on the plant's devices (hands it to the service if one runs)",
        "kilnctl run job-3-layer-enamel-nickel-gold --lot L42",
    ),
    "runs": Command(
        "cmd_runs", "list the runs in the journal, with outcome and reason", "kilnctl runs"
    ),
    "safe": Command(
        "cmd_safe", "make devices safe now and show the state read back", "kilnctl safe --all"
    ),
    "schema": Command(
        "cmd_recipes", "export JSON Schema of the recipe files", "kilnctl schema --out schemas/"
    ),
    "serve": Command(
        "cmd_serve",
        "run the engine as a local service (the TUI and CLI attach to it)",
        "kilnctl serve --speed 60",
    ),
    "show": Command(
        "cmd_recipes",
        "segments/steps, plot, duration, energy and plating estimates",
        "kilnctl show enamel-cloisonne-800",
    ),
    "sim": Command("cmd_sim", "run the simulated plant until Ctrl-C", "kilnctl sim --speed 60"),
    "sim-ctl": Command(
        "cmd_sim",
        "send one raw command to the simulated plant's control port",
        "kilnctl sim-ctl list",
    ),
    "sim-fault": Command(
        "cmd_sim",
        "inject or clear a fault in the running simulated plant",
        "kilnctl sim-fault kiln1 tc_open",
    ),
    "simulate": Command(
        "cmd_run",
        "dry-run a job/profile/recipe on simulators",
        "kilnctl simulate job-3-layer-enamel-nickel-gold",
    ),
    "skip": Command("cmd_control", "skip the current segment or step of a run", "kilnctl skip"),
    "start": Command(
        "cmd_control",
        "start a job on the running service",
        "kilnctl start job-3-layer-enamel-nickel-gold --lot L42",
    ),
    "status": Command(
        "cmd_control",
        "the service's runs: step, PV/SP or current, time left, alarms",
        "kilnctl status --json",
    ),
    "telemetry": Command(
        "cmd_telemetry",
        "copy the journal to InfluxDB (foreground; for a sidecar)",
        "kilnctl telemetry --url http://127.0.0.1:8086",
    ),
    "tui": Command(
        "cmd_tui", "attach the TUI to the running service (q detaches; runs go on)", "kilnctl tui"
    ),
    "tune": Command(
        "cmd_tune", "relay autotune of a kiln: propose PID gains", "kilnctl tune kiln1 --json"
    ),
    "validate": Command(
        "cmd_recipes",
        "check recipe files (units, fields, material rules, device limits)",
        "kilnctl validate profiles/*.toml",
    ),
}
"""Every subcommand: its module (in kilnctl.cli), one-line description and an example."""


def log_to_stderr(debug: bool = False) -> None:
    """Log lines on stderr, for the long-running commands (serve, telemetry); `debug`:
    pymodbus's frames too (kilnctl.cli.logs)."""
    from kilnctl.cli import logs

    logs.log_to_stderr(debug)


def _global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plant",
        "-c",
        "--config",
        dest="config",
        metavar="FILE",
        default=None,
        help="plant config (default: ./kilnctl.toml, else the bundled simulator plant)",
    )


class _Quiet(argparse.ArgumentParser):
    """A parser that raises on bad input instead of printing: the full parser reports it."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


def _wanted_command(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (None: none, e.g. `kilnctl --help`)."""
    pre = _Quiet(add_help=False)
    _global_options(pre)
    pre.add_argument("rest", nargs=argparse.REMAINDER)
    try:
        known, _ = pre.parse_known_args(argv)
    except ValueError:
        return None
    rest = [a for a in known.rest if not a.startswith("-")]
    return rest[0] if rest else None


def _untabled_modules() -> list[str]:
    """cmd_* modules of this package that COMMANDS does not name."""
    import kilnctl.cli as cli_pkg

    tabled = {c.module for c in COMMANDS.values()}
    return sorted(
        info.name
        for info in pkgutil.iter_modules(cli_pkg.__path__)
        if info.name.startswith("cmd_") and info.name not in tabled
    )


def build_parser(command: str | None = "*") -> argparse.ArgumentParser:
    """The parser. `command`: the subcommand to be run (its module is imported and its
    real parser registered; the others are listed only); "*": register every module."""
    parser = argparse.ArgumentParser(
        prog="kilnctl",
        description="Process control for the kiln room and the plating line.",
        epilog="`kilnctl COMMAND --help` describes one command with an example.",
    )
    parser.add_argument("--version", action="version", version=f"kilnctl {__version__}")
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = set(_untabled_modules())
    if command == "*":
        modules |= {c.module for c in COMMANDS.values()}
    elif command in COMMANDS:
        modules.add(COMMANDS[command].module)
    for name in sorted(modules):
        importlib.import_module(f"{__package__}.{name}").register(sub)
    for name, cmd in COMMANDS.items():
        p = sub.choices.get(name) or sub.add_parser(name, help=cmd.help)
        p.description = p.description or f"{cmd.help[0].upper()}{cmd.help[1:]}."
        p.epilog = p.epilog or f"example: {cmd.example}"
    sub._choices_actions.sort(key=lambda action: action.dest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_wanted_command(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("kilnctl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`kilnctl show ... | head -1`): stop quietly. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again (Python docs,
        # "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        # JournalError: a journal that cannot be used (not a journal, newer schema), met by
        # whichever command opened it. Looked up, not imported: the journal module is loaded
        # only by the commands that use it.
        journal = sys.modules.get("kilnctl.journal")
        if isinstance(exc, UserError) or (journal and isinstance(exc, journal.JournalError)):
            print(f"kilnctl: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    # Run as `python -m kilnctl.cli.main`, this file is `__main__`, a second copy whose
    # UserError the commands do not raise: delegate to the imported module.
    from kilnctl.cli import main as cli_main

    sys.exit(cli_main.main())
