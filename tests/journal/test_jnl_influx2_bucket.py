"""A missing InfluxDB 2 bucket (issue 9 §2): created when the token may, else a clear stop
with the `influx bucket create` command. Against the InfluxDB 2 STAND-IN (influx2_standin:
no InfluxDB 2 is packaged here), through `kilnctl telemetry` and influxdb-client as in use."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from influx2_standin import ALL_ACCESS, WRITE_ONLY, Influx2StandIn

from kilnctl.cli.main import main
from kilnctl.journal import Journal

ORG = "enamel works"


@pytest.fixture
def standin() -> Iterator[Influx2StandIn]:
    with Influx2StandIn(ORG) as server:
        yield server


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "j.sqlite") as j:
        run_id = j.start_run(
            job_name="enamel-fire",
            lot_id="LOT-7",
            recipe_hashes={},
            started_at=time.time(),
            meta={},
        )
        for seq in range(3):
            j.record_sample(run_id, seq, time.time(), "kiln1", {"pv_c": 20.0 + seq})
        yield j


def telemetry(server: Influx2StandIn, journal: Journal, token: str, *, api: str = "v2") -> int:
    argv = ["telemetry", "--journal", str(journal.path), "--url", server.url, "--api", api]
    return main([*argv, "--org", ORG, "--bucket", "kiln room", "--token", token, "--once"])


@pytest.mark.parametrize("api", ["v2", "auto"])
def test_a_missing_bucket_is_created_when_the_token_may(
    standin: Influx2StandIn, journal: Journal, api: str
) -> None:
    assert telemetry(standin, journal, ALL_ACCESS, api=api) == 0
    assert [line.split(" ")[1] for line in standin.buckets["kiln room"]] == [
        "pv_c=20.0,seq=0i",
        "pv_c=21.0,seq=1i",
        "pv_c=22.0,seq=2i",
    ]
    # the write's 404, the org's ID by name, the bucket made, the write again
    assert [r for r in standin.requests if r != "GET /ping"] == [
        "POST /api/v2/write",
        "GET /api/v2/orgs",
        "POST /api/v2/buckets",
        "POST /api/v2/write",
    ]


def test_a_missing_bucket_the_token_may_not_create_says_how_to_create_it(
    standin: Influx2StandIn, journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="kilnctl.telemetry"):
        assert telemetry(standin, journal, WRITE_ONLY) == 2
    message = caplog.records[-1].getMessage()
    assert "HTTP 404 from" in message and 'bucket "kiln room" not found' in message
    assert "kilnctl may not create it" in message
    assert "influx bucket create --name 'kiln room' --org 'enamel works'" in message
    assert standin.buckets == {}
    # once an admin made it, the same write-only token delivers everything
    standin.buckets["kiln room"] = []
    assert telemetry(standin, journal, WRITE_ONLY) == 0
    assert len(standin.buckets["kiln room"]) == 3
