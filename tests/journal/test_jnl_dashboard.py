"""The shipped Grafana dashboard (docs/grafana/kilnctl-influxql.json) and cells sharing one
database, against a real influxd 1.6.7 holding real runs.

Grafana cannot be installed here, so every query of the dashboard (panels, annotations and
template variables, exactly as the JSON has them) is run with Grafana's variables
substituted the way Grafana does for a regex match (`$cell` -> the escaped value, "All" ->
`.*`, `$timeFilter` -> `time >= ... AND time <= ...`, `$__interval` -> a GROUP BY interval).
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from child_output import DrainedPopen
from jnl_servers import Influxd

from kilnctl.cli.cmd_run import _hold_baths, _sim_devices
from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import StartJob
from kilnctl.engine.settings import EngineSettings
from kilnctl.journal import Journal
from kilnctl.plant import EXAMPLE_PLANT, load_plant
from kilnctl.recipes.loader import RecipeLibrary
from kilnctl.telemetry import TelemetryWriter, make_sink

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana" / "kilnctl-influxql.json"
WALL0 = 1_780_000_000.0


async def record_runs(path: Path) -> None:
    """Real runs on the bundled plant's simulated devices (virtual clock): the 3-layer enamel
    job with nickel and gold (kiln1; tanks electroclean, nickel, gold), and a preheat on kiln1
    that a thermocouple break ends (a real alarm)."""
    plant = load_plant(EXAMPLE_PLANT)
    clock = VirtualClock(wall_start=WALL0)
    devices = _sim_devices(plant, clock, seed=1)
    await _hold_baths(plant, devices)
    settings = EngineSettings(period_s=plant.sample_period_s, auto_answer=True)
    with Journal(path) as journal:
        engine = Engine(devices, plant, RecipeLibrary(), journal, clock, settings)
        job = await engine.submit(
            StartJob(ref="job-3-layer-enamel-nickel-gold", lot_id="LOT-D 1", who="test")
        )
        assert job is not None and await engine.wait(job) == "completed"
        preheat = await engine.submit(
            StartJob(ref="enamel-preheat", kiln="kiln1", lot_id="LOT-E", who="test")
        )
        assert preheat is not None
        await clock.sleep(120)
        devices[plant.kilns["kiln1"].controller].inject("tc_open")
        assert await engine.wait(preheat) == "aborted"
        await engine.close()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import asyncio

    path = tmp_path_factory.mktemp("dash") / "j.sqlite"
    asyncio.run(record_runs(path))
    return path


def copy_journal(src: Path, dst: Path) -> None:
    """A fresh copy (WAL-safe): each writer starts from its own cursor at 0."""
    with (
        contextlib.closing(sqlite3.connect(src)) as a,
        contextlib.closing(sqlite3.connect(dst)) as b,
    ):
        a.backup(b)


@pytest.fixture
def loaded(influxd: Influxd, recorded: Path, tmp_path: Path) -> Iterator[Influxd]:
    copy_journal(recorded, tmp_path / "loaded.sqlite")
    with Journal(tmp_path / "loaded.sqlite") as journal:
        sink = make_sink(influxd.url, api="v1", database="kiln", timeout_s=10)
        writer = TelemetryWriter(journal, sink, batch_size=5000, tags={"cell": "room-a"})
        writer.drain()
        assert writer.quarantined == 0
    yield influxd


def grafana(query: str, values: dict[str, str]) -> str:
    """`query` with Grafana's variables substituted (regex format, as for =~ /^$var$/)."""
    query = query.replace("$timeFilter", f"time >= {int(WALL0)}s AND time <= {int(WALL0) + 86400}s")
    query = query.replace("$__interval", "10s")
    return re.sub(r"\$(\w+)", lambda m: values[m[1]], query)


def dashboard_queries() -> dict[str, str]:
    board = json.loads(DASHBOARD.read_text())
    queries = {
        f"panel {p['title']}": t["query"] for p in board["panels"] for t in p.get("targets", [])
    }
    queries |= {f"annotation {a['name']}": a["query"] for a in board["annotations"]["list"]}
    queries |= {
        f"variable {v['name']}": v["query"]
        for v in board["templating"]["list"]
        if v["type"] == "query"
    }
    return queries


ALL = {"cell": ".*", "kiln": ".*", "tank": ".*", "lot": ".*"}
CHOSEN = {"cell": "room\\-a", "kiln": "kiln1", "tank": "nickel", "lot": "LOT\\-D 1"}


def run(server: Influxd, query: str) -> list[dict[str, Any]]:
    return server.query("kiln", query)


def tag_values(series: list[dict[str, Any]]) -> list[str]:
    return sorted({row[1] for s in series for row in s["values"]})  # Grafana dedups


def test_every_dashboard_query_returns_its_series(loaded: Influxd) -> None:
    queries = dashboard_queries()
    assert len(queries) == 13  # 7 panels, 2 annotations, 4 variables: none forgotten
    q = {name: grafana(text, CHOSEN) for name, text in queries.items()}
    assert tag_values(run(loaded, q["variable cell"])) == ["room-a"]
    assert tag_values(run(loaded, q["variable kiln"])) == ["kiln1"]
    assert tag_values(run(loaded, q["variable tank"])) == ["electroclean", "gold", "nickel"]
    assert tag_values(run(loaded, q["variable lot"])) == ["LOT-D 1", "LOT-E"]
    for title, device, columns in [
        ("Kiln PV and SP", "kiln1", ["time", "PV", "SP"]),
        ("Kiln working output", "kiln1", ["time", "output"]),
        ("Tank current and current SP", "nickel", ["time", "current", "current SP"]),
        ("Tank voltage", "nickel", ["time", "voltage"]),
        ("Amp-hours", "nickel", ["time", "amp-hours"]),
        ("Bath temperature", "nickel.bath", ["time", "bath"]),
    ]:
        [series] = run(loaded, q[f"panel {title}"])
        assert series["tags"] == {"device": device}, title
        assert series["columns"] == columns, title
        assert len(series["values"]) > 5, title
        assert all(v is not None for row in series["values"] for v in row), title
    [pv] = run(loaded, q["panel Kiln PV and SP"])
    assert max(row[1] for row in pv["values"]) > 780  # the enamel firing reached ~790 °C
    [ah] = run(loaded, q["panel Amp-hours"])
    assert max(row[1] for row in ah["values"]) > 4  # nickel ended on ~5 amp-hours
    # Alarms: the thermocouple break of LOT-E (all lots), as table rows and annotations.
    q_all = {name: grafana(text, ALL) for name, text in queries.items()}
    [alarms] = run(loaded, q_all["panel Alarms"])
    assert any("tc_break" in row[4] and row[2] == "LOT-E" for row in alarms["values"])
    [raised] = run(loaded, q_all["annotation Alarms"])
    assert any("tc_break" in row[1] for row in raised["values"])
    [operator] = run(loaded, q["annotation Operator events"])
    assert len(operator["values"]) >= 4  # the job's prompts, answered


def test_two_cells_share_one_database_and_never_collide(
    influxd: Influxd, recorded: Path, tmp_path: Path
) -> None:
    """Two cells' sidecars write the same runs (same run ids, lots and device names) into one
    database at once; each cell's data comes back whole and only its own."""
    procs = []
    for cell in ("room-a", "room-b"):
        journal = tmp_path / f"{cell}.sqlite"
        copy_journal(recorded, journal)
        config = tmp_path / f"{cell}.toml"
        config.write_text(f'cell = "{cell}"\nsite = "works"\n')
        argv = [sys.executable, "-m", "kilnctl.cli.main", "--config", str(config), "telemetry"]
        argv += ["--journal", str(journal), "--url", influxd.url, "--api", "v1"]
        argv += ["--database", "kiln", "--once", "--batch-size", "2000"]
        procs.append(DrainedPopen(argv, stderr=subprocess.PIPE, text=True))
    for proc in procs:
        _, stderr = proc.communicate(timeout=50)
        assert proc.returncode == 0, stderr
    with Journal(recorded) as journal:
        runs = journal.runs()
        expected = {r.run_id: sum(1 for _ in journal.samples(r.run_id, "kiln1")) for r in runs}
    for cell in ("room-a", "room-b"):
        series = influxd.query(
            "kiln",
            f"SELECT count(seq) FROM kiln WHERE cell = '{cell}' AND site = 'works' GROUP BY run_id",
        )
        got = {s["tags"]["run_id"]: s["values"][0][1] for s in series}
        assert got == expected, cell
