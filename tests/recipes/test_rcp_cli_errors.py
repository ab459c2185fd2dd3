"""No traceback where a user meets an error, through the real `kilnctl` command: a file that
is not a journal (runs, report, resume) and a closed pipe (`kilnctl show ... | head -1`)."""

from __future__ import annotations

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
