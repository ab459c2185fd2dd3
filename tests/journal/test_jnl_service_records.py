"""The service's own journal records (the telemetry writer's, the plant watch's) are not
runs: `kilnctl runs` never calls them crashed nor offers `kilnctl resume` for them, and
`kilnctl resume` refuses them, leaving them open for the service that keeps them.

Before: `runs` listed the live service's telemetry writer record as "crashed — kilnctl
resume ID", and that resume finished it "stopped" under the running service's feet."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from kilnctl.journal import Journal
from kilnctl.telemetry.health import HealthRecord

KILNCTL = [sys.executable, "-m", "kilnctl.cli.main"]


def test_the_telemetry_writers_record_is_neither_crashed_nor_resumed(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    with Journal(path) as journal:
        record = HealthRecord(journal, meta={"telemetry": "http://127.0.0.1:8086"})
        record.event(time.time(), "telemetry_started", {"server": "s", "version": "1.6.7"})
        assert record.run_id is not None
        record_id = record.run_id
    env = {**os.environ, "KILNCTL_SIM_URLS": str(tmp_path / "no-sim.json")}
    runs = subprocess.run(
        [*KILNCTL, "runs", "--journal", str(path)],
        capture_output=True, text=True, timeout=30, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert runs.returncode == 0, runs.stderr
    [row] = [ln for ln in runs.stdout.splitlines() if ln.startswith(record_id)]
    assert "crashed" not in row and "kilnctl resume" not in row
    assert row.split("  ")[-1].strip() == "telemetry writer"
    resume = subprocess.run(
        [*KILNCTL, "resume", record_id, "--journal", str(path)],
        capture_output=True, text=True, timeout=30, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert resume.returncode == 2, resume.stdout + resume.stderr
    assert "Traceback" not in resume.stderr
    assert f"{record_id} is the telemetry writer's record, not a run" in resume.stderr
    with Journal(path) as journal:
        assert journal.run(record_id).outcome is None  # still the service's to finish
