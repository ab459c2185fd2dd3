"""Where points go: the InfluxDB 2.x write API (also VictoriaMetrics) or InfluxDB 1.x /write.

Both forms send the same line protocol (influxdb-client's Point serialisation). Every
failure surfaces as SinkError with a one-line message; the writer decides to retry.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request
from typing import Literal, Protocol, cast

import urllib3.exceptions
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.exceptions import InfluxDBError
from influxdb_client.client.write_api import SYNCHRONOUS

ApiName = Literal["v1", "v2"]
API_CHOICES = ("auto", "v1", "v2")


class SinkError(Exception):
    """A write that did not happen (server down, refused, rejected): retry later."""


class Sink(Protocol):
    """A destination for points; `write` either stores all of them or raises SinkError."""

    description: str

    def write(self, points: list[Point]) -> None: ...

    def close(self) -> None: ...


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class InfluxV2Sink:
    """InfluxDB 2.x /api/v2/write via influxdb-client (org, bucket, token)."""

    def __init__(self, url: str, *, org: str, bucket: str, token: str, timeout_s: float) -> None:
        self.description = f"{url} (v2 org={org} bucket={bucket})"
        self._bucket = bucket
        self._org = org
        # No client-side retries: the writer owns retry and backoff, and must hear of an
        # outage at once rather than after the library's own attempts.
        self._client = InfluxDBClient(url=url, token=token, org=org, timeout=int(timeout_s * 1000))
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, points: list[Point]) -> None:
        try:
            self._write_api.write(
                bucket=self._bucket,
                org=self._org,
                record=points,
                # The library's enum members are plain str constants; its annotation is not.
                write_precision=cast(WritePrecision, WritePrecision.NS),
            )
        except (InfluxDBError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise SinkError(_first_line(exc)) from exc

    def close(self) -> None:
        self._client.close()


class InfluxV1Sink:
    """InfluxDB 1.x POST /write?db=... with line protocol; token "user:password" if auth."""

    def __init__(self, url: str, *, database: str, token: str = "", timeout_s: float) -> None:
        self.description = f"{url} (v1 db={database})"
        params = {"db": database, "precision": "ns"}
        if token:
            user, _, password = token.partition(":")
            params.update(u=user, p=password)
        self._endpoint = f"{url.rstrip('/')}/write?{urllib.parse.urlencode(params)}"
        self._timeout_s = timeout_s

    def write(self, points: list[Point]) -> None:
        body = "\n".join(p.to_line_protocol() for p in points).encode()
        request = urllib.request.Request(self._endpoint, data=body, method="POST")
        request.add_header("Content-Type", "text/plain; charset=utf-8")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace").strip()
            raise SinkError(f"HTTP {exc.code} from {self.description}: {detail}") from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise SinkError(_first_line(exc)) from exc

    def close(self) -> None:
        """Nothing to release: one connection per request."""


def detect_api(url: str, timeout_s: float) -> ApiName:
    """The API of the server at `url`: "v1" if its /ping says InfluxDB 1.x, else "v2"
    (InfluxDB 2.x/3.x and VictoriaMetrics take /api/v2/write)."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/ping", timeout=timeout_s) as response:
            version = response.headers.get("X-Influxdb-Version", "")
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise SinkError(f"cannot reach {url} to detect its API: {_first_line(exc)}") from exc
    return "v1" if version.lstrip("v").startswith("1.") else "v2"


class AutoSink:
    """Detects the API on first use, so a server that is down at start-up is just an outage."""

    def __init__(
        self, url: str, *, org: str, bucket: str, token: str, database: str, timeout_s: float
    ) -> None:
        self.description = f"{url} (api auto)"
        self._args = (url, org, bucket, token, database, timeout_s)
        self._inner: Sink | None = None

    def write(self, points: list[Point]) -> None:
        if self._inner is None:
            url, org, bucket, token, database, timeout_s = self._args
            api = detect_api(url, timeout_s)
            self._inner = make_sink(
                url,
                api=api,
                org=org,
                bucket=bucket,
                token=token,
                database=database,
                timeout_s=timeout_s,
            )
            self.description = self._inner.description
        self._inner.write(points)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


def make_sink(
    url: str,
    *,
    api: str = "auto",
    org: str = "",
    bucket: str = "",
    token: str = "",
    database: str = "",
    timeout_s: float = 10.0,
) -> Sink:
    """The sink for `api` ("v1", "v2" or "auto"); ValueError names what is missing."""
    if api not in API_CHOICES:
        raise ValueError(f"influx api {api!r} is not one of {', '.join(API_CHOICES)}")
    if api == "v2":
        missing = [name for name, value in (("org", org), ("bucket", bucket)) if not value]
        if missing:
            raise ValueError(f"influx api v2 needs {' and '.join(missing)}")
        return InfluxV2Sink(url, org=org, bucket=bucket, token=token, timeout_s=timeout_s)
    if api == "v1":
        if not (database or bucket):
            raise ValueError("influx api v1 needs database")
        return InfluxV1Sink(url, database=database or bucket, token=token, timeout_s=timeout_s)
    if not (database or (org and bucket)):
        raise ValueError("influx api auto needs database (1.x) and/or org and bucket (2.x)")
    return AutoSink(
        url,
        org=org,
        bucket=bucket or database,
        token=token,
        database=database or bucket,
        timeout_s=timeout_s,
    )
