"""`kilnctl serve` with [influx] pointed at a real influxd 1.6.7, as processes over real
sockets: the telemetry writer's health in "status" (JSON and the text of `kilnctl status`)
and its transitions in the journal. The server stopped: the error, the lag growing in records
and in seconds; started again: lag 0 and one "recovered" event, however many retries. A field
type conflict: one record set aside, counted in status. The server's version.

The service runs at --speed 60, and so do its writer's polls and backoff: an outage of a
second of real time is a minute of service time, the lag in seconds shows that minute.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from jnl_servers import Influxd, running_influxd
from test_svc_serve_cli import attach, ended, serve, simulated_plant

from kilnctl.cli.cmd_control import status_text
from kilnctl.cli.main import main
from kilnctl.journal import Journal
from kilnctl.service.client import ServiceClient
from kilnctl.telemetry.health import TELEMETRY_JOB
from kilnctl.telemetry.sinks import make_sink


@pytest.fixture
def influxd(require_binary: Callable[[str], str], tmp_path: Path) -> Iterator[Influxd]:
    """A running influxd 1.6.7 with database "kiln"."""
    with running_influxd(require_binary("influxd"), tmp_path / "influxd") as server:
        yield server


@asynccontextmanager
async def serving(tmp: Path, url: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """`kilnctl serve` on the simulated plant, its config's [influx] pointed at `url`;
    killed at the end if the test did not stop it."""
    async with simulated_plant(tmp):
        with (tmp / "kilnctl.toml").open("a") as config:
            config.write(f'\n[influx]\nurl = "{url}"\ndatabase = "kiln"\n')
        proc = await serve(tmp)
        try:
            yield proc
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def health_when(
    client: ServiceClient, done: Callable[[dict[str, Any]], bool]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(telemetry_health, the whole status) of the first status whose health is `done`."""
    async with asyncio.timeout(20):
        while True:
            status = await client.request("status")
            health = status["telemetry_health"]
            if health is not None and done(health):
                return health, status
            await asyncio.sleep(0.02)  # polling the service process; no time is faked


def health_events(journal_path: Path) -> list[tuple[str, dict[str, Any]]]:
    with Journal(journal_path) as journal:
        records = [r for r in journal.runs() if r.job_name == TELEMETRY_JOB]
        return [(e.kind, e.data) for r in records for e in journal.events(r.run_id)]


async def stop_service(proc: asyncio.subprocess.Process) -> bytes:
    proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        log = await ended(proc)
    assert proc.returncode == 0, log.decode()
    assert b"Traceback" not in log
    return log


async def test_an_outage_shows_in_status_and_is_one_event_each_way(
    tmp_path: Path, influxd: Influxd, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving(tmp_path, influxd.url) as proc:
        client = await attach(tmp_path, proc)
        health, _ = await health_when(client, lambda h: h["state"] == "delivering")
        assert health["version"].startswith("1.6.7")  # Debian's says "1.6.7~rc0"
        run = (await client.request("start", job="svc-bake", kiln="kiln2", lot="H1"))["run"]
        await health_when(client, lambda h: h["delivered"] > 0)

        await asyncio.to_thread(influxd.stop)
        down, _ = await health_when(client, lambda h: h["state"] == "retrying")
        # influxd shutting down answers 500 "write failed", then refuses connections
        assert down["last_error"] and down["last_error_at"] >= down["since"]
        later, status = await health_when(
            client,
            lambda h: h["backlog"] > down["backlog"] + 10 and h["lag_s"] > down["lag_s"] + 10,
        )
        assert later["state"] == "retrying" and later["retries"] >= 2
        text = status_text(status).splitlines()[2]
        assert text.startswith("telemetry (InfluxDB 1.6.7") and ": RETRYING for " in text
        assert later["last_error"] in text and " records (" in text and ") behind" in text
        # `kilnctl status --json`, a client of its own
        argv = ["status", "--json", "--socket", str(tmp_path / "s.sock")]
        capsys.readouterr()
        assert await asyncio.to_thread(main, argv) == 0
        printed = json.loads(capsys.readouterr().out)["telemetry_health"]
        assert printed["state"] == "retrying" and printed["backlog"] > down["backlog"]

        await client.request("abort", run=run)  # no new samples: the lag can reach 0
        await asyncio.to_thread(influxd.start)
        up, _ = await health_when(
            client, lambda h: h["state"] == "delivering" and h["backlog"] == 0
        )
        assert up["lag_s"] == 0.0 and up["retries"] >= 2
        await client.close()
        await stop_service(proc)

    events = health_events(tmp_path / "journal.sqlite")
    kinds = [kind for kind, _ in events]
    assert kinds == ["telemetry_started", "telemetry_outage", "telemetry_recovered"]
    recovered = events[2][1]
    print(f"\n{text}\nrecovered: {recovered}")
    assert recovered["down_s"] > 0 and recovered["caught_up"] >= later["backlog"]
    with Journal(tmp_path / "journal.sqlite") as journal:
        samples = len(list(journal.samples(run)))
        (record,) = [r for r in journal.runs() if r.job_name == TELEMETRY_JOB]
        assert record.outcome == "stopped"  # finished with the service
    # nothing lost on the way: every sample of the run is in InfluxDB
    [series] = influxd.query("kiln", f"SELECT count(seq) FROM kiln WHERE run_id = '{run}'")
    assert series["values"][0][1] == samples


async def test_a_refused_record_is_counted_in_status(tmp_path: Path, influxd: Influxd) -> None:
    # A run from 2001 in the journal, and another writer made kiln.pv_c an integer in that
    # week's shard: its one sample is refused (field type conflict), the rest delivered.
    old_t = 1_000_000_000.0
    with Journal(tmp_path / "journal.sqlite") as journal:
        old = journal.start_run(
            job_name="enamel-preheat", lot_id="OLD", recipe_hashes={}, started_at=old_t, meta={}
        )
        journal.record_sample(old, 1, old_t, "kiln2", {"pv_c": 20.0, "sp_c": 20.0})
        journal.finish_run(old, old_t + 1, "completed")
    make_sink(influxd.url, api="v1", database="kiln").write([f"kiln pv_c=1i {int(old_t * 1e9)}"])
    async with serving(tmp_path, influxd.url) as proc:
        client = await attach(tmp_path, proc)
        health, status = await health_when(
            client,
            lambda h: h["quarantined"] == 1 and h["backlog"] == 0 and h["state"] != "starting",
        )
        assert health["state"] == "delivering" and health["last_error"] == ""
        assert status["telemetry_backlog"] == 0  # kept for older clients
        text = status_text(status).splitlines()[2]
        assert "1 refused by the server and set aside" in text
        await client.close()
        await stop_service(proc)
    events = dict(health_events(tmp_path / "journal.sqlite"))
    assert events["telemetry_quarantined"]["records"] == 1
    assert "field type conflict" in events["telemetry_quarantined"]["reason"]
    assert events["telemetry_quarantined"]["first"] == f"run {old} sample kiln2 #1"
