"""Server processes for the telemetry tests: influxd 1.x and VictoriaMetrics, each on a free
127.0.0.1 port with its data in a temporary directory; stoppable and restartable."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

READY_DEADLINE_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(method: str, url: str, body: bytes | None = None, timeout: float = 5.0) -> bytes:
    request = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return bytes(response.read())


class ServerProcess:
    """One server binary with fixed argv (same port and data dir across restarts)."""

    def __init__(self, argv: list[str], url: str, log_path: Path) -> None:
        self.argv = argv
        self.url = url
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited: {self.log_path.read_text()[-2000:]}")
            try:
                http("GET", f"{self.url}/ping", timeout=1.0)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.02)  # readiness poll, bounded by the deadline
        self.stop()
        raise RuntimeError(f"{self.argv[0]} not ready within {READY_DEADLINE_S} s")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None


INFLUXD_CONF = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{root}/meta"
[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
  auth-enabled = {auth}
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "warn"
"""


class Influxd(ServerProcess):
    """InfluxDB 1.x: /write and /query only."""

    def __init__(self, argv: list[str], url: str, log_path: Path) -> None:
        super().__init__(argv, url, log_path)
        self.credentials: dict[str, str] = {}  # the admin's, on a server with auth

    def execute(self, statement: str) -> None:
        """One InfluxQL statement (as the admin on a server with auth)."""
        query = urllib.parse.urlencode({"q": statement, **self.credentials})
        http("POST", f"{self.url}/query?{query}")

    def create_database(self, name: str) -> None:
        self.execute(f'CREATE DATABASE "{name}"')

    def query(self, database: str, q: str) -> list[dict[str, Any]]:
        """Series of the first statement's result (empty list when no rows)."""
        params = urllib.parse.urlencode({"db": database, "q": q, "epoch": "ns", **self.credentials})
        result = json.loads(http("GET", f"{self.url}/query?{params}"))["results"][0]
        assert "error" not in result, result
        return list(result.get("series", []))


def influxd_in(binary: str, root: Path, *, auth: bool) -> Influxd:
    """An influxd (not started yet) with its config and data under `root` (created), on
    free 127.0.0.1 ports."""
    root.mkdir()
    http_port = free_port()
    conf = root / "influxd.conf"
    conf.write_text(
        INFLUXD_CONF.format(
            root=root, rpc_port=free_port(), http_port=http_port, auth=str(auth).lower()
        )
    )
    return Influxd(
        [binary, "run", "-config", str(conf)], f"http://127.0.0.1:{http_port}", root / "log"
    )


@contextmanager
def running_influxd(binary: str, root: Path) -> Iterator[Influxd]:
    """An influxd without authentication, running, with database "kiln"; stopped after."""
    server = influxd_in(binary, root, auth=False)
    server.start()
    try:
        server.create_database("kiln")
        yield server
    finally:
        server.stop()


class VictoriaMetrics(ServerProcess):
    """VictoriaMetrics: takes /api/v2/write; keeps duplicate samples, so counts show them."""

    def export(self, match: str) -> list[dict[str, Any]]:
        """Every series matching `match` with all raw values and timestamps."""
        http("GET", f"{self.url}/internal/force_flush")
        params = urllib.parse.urlencode({"match[]": match, "start": "0"})
        text = http("GET", f"{self.url}/api/v1/export?{params}").decode()
        return [json.loads(line) for line in text.splitlines() if line.strip()]
