"""Real time-series servers for the telemetry tests: Debian's influxd 1.6.7 and
victoria-metrics, each started in tmp_path on a free 127.0.0.1 port and killed afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from jnl_servers import INFLUXD_CONF, Influxd, VictoriaMetrics, free_port


@pytest.fixture
def influxd(require_binary: Callable[[str], str], tmp_path: Path) -> Iterator[Influxd]:
    """A running influxd 1.6.7 with database "kiln" created."""
    binary = require_binary("influxd")
    root = tmp_path / "influxd"
    root.mkdir()
    http_port = free_port()
    conf = root / "influxd.conf"
    conf.write_text(INFLUXD_CONF.format(root=root, rpc_port=free_port(), http_port=http_port))
    server = Influxd(
        [binary, "run", "-config", str(conf)], f"http://127.0.0.1:{http_port}", root / "log"
    )
    server.start()
    try:
        server.create_database("kiln")
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
