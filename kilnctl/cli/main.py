"""`kilnctl` entry point. Subcommands are discovered from the `cmd_*` modules of this
package: each has `register(subparsers)` that adds its parser with `func=` set."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence

import kilnctl.cli as cli_pkg
from kilnctl import __version__
from kilnctl.journal import JournalError


class UserError(Exception):
    """An error the user can act on: printed as one line, exit code 2, no traceback."""


def log_to_stderr() -> None:
    """Log lines with times on stderr, for the long-running commands (serve, telemetry)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kilnctl",
        description="Process control for the kiln room and the plating line.",
    )
    parser.add_argument("--version", action="version", version=f"kilnctl {__version__}")
    parser.add_argument(
        "--config",
        "-c",
        default=None,
        help="plant config (default: ./kilnctl.toml, else the bundled simulator plant)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(cli_pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            module = importlib.import_module(f"{cli_pkg.__name__}.{info.name}")
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (UserError, JournalError) as exc:
        # JournalError: a journal that cannot be used (not a journal, newer schema), met by
        # whichever command opened it.
        print(f"kilnctl: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kilnctl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`kilnctl show ... | head -1`): stop quietly. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again (Python docs,
        # "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    # Run as `python -m kilnctl.cli.main`, this file is `__main__`, a second copy whose
    # UserError the commands do not raise: delegate to the imported module.
    from kilnctl.cli import main as cli_main

    sys.exit(cli_main.main())
