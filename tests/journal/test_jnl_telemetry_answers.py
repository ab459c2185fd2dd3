"""What the telemetry writer does with each kind of server answer, against a real influxd
1.6.7 (InfluxDB 1.x HTTP API, "/write" responses: 204 written; 400 partial write (beyond the
retention policy, field type conflict); 401 bad credentials; 404 database not found; 403 on
/query when a non-admin may not CREATE DATABASE).

A refused record never blocks those behind it: it is set aside in the journal's quarantine
with the server's reason. A setting a person must fix stops the writer with the setting named.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jnl_servers import Influxd

from kilnctl.cli.main import main
from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine, EngineError
from kilnctl.engine.messages import StartJob
from kilnctl.journal import Journal
from kilnctl.plant import Plant, PlantConfigError, load_plant
from kilnctl.telemetry import SinkConfigError, TelemetryWriter, make_sink


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "j.sqlite") as j:
        yield j


def record_run(journal: Journal, lot: str, t0: float, n: int, source: str = "kiln1") -> str:
    """A run started at t0 (Unix s) with n kiln samples and n tank samples, one a second,
    and an event at its start."""
    run_id = journal.start_run(
        job_name="enamel-preheat", lot_id=lot, recipe_hashes={}, started_at=t0, meta={}
    )
    journal.record_event(run_id, t0, "setpoint", {"sp_c": 790.0})
    for seq in range(n):
        journal.record_sample(run_id, seq, t0 + seq, source, {"pv_c": 20.0 + seq, "sp_c": 790.0})
        journal.record_sample(run_id, seq, t0 + seq, "tank-ni", {"volts": 4.0, "amps": 36.0})
    journal.checkpoint(run_id, t0 + n, {})
    return run_id


def seqs(server: Influxd, db: str, measurement: str, run_id: str) -> list[int]:
    series = server.query(db, f"SELECT seq FROM {measurement} WHERE run_id = '{run_id}'")
    return sorted(int(row[1]) for s in series for row in s["values"])


def telemetry(server: Influxd, journal: Journal, *extra: str) -> int:
    argv = ["telemetry", "--journal", str(journal.path), "--url", server.url, "--api", "v1"]
    return main([*argv, "--once", *extra])


def test_points_beyond_retention_are_set_aside_and_the_current_run_delivered(
    influxd: Influxd, journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    # The example: a 1-hour retention policy, a run from 3 hours ago, then a current
    # run, written 4 records at a time. Before: HTTP 400 on every try, the cursor stuck at 0.
    influxd.execute('CREATE DATABASE "short" WITH DURATION 1h')
    now = time.time()
    old = record_run(journal, "LOT-OLD", now - 3 * 3600, 10)
    current = record_run(journal, "LOT-NOW", now - 30, 10)
    with caplog.at_level(logging.INFO, logger="kilnctl.telemetry"):
        assert telemetry(influxd, journal, "--database", "short", "--batch-size", "4") == 0
    assert seqs(influxd, "short", "kiln", current) == list(range(10))
    assert seqs(influxd, "short", "tank", current) == list(range(10))
    assert seqs(influxd, "short", "kiln", old) == []
    refused = journal.quarantined(f"influx:{influxd.url}/short")  # the CLI's cursor
    assert len(refused) == 21  # the old run's 20 samples and its event
    assert all("beyond retention policy" in reason for _, _, reason in refused)
    assert "21 refused by the server" in caplog.text
    # Nothing is retried on the next pass: the cursor moved past what was set aside.
    sink = make_sink(influxd.url, api="v1", database="short")
    consumer = f"influx:{influxd.url}/short"
    assert TelemetryWriter(journal, sink, consumer=consumer).backlog() == 0


def test_a_field_type_conflict_sets_aside_only_the_refused_records(
    influxd: Influxd, journal: Journal
) -> None:
    run_id = record_run(journal, "LOT-C", time.time() - 60, 12)
    # Another writer made kiln.pv_c a string in this shard: every float pv_c is refused.
    sink = make_sink(influxd.url, api="v1", database="kiln", timeout_s=5)
    sink.write([f'kiln pv_c="text" {int((time.time() - 30) * 1e9)}'])
    writer = TelemetryWriter(journal, sink, batch_size=5)
    writer.drain()
    assert seqs(influxd, "kiln", "tank", run_id) == list(range(12))
    assert len(influxd.query("kiln", f"SELECT data FROM event WHERE run_id = '{run_id}'")) == 1
    refused = journal.quarantined("influx")
    assert [row_id for _, row_id, _ in refused] == [2 * i + 1 for i in range(12)]
    assert all("field type conflict" in reason for _, _, reason in refused)
    assert writer.quarantined == 12 and writer.delivered == 13


def test_bad_credentials_stop_the_writer_naming_the_setting(
    influxd_auth: Influxd, journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    record_run(journal, "LOT-A", time.time() - 60, 3)
    with caplog.at_level(logging.ERROR, logger="kilnctl.telemetry"):
        code = telemetry(influxd_auth, journal, "--database", "kiln", "--token", "writer:nope")
    assert code == 2
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "HTTP 401" in error.getMessage() and "[influx] token" in error.getMessage()
    # The long-lived loop stops at once instead of retrying forever, and keeps every record.
    sink = make_sink(influxd_auth.url, api="v1", database="kiln", token="writer:nope")
    writer = TelemetryWriter(journal, sink, consumer=f"influx:{influxd_auth.url}/kiln")
    waits: list[float] = []
    writer.run(threading.Event(), wait=lambda s: waits.append(s) or False)
    assert isinstance(writer.stopped_by, SinkConfigError) and waits == []
    assert writer.backlog() == 7
    assert telemetry(influxd_auth, journal, "--database", "kiln", "--token", "writer:pw") == 0
    assert writer.backlog() == 0


def test_a_missing_database_is_created_when_permitted(influxd: Influxd, journal: Journal) -> None:
    run_id = record_run(journal, "LOT-N", time.time() - 60, 5)
    assert telemetry(influxd, journal, "--database", "fresh") == 0
    assert seqs(influxd, "fresh", "kiln", run_id) == list(range(5))


def test_a_missing_database_that_may_not_be_created_says_how_to_create_it(
    influxd_auth: Influxd, journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    record_run(journal, "LOT-M", time.time() - 60, 2)
    with caplog.at_level(logging.ERROR, logger="kilnctl.telemetry"):
        code = telemetry(influxd_auth, journal, "--database", "nope", "--token", "writer:pw")
    assert code == 2
    message = caplog.records[-1].getMessage()
    assert "database not found" in message
    assert 'influx -execute \'CREATE DATABASE "nope"\'' in message


LOTS = ["L 1", "a,b=c", 'q"t', "back\\slash", "ünï#/:2", " lead", "x" * 100]


def test_identifiers_round_trip_exactly(influxd: Influxd, journal: Journal) -> None:
    now = time.time() - 60
    runs = {lot: record_run(journal, lot, now + i, 1, source=f"kiln {i},=") for i, lot in
            enumerate(LOTS)}
    TelemetryWriter(journal, make_sink(influxd.url, api="v1", database="kiln")).drain()
    series = influxd.query("kiln", "SELECT pv_c, lot, device, run_id FROM kiln")
    back = {(row[2], row[3], row[4]) for s in series for row in s["values"]}
    assert back == {(lot, f"kiln {i},=", runs[lot]) for i, lot in enumerate(LOTS)}


class NoRecipes:
    def get(self, name: str) -> object:
        raise AssertionError("the lot id is checked before the recipe is looked up")


@pytest.mark.parametrize("lot", ["new\nline", "tab\tx", "trail\\", "  ", "x" * 101])
async def test_a_lot_id_that_cannot_round_trip_is_refused_at_start(lot: str) -> None:
    engine = Engine({}, Plant(), NoRecipes(), None, VirtualClock())
    with pytest.raises(EngineError, match=r"lot id .* (contains|ends|must not|is 101 characters)"):
        await engine.submit(StartJob(ref="enamel-preheat", lot_id=lot))


def test_a_device_name_that_cannot_round_trip_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "kilnctl.toml"
    path.write_text(
        '[devices."kiln\\t1"]\ndriver = "eurotherm3216"\n'
        'url = "modbus-tcp://127.0.0.1:5020?unit=1"\n'
    )
    with pytest.raises(PlantConfigError) as caught:
        load_plant(path)
    text = str(caught.value)
    assert "kilnctl.toml:1" in text and "control character" in text
