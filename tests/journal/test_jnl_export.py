"""`kilnctl export RUN`: CSV with units in the headers, and a backfill of one run into a real
influxd 1.6.7 through the telemetry writer (idempotent: twice gives the same points)."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from jnl_servers import Influxd

from kilnctl.cli.main import main
from kilnctl.journal import Journal


def two_runs(path: Path) -> tuple[str, str]:
    t0 = time.time() - 600
    with Journal(path) as j:
        ids = []
        for n, lot in enumerate(("LOT-1", "LOT-2")):
            run = j.start_run(
                job_name="nickel-gold-flash", lot_id=lot, recipe_hashes={}, started_at=t0, meta={}
            )
            for seq in range(50):
                j.record_sample(run, seq, t0 + seq, "nickel", {"amps": 36.0 + n, "amp_hours": seq})
                j.record_sample(run, seq, t0 + seq, "kiln1", {"pv_c": 790.0, "sp_c": 790.0})
            j.record_event(run, t0 + 50, "alarm_raised", {"code": "cc_cv"})
            j.checkpoint(run, t0 + 50, {})
            ids.append(run)
    return ids[0], ids[1]


def test_csv_has_one_row_per_sample_and_units_in_headers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = two_runs(tmp_path / "j.sqlite")
    out = tmp_path / "run.csv"
    assert main(["export", first, "--journal", str(tmp_path / "j.sqlite"), "--csv", str(out)]) == 0
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0] == [
        "run_id", "source", "seq", "t [s]", "time_utc", "elapsed_s [s]",
        "amp_hours [Ah]", "amps [A]", "pv_c [°C]", "sp_c [°C]",
    ]  # fmt: skip
    assert len(rows) == 1 + 100 and {r[0] for r in rows[1:]} == {first}


def test_influx_backfill_sends_one_run_and_is_idempotent(influxd: Influxd, tmp_path: Path) -> None:
    first, _ = two_runs(tmp_path / "j.sqlite")
    argv = ["export", first[:-2], "--journal", str(tmp_path / "j.sqlite"), "--influx"]
    argv += ["--url", influxd.url, "--api", "v1", "--database", "kiln", "--cell", "bench"]
    assert main([*argv, "--batch-size", "7"]) == 0  # a prefix of the id is enough
    assert main(argv) == 0  # again: nothing new, nothing duplicated
    series = influxd.query("kiln", "SELECT count(seq) FROM tank GROUP BY run_id, cell")
    assert [(s["tags"], s["values"][0][1]) for s in series] == [
        ({"cell": "bench", "run_id": first}, 50)
    ]
    [events] = influxd.query("kiln", "SELECT count(event_id) FROM event")
    assert events["values"][0][1] == 1
