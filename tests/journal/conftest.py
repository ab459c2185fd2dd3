"""Real time-series servers for the telemetry tests: Debian's influxd 1.6.7 and
victoria-metrics, each started in tmp_path on a free 127.0.0.1 port and killed afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from jnl_servers import Influxd, VictoriaMetrics, free_port, influxd_in, running_influxd


@pytest.fixture
def influxd(require_binary: Callable[[str], str], tmp_path: Path) -> Iterator[Influxd]:
    """A running influxd 1.6.7 with database "kiln" created."""
    with running_influxd(require_binary("influxd"), tmp_path / "influxd") as server:
        yield server


@pytest.fixture
def influxd_auth(require_binary: Callable[[str], str], tmp_path: Path) -> Iterator[Influxd]:
    """A running influxd 1.6.7 with authentication on: users "admin:pw" (admin) and
    "writer:pw" (may write to database "kiln" only, may not create databases)."""
    server = influxd_in(require_binary("influxd"), tmp_path / "influxd-auth", auth=True)
    server.start()
    try:
        # With no user yet, influxd lets anyone create the first admin.
        server.execute("CREATE USER admin WITH PASSWORD 'pw' WITH ALL PRIVILEGES")
        server.credentials = {"u": "admin", "p": "pw"}
        server.execute("CREATE USER writer WITH PASSWORD 'pw'")
        server.create_database("kiln")
        server.execute('GRANT WRITE ON "kiln" TO writer')
        yield server
    finally:
        server.stop()


@pytest.fixture
def victoria(require_binary: Callable[[str], str], tmp_path: Path) -> Iterator[VictoriaMetrics]:
    """A running victoria-metrics; retention long enough for any test timestamp."""
    binary = require_binary("victoria-metrics")
    root = tmp_path / "vm"
    port = free_port()
    server = VictoriaMetrics(
        [
            binary,
            f"-storageDataPath={root}",
            f"-httpListenAddr=127.0.0.1:{port}",
            "-retentionPeriod=100y",
            "-loggerLevel=ERROR",
        ],
        f"http://127.0.0.1:{port}",
        tmp_path / "vm.log",
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
