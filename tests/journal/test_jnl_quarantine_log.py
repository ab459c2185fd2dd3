"""Records the server refuses for good are logged once per stretch, like the journal's
telemetry_quarantined event, not once per batch: in the drill (`kilnctl serve`, a 1-hour
retention policy, a 3-hour-old run, batch size 4) the service's log got 150 warnings for
600 samples; a plant's first connection after a week would write thousands."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from jnl_servers import Influxd
from test_jnl_telemetry_answers import record_run

from kilnctl.journal import Journal
from kilnctl.telemetry import TelemetryWriter, make_sink


def test_a_stretch_of_refused_batches_is_one_warning(
    influxd: Influxd, tmp_path: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture
) -> None:
    influxd.execute('CREATE DATABASE "short" WITH DURATION 1h')
    with Journal(tmp_path / "j.sqlite") as journal:  # type: ignore[operator]
        old = record_run(journal, "LOT-OLD", time.time() - 3 * 3600, 10)
        current = record_run(journal, "LOT-NOW", time.time() - 30, 3)
        sink = make_sink(influxd.url, api="v1", database="short")
        writer = TelemetryWriter(journal, sink, batch_size=4)
        stop = threading.Event()

        def one_poll(_seconds: float) -> bool:  # no time passes: one pass, then stop
            stop.set()
            return True

        with caplog.at_level(logging.INFO, logger="kilnctl.telemetry"):
            writer.run(stop, wait=one_poll)
        assert writer.quarantined == 21 and writer.backlog() == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    [line] = warnings
    assert "21 record(s)" in line and "beyond retention policy" in line
    assert f"run {old} sample" in line and current not in line
