"""The telemetry writer against real servers: influxd 1.6.7 (/write) and VictoriaMetrics
(/api/v2/write through influxdb-client). Every journal row arrives exactly once, an outage
loses and duplicates nothing, and the cursor survives a writer restart."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from child_output import DrainedPopen
from jnl_servers import Influxd, VictoriaMetrics, free_port

from kilnctl.cli.main import main
from kilnctl.journal import Journal
from kilnctl.telemetry import (
    BackgroundWriter,
    Sink,
    SinkError,
    TelemetryWriter,
    detect_api,
    make_sink,
)

T0 = 1_790_000_000.0


def start_run(journal: Journal, lot: str) -> str:
    return journal.start_run(
        job_name="nickel-gold-flash",
        lot_id=lot,
        recipe_hashes={"nickel-gold-flash": "0f0f"},
        started_at=T0,
        meta={},
    )


def fill(journal: Journal, run_id: str, seqs: range) -> None:
    """A kiln and a tank sample per seq, an event every 10th seq, then a checkpoint."""
    for seq in seqs:
        t = T0 + seq
        journal.record_sample(run_id, seq, t, "kiln1", {"pv_c": 20.0 + seq, "sp_c": 20.0})
        journal.record_sample(run_id, seq, t, "tank-ni", {"volts": 4.0, "amps": 36.0 + seq})
        if seq % 10 == 0:
            journal.record_event(run_id, t, "setpoint", {"sp_c": 20.0 + seq, "note": "a b,c"})
    journal.checkpoint(run_id, T0 + seqs.stop, {"next": seqs.stop})


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "j.sqlite") as j:
        yield j


def influx_seqs(server: Influxd, measurement: str, run_id: str) -> list[int]:
    series = server.query("kiln", f"SELECT seq FROM {measurement} WHERE run_id = '{run_id}'")
    return sorted(int(v[1]) for s in series for v in s["values"])


def influx_event_ids(server: Influxd) -> list[int]:
    series = server.query("kiln", "SELECT event_id, data FROM event")
    return sorted(int(v[1]) for s in series for v in s["values"])


def vm_values(server: VictoriaMetrics, metric: str, run_id: str) -> list[int]:
    """All raw values of one metric for one run; VictoriaMetrics keeps duplicates."""
    series = server.export(f'{{__name__="{metric}",run_id="{run_id}"}}')
    return sorted(int(v) for s in series for v in s["values"])


def test_api_is_detected_from_the_server(influxd: Influxd, victoria: VictoriaMetrics) -> None:
    assert detect_api(influxd.url, timeout_s=5) == "v1"
    assert detect_api(victoria.url, timeout_s=5) == "v2"


def test_influxd_gets_every_row_exactly_once(influxd: Influxd, journal: Journal) -> None:
    runs = [start_run(journal, "LOT-A"), start_run(journal, "LOT-B")]
    for run_id in runs:
        fill(journal, run_id, range(120))
    sink = make_sink(influxd.url, api="auto", database="kiln", timeout_s=5)
    writer = TelemetryWriter(journal, sink, batch_size=64)
    assert writer.drain() == 2 * (240 + 12)
    for run_id in runs:
        assert influx_seqs(influxd, "kiln", run_id) == list(range(120))
        assert influx_seqs(influxd, "tank", run_id) == list(range(120))
    series = influxd.query("kiln", "SELECT pv_c, sp_c, lot, job FROM kiln WHERE seq = 7")
    rows = sorted(tuple(v[1:]) for s in series for v in s["values"])
    assert rows == [
        (27.0, 20.0, "LOT-A", "nickel-gold-flash"),
        (27.0, 20.0, "LOT-B", "nickel-gold-flash"),
    ]
    assert influx_event_ids(influxd) == list(range(1, 25))
    [event] = influxd.query("kiln", "SELECT data, kind FROM event WHERE event_id = 2")
    assert json.loads(event["values"][0][1]) == {"note": "a b,c", "sp_c": 30.0}
    assert writer.drain() == 0
    sink.close()


def test_influxd_outage_loses_and_duplicates_nothing(
    influxd: Influxd, journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = start_run(journal, "LOT-A")
    fill(journal, run_id, range(50))
    writer = TelemetryWriter(
        journal, make_sink(influxd.url, api="v1", database="kiln", timeout_s=5), batch_size=40
    )
    writer.write_batch()
    influxd.stop()  # mid-stream: the engine keeps journaling
    fill(journal, run_id, range(50, 100))
    backlog = writer.backlog()
    with pytest.raises(SinkError):
        writer.write_batch()
    assert writer.backlog() == backlog  # the cursor did not move

    stop = threading.Event()
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        if writer.failures == 3 and influxd.proc is None:
            influxd.start()
        return writer.backlog() == 0  # stop once caught up

    with caplog.at_level(logging.INFO, logger="kilnctl.telemetry"):
        writer.run(stop, wait)
    assert waits[:2] == [1.0, 2.0]  # exponential backoff while down
    warnings = [r for r in caplog.records if "cannot write" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].exc_info is None
    assert "records waiting" in warnings[0].getMessage()
    assert sum("is back" in r.getMessage() for r in caplog.records) == 1
    assert influx_seqs(influxd, "kiln", run_id) == list(range(100))
    assert influx_seqs(influxd, "tank", run_id) == list(range(100))
    assert influx_event_ids(influxd) == list(range(1, 11))


def test_victoria_outage_and_writer_restart(victoria: VictoriaMetrics, tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"

    def vm_sink() -> Sink:
        return make_sink(
            victoria.url, api="v2", org="plant", bucket="kiln", token="t", timeout_s=5.0
        )

    with Journal(path) as engine_journal:
        run_id = start_run(engine_journal, "LOT-V")
        fill(engine_journal, run_id, range(100))

        # writer 1 delivers two batches, then the process "restarts"
        with Journal(path) as writer_journal:
            sink = vm_sink()
            writer = TelemetryWriter(writer_journal, sink, batch_size=50)
            assert writer.write_batch() == 50
            assert writer.write_batch() == 50
            sink.close()
        assert len(vm_values(victoria, "kiln_seq", run_id)) > 0

        victoria.stop()  # an outage while the engine keeps journaling
        fill(engine_journal, run_id, range(100, 200))

        with Journal(path) as writer_journal:
            sink = vm_sink()
            writer = TelemetryWriter(writer_journal, sink, batch_size=50)
            backlog = writer.backlog()
            assert backlog == 2 * 200 + 20 - 100
            with pytest.raises(SinkError):
                writer.write_batch()
            assert writer.backlog() == backlog
            victoria.start()
            assert writer.drain() == backlog
            sink.close()

    # VictoriaMetrics keeps duplicate samples, so equal lists mean exactly once
    assert vm_values(victoria, "kiln_seq", run_id) == list(range(200))
    assert vm_values(victoria, "tank_seq", run_id) == list(range(200))
    assert vm_values(victoria, "tank_amps", run_id) == [36 + s for s in range(200)]
    assert vm_values(victoria, "event_event_id", run_id) == list(range(1, 21))


def test_bad_sink_config_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of"):
        make_sink("http://127.0.0.1:1", api="v3")
    with pytest.raises(ValueError, match="bucket"):
        make_sink("http://127.0.0.1:1", api="v2", org="plant")
    with pytest.raises(ValueError, match="database"):
        make_sink("http://127.0.0.1:1", api="v1")


def test_telemetry_command_once(
    victoria: VictoriaMetrics,
    journal: Journal,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    run_id = start_run(journal, "LOT-C")
    fill(journal, run_id, range(30))
    argv = ["telemetry", "--journal", str(journal.path), "--api", "v2", "--org", "plant"]
    argv += ["--bucket", "kiln", "--once", "--batch-size", "7"]
    assert main([*argv, "--url", victoria.url]) == 0
    assert vm_values(victoria, "kiln_seq", run_id) == list(range(30))
    with caplog.at_level(logging.INFO, logger="kilnctl.telemetry"):
        assert main([*argv, "--url", victoria.url]) == 0  # nothing new for this server
        fill(journal, run_id, range(30, 31))
        # another server has a cursor of its own: everything is pending for it
        assert main([*argv, "--url", f"http://127.0.0.1:{free_port()}"]) == 1
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "cannot write" in error.getMessage() and error.exc_info is None


def test_telemetry_sidecar_process_catches_up_and_stops(
    victoria: VictoriaMetrics, journal: Journal
) -> None:
    run_id = start_run(journal, "LOT-S")
    fill(journal, run_id, range(20))
    argv = [sys.executable, "-m", "kilnctl.cli.main", "telemetry", "--journal", str(journal.path)]
    argv += ["--url", victoria.url, "--org", "plant", "--bucket", "kiln"]
    argv += ["--poll-interval", "0.05", "--batch-size", "16"]  # api auto-detected
    proc = DrainedPopen(argv, stderr=subprocess.PIPE, text=True)
    try:
        fill(journal, run_id, range(20, 60))  # the engine goes on while the sidecar runs
        deadline = time.monotonic() + 20
        while vm_values(victoria, "kiln_seq", run_id) != list(range(60)):
            assert time.monotonic() < deadline, "the sidecar did not catch up"
            assert proc.poll() is None, proc.drained_output("stderr")
            time.sleep(0.05)  # polling the server for a result, bounded by the deadline
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "stopped after delivering 126 records" in stderr
    assert vm_values(victoria, "event_event_id", run_id) == list(range(1, 7))


def test_background_writer_in_process(victoria: VictoriaMetrics, tmp_path: Path) -> None:
    """How the service hosts the writer: its own Journal connection, its own thread."""
    path = tmp_path / "j.sqlite"
    with Journal(path) as engine_journal, Journal(path) as writer_journal:
        run_id = start_run(engine_journal, "LOT-BG")
        sink = make_sink(victoria.url, api="v2", org="plant", bucket="kiln", timeout_s=5.0)
        background = BackgroundWriter(
            TelemetryWriter(writer_journal, sink, batch_size=25, poll_interval_s=0.02)
        )
        background.start()
        try:
            fill(engine_journal, run_id, range(40))
            deadline = time.monotonic() + 20
            while vm_values(victoria, "tank_seq", run_id) != list(range(40)):
                assert time.monotonic() < deadline, "the background writer did not deliver"
                time.sleep(0.05)  # polling the server for a result, bounded by the deadline
        finally:
            background.stop()
            sink.close()
        assert not background.running
    assert vm_values(victoria, "kiln_seq", run_id) == list(range(40))
