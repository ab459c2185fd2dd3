"""The telemetry writer's health in the TUI's status bar: a real writer inside a real
service, its server refusing connections; the bar says so in words and in the warning
colour, within 80 columns, and follows the service's status polls. The compact texts of
the other states, and a snapshot of the screen with telemetry down."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import test_tui_snapshots
from jnl_servers import free_port
from svc_plant import SPEED, running_service
from test_tui_app import SIZE, status_text, until
from test_tui_snapshots import NOW, compare, screen

from kilnctl.journal import Journal
from kilnctl.telemetry import BackgroundWriter, TelemetryWriter, make_sink
from kilnctl.telemetry.health import HealthRecord, WriterHealth, writer_status
from kilnctl.telemetry.sinks import server_version
from kilnctl.tui.app import KilnApp
from kilnctl.tui.telemetryline import telemetry_brief, telemetry_text


async def test_status_bar_shows_telemetry_down_within_80_columns(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused
    async with running_service(tmp_path, telemetry=url) as h:
        own = Journal(h.journal.path)
        health = WriterHealth(
            wall_time=h.engine.clock.wall_time,
            probe=partial(server_version, url, 1.0),
            record=HealthRecord(own),
        )
        sink = make_sink(url, api="v1", database="kiln", timeout_s=1.0)
        writer = BackgroundWriter(TelemetryWriter(own, sink, health=health), speed=SPEED)
        h.service.telemetry_health = partial(writer_status, writer.writer)
        writer.start()
        try:
            app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.1)
            async with app.run_test(size=SIZE) as pilot:
                await until(pilot, lambda: "TELEMETRY DOWN" in status_text(app))
                text = status_text(app)
                assert text.startswith("connected | test plant | 0 active run(s) | ")
                assert len(text) <= SIZE[0] - 2 and "behind" in text
                assert app.status_bar.has_class("telemetry-error")
                # polled: the outage's age grows with the service's clock
                await until(pilot, lambda: status_text(app) != text)
                assert "TELEMETRY DOWN" in status_text(app)
                await pilot.press("q")
        finally:
            await asyncio.to_thread(writer.stop)
            own.close()


def health(state: str, **extra: Any) -> dict[str, Any]:
    return {"state": state, "since": NOW - 130, "backlog": 0, "lag_s": 0.0, "quarantined": 0,
            "setting": "", **extra}  # fmt: skip


@pytest.mark.parametrize(
    ("state", "extra", "text", "failing"),
    [
        ("delivering", {}, "telemetry ok", False),
        ("delivering", {"quarantined": 1}, "telemetry ok, 1 set aside", False),
        ("delivering", {"backlog": 12, "lag_s": 3.0}, "telemetry 12 behind (0:00:03)", False),
        ("starting", {}, "telemetry connecting", False),
        ("retrying", {"backlog": 340}, "TELEMETRY DOWN 0:02:10, 340 behind", True),
        ("stopped", {"setting": "[influx] token"}, "TELEMETRY STOPPED: fix [influx] token", True),
    ],
)
def test_compact_texts(state: str, extra: dict[str, Any], text: str, failing: bool) -> None:
    assert telemetry_brief(health(state, **extra), "http://x", NOW) == (text, failing)
    assert telemetry_brief(None, "", NOW) == ("telemetry: journal only", False)


async def test_telemetry_down_screen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = test_tui_snapshots.status
    down = health("retrying", backlog=340, lag_s=125.0)
    monkeypatch.setattr(test_tui_snapshots, "status", lambda: {**plain(), "telemetry_health": down})
    compare("telemetry-down-80x24", await screen(tmp_path, (80, 24), connected=True))


def test_status_lines_of_a_stop_and_of_delivering() -> None:
    """`kilnctl status`'s line (kilnctl.cli.cmd_control.status_text) in the states the
    service tests do not reach."""
    error = "HTTP 401 from http://i:8086 (v1 db=kiln): authorization failed (check [influx] token)"
    stopped = health("stopped", version="1.6.7~rc0", backlog=6, lag_s=30.0, last_error=error,
                     setting="[influx] token")  # fmt: skip
    assert telemetry_text(stopped, NOW) == (
        "telemetry (InfluxDB 1.6.7~rc0): STOPPED for 0:02:10 (since 2026-09-21 14:11:10Z): "
        f"{error}; fix [influx] token, then restart the service; 6 records (0:00:30) behind"
    )
    fine = health("delivering", version="VictoriaMetrics", delivered=5021, quarantined=2)
    assert telemetry_text(fine, NOW) == (
        "telemetry (VictoriaMetrics): delivering, up to date; 5021 delivered, "
        "2 refused by the server and set aside"
    )
