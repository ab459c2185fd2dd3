"""No traceback where a user meets an error, through the real `kilnctl` command: a file that
is not a journal (runs, report, resume) and a closed pipe (`kilnctl show ... | head -1`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KILNCTL = [sys.executable, "-m", "kilnctl.cli.main"]


@pytest.mark.parametrize("command", [["runs"], ["report", "last"], ["resume"]])
def test_a_file_that_is_not_a_journal_is_one_line(command: list[str], tmp_path: Path) -> None:
    bogus = tmp_path / "notes.sqlite"
    bogus.write_text("this is not a database\n" * 100)
    done = subprocess.run(
        [*KILNCTL, *command, "--journal", str(bogus)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    # `resume` names the plant it opened first (one line); the error is the one other line
    lines = [ln for ln in done.stderr.splitlines() if not ln.startswith("plant: ")]
    assert lines == [f"kilnctl: {bogus} is not a kilnctl journal (file is not a database)"]


def test_a_closed_pipe_ends_quietly() -> None:
    done = subprocess.run(
        f"{sys.executable} -m kilnctl.cli.main show enamel-preheat | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


@pytest.mark.parametrize(
    "command",
    [["resume"], ["telemetry", "--once", "--url", "http://127.0.0.1:9", "--api", "v1",
                  "--database", "kiln"]],
)  # fmt: skip
def test_a_journal_whose_folder_does_not_exist_is_one_line(
    command: list[str], tmp_path: Path
) -> None:
    """A first `kilnctl resume` (or `telemetry`) on a fresh account: the default journal's
    folder ($XDG_STATE_HOME/kilnctl) does not exist yet. Before: a traceback ending in
    sqlite3.OperationalError "unable to open database file"."""
    state = tmp_path / "state"
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(state),
        "KILNCTL_SIM_URLS": str(tmp_path / "no-sim.json"),  # no simulator plant around
    }
    env.pop("STATE_DIRECTORY", None)
    done = subprocess.run(
        [*KILNCTL, *command], capture_output=True, text=True, timeout=30, cwd=tmp_path, env=env
    )
    assert done.returncode == 2, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if not ln.startswith("plant: ")]
    journal = state / "kilnctl" / "journal.sqlite"
    assert lines == [
        f"kilnctl: cannot open the journal {journal}: unable to open database file "
        f"(no folder {journal.parent})"
    ]
