"""The telemetry writer's health against a real influxd 1.6.7 (and VictoriaMetrics for its
version): one journal event per transition, never one per retry; the lag in records and in
seconds of the writer's clock; a stop on bad credentials names the setting; the writer's own
events refused by the server are not journaled again (no loop).

The writer's clock is injected (a counter the test moves), so seconds of lag are exact and
no real time has to pass; the retries are the writer's own, with its waits injected.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jnl_servers import Influxd, VictoriaMetrics

from kilnctl.journal import Journal
from kilnctl.telemetry import TelemetryWriter, make_sink
from kilnctl.telemetry.health import (
    TELEMETRY_JOB,
    HealthRecord,
    WriterHealth,
    writer_status,
)
from kilnctl.telemetry.sinks import server_version


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "j.sqlite") as j:
        yield j


class Clock:
    """The writer's wall clock, moved by the test (Unix s)."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def record_samples(journal: Journal, run_id: str, seqs: range, t0: float) -> None:
    for seq in seqs:
        journal.record_sample(run_id, seq, t0 + seq, "kiln1", {"pv_c": 20.0 + seq, "sp_c": 90.0})


def new_run(journal: Journal, t0: float) -> str:
    return journal.start_run(
        job_name="enamel-preheat", lot_id="LOT-H", recipe_hashes={}, started_at=t0, meta={}
    )


def health_events(journal: Journal) -> list[tuple[str, dict[str, Any]]]:
    records = [r for r in journal.runs() if r.job_name == TELEMETRY_JOB]
    return [(e.kind, e.data) for r in records for e in journal.events(r.run_id)]


def writer_with_health(journal: Journal, url: str, clock: Clock, **sink: str) -> TelemetryWriter:
    health = WriterHealth(
        wall_time=clock,
        probe=lambda: server_version(url, timeout_s=5),
        record=HealthRecord(journal, meta={"telemetry": url}),
    )
    return TelemetryWriter(
        journal,
        make_sink(url, api="v1", database=sink.get("database", "kiln"), timeout_s=5,
                  token=sink.get("token", "")),
        batch_size=50,
        health=health,
    )  # fmt: skip


def test_server_versions(influxd: Influxd, victoria: VictoriaMetrics) -> None:
    # influxd: /ping's X-Influxdb-Version header; Debian's VictoriaMetrics names itself in
    # /metrics (vm_app_version) with an empty version, its build carrying no version stamp
    # Debian's influxd says it is "1.6.7~rc0" (its package version): shown as it is said
    assert server_version(influxd.url, timeout_s=5) == "1.6.7~rc0"
    assert server_version(victoria.url, timeout_s=5) == "VictoriaMetrics"


def test_an_outage_is_one_event_and_one_recovery_however_many_retries(
    influxd: Influxd, journal: Journal
) -> None:
    t0 = time.time() - 600
    clock = Clock(t0 + 150)
    run_id = new_run(journal, t0)
    record_samples(journal, run_id, range(100), t0)
    writer = writer_with_health(journal, influxd.url, clock)
    writer.run(threading.Event(), wait=lambda s: True)  # delivers everything, then stops
    assert writer.health.state == "delivering" and writer.backlog() == 0
    assert health_events(journal) == [
        ("telemetry_started", {"server": writer.sink.description, "version": "1.6.7~rc0"})
    ]

    influxd.stop()
    record_samples(journal, run_id, range(100, 150), t0)  # pending from t0 + 100
    seen: list[dict[str, Any]] = []

    def wait(seconds: float) -> bool:
        """Each retry: 10 s of the writer's clock pass and 10 samples are journaled; after
        6 failed attempts the server is back."""
        if writer.health.state == "retrying" and influxd.proc is not None:
            raise AssertionError("no retry once the server is back")
        if writer.health.state == "retrying":
            seen.append(writer_status(writer))
            first = 150 + 10 * (len(seen) - 1)
            record_samples(journal, run_id, range(first, first + 10), t0)
            clock.t += 10
            if writer.failures == 6:
                influxd.start()
        return writer.backlog() == 0

    writer.run(threading.Event(), wait)

    # status during the outage: the error, and the lag growing in records and in seconds
    assert [s["backlog"] for s in seen] == [51, 61, 71, 81, 91, 101]  # + the outage event
    assert [s["lag_s"] for s in seen] == [50.0, 60.0, 70.0, 80.0, 90.0, 100.0]
    assert {s["state"] for s in seen} == {"retrying"}
    assert all("Connection refused" in s["last_error"] for s in seen)
    assert seen[0]["since"] == t0 + 150 and seen[-1]["retries"] == 6
    kinds = [kind for kind, _ in health_events(journal)]
    assert kinds == ["telemetry_started", "telemetry_outage", "telemetry_recovered"]
    (_, outage), (_, recovered) = health_events(journal)[1:]
    assert "Connection refused" in outage["error"] and outage["backlog"] == 50
    assert recovered["down_s"] == 60.0  # 6 failures, 10 s of the writer's clock each
    # caught up: the 50 pending, 60 journaled during the outage, and the outage event
    assert recovered["caught_up"] == 111 and recovered["version"] == "1.6.7~rc0"
    status = writer_status(writer)
    assert status["state"] == "delivering" and status["since"] == t0 + 210
    assert status["backlog"] == 0 and status["lag_s"] == 0.0
    # the last error stays, with its time, after the recovery
    assert "Connection refused" in status["last_error"] and status["last_error_at"] == t0 + 200


def test_bad_credentials_stop_the_writer_with_one_event_naming_the_setting(
    influxd_auth: Influxd, journal: Journal
) -> None:
    t0 = time.time() - 60
    clock = Clock(t0 + 30)
    record_samples(journal, new_run(journal, t0), range(5), t0)
    writer = writer_with_health(journal, influxd_auth.url, clock, token="writer:nope")
    writer.run(threading.Event(), wait=lambda s: False)
    status = writer_status(writer)
    assert status["state"] == "stopped" and status["setting"] == "[influx] token"
    assert "HTTP 401" in status["last_error"] and status["since"] == t0 + 30
    assert status["backlog"] == 5 + 1  # nothing lost; plus the stop's own event
    [(kind, data)] = health_events(journal)
    assert kind == "telemetry_stopped" and data["setting"] == "[influx] token"


def test_refused_events_of_the_writer_itself_are_not_journaled_again(
    influxd: Influxd, journal: Journal
) -> None:
    # Another writer made event.event_id a float in this shard: InfluxDB refuses every
    # event kilnctl writes there (field type conflict), the writer's own events too.
    # One instant for all: a shard boundary never falls between them.
    now = time.time() - 60
    sink = make_sink(influxd.url, api="v1", database="kiln", timeout_s=5)
    sink.write([f"event event_id=1.5 {int(now * 1e9)}"])
    clock = Clock(now)
    run_id = new_run(journal, now)
    journal.record_event(run_id, now, "setpoint", {"sp_c": 790.0})
    record_samples(journal, run_id, range(3), now)
    writer = writer_with_health(journal, influxd.url, clock)
    polls = 0

    def wait(seconds: float) -> bool:
        nonlocal polls
        polls += 1
        return polls >= 10

    writer.run(threading.Event(), wait)
    kinds = [kind for kind, _ in health_events(journal)]
    # the run's event refused: one event saying so; the writer's own two events refused
    # in turn are logged only, and the ten polls journaled nothing more
    assert kinds == ["telemetry_started", "telemetry_quarantined"]
    quarantined = dict(health_events(journal))["telemetry_quarantined"]
    assert quarantined["records"] == 1 and "field type conflict" in quarantined["reason"]
    assert writer.quarantined == 3 and writer_status(writer)["backlog"] == 0
