"""Where the journal is when no --journal is given (issue 8, item 4): the per-user state
directory, so `kilnctl runs` from any folder finds the runs; a plant config's relative
journal is taken from the config's folder, not the current one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kilnctl.journal import Journal
from kilnctl.journal_location import default_journal_path, journal_file


def test_default_is_the_xdg_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_journal_path() == tmp_path / "state" / "kilnctl" / "journal.sqlite"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/not/allowed")  # the spec: ignored
    assert default_journal_path().is_absolute()
    # a service under systemd with StateDirectory=kilnctl
    monkeypatch.setenv("STATE_DIRECTORY", f"{tmp_path}/svc:{tmp_path}/other")
    assert default_journal_path() == tmp_path / "svc" / "journal.sqlite"


def test_a_relative_configured_journal_is_from_the_config_folder(tmp_path: Path) -> None:
    config = tmp_path / "cell" / "kilnctl.toml"
    assert journal_file(None, "data/j.sqlite", config) == tmp_path / "cell" / "data" / "j.sqlite"
    assert journal_file("given.sqlite", "data/j.sqlite", config) == Path("given.sqlite")
    assert journal_file(None, "", config) == default_journal_path()


def _kilnctl(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kilnctl", *args], cwd=cwd, capture_output=True, text=True
    )


def test_runs_finds_the_journal_from_any_folder(tmp_path: Path) -> None:
    path = default_journal_path()
    path.parent.mkdir(parents=True)
    with Journal(path) as journal:
        journal.start_run(job_name="j", lot_id="L7", recipe_hashes={}, started_at=0.0, meta={})
    for folder in (tmp_path, Path("/")):
        done = _kilnctl(folder, "runs")
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0] == f"journal: {path}" and "L7" in done.stdout
    # a plant config naming a relative journal: found from another folder too
    cell = tmp_path / "cell"
    cell.mkdir()
    (cell / "kilnctl.toml").write_text('journal = "cell-journal.sqlite"\n')
    with Journal(cell / "cell-journal.sqlite") as journal:
        journal.start_run(job_name="j", lot_id="L8", recipe_hashes={}, started_at=0.0, meta={})
    done = _kilnctl(tmp_path, "--plant", str(cell / "kilnctl.toml"), "runs")
    assert done.returncode == 0 and "L8" in done.stdout, done.stderr
