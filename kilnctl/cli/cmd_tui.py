"""`kilnctl tui [--socket PATH]`: attach the Textual TUI to a running service.

Quitting (q) detaches: the service and its runs go on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kilnctl.service.protocol import default_socket_path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the tui subcommand."""
    p = subparsers.add_parser(
        "tui",
        help="attach the TUI to the running service (q detaches; runs go on)",
        description="Live runs, chart and alarms of the service; start/pause/resume/skip/"
        "extend/abort by key. Retries until the service answers.",
    )
    p.add_argument("--socket", help=f"service socket (default: {default_socket_path()})")
    p.set_defaults(func=cmd_tui)


def cmd_tui(args: argparse.Namespace) -> int:
    # imported here: Textual is only loaded by the commands that draw with it
    from kilnctl.tui.app import KilnApp

    KilnApp(Path(args.socket) if args.socket else default_socket_path()).run()
    return 0
