"""Where points go: the InfluxDB 2.x write API (also VictoriaMetrics) or InfluxDB 1.x /write.

Both forms send the same line protocol (lines made by `layout.to_line`). Every
failure surfaces as a SinkError with a one-line message, classified by what the writer
should do about it (InfluxDB's HTTP API docs, "/write" status codes):
- SinkError: the server or the network is down, overloaded (5xx, 429) -> retry with backoff;
- SinkRejected: the server refused the data itself (400 bad line, beyond the retention
  policy, field type conflict; 413 too large; 422) -> retrying the same batch can never
  succeed: isolate the bad records and move on;
- SinkConfigError: 401/403 (credentials) or a database/bucket that does not exist and cannot
  be created -> a person must fix a setting; retrying is pointless.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Literal, Protocol

ApiName = Literal["v1", "v2"]
API_CHOICES = ("auto", "v1", "v2")


class SinkError(Exception):
    """A write that did not happen because the server or network is unavailable: retry."""


class SinkRejected(SinkError):
    """The server refused these points themselves (HTTP 400, 413, 422): never retry them as
    they are. Carries the server's reason."""


class SinkConfigError(SinkError):
    """A setting must be fixed (HTTP 401/403, missing database or bucket): stop writing."""


REJECTED_STATUSES = frozenset({400, 413, 422})
AUTH_STATUSES = frozenset({401, 403})


def classify_http(status: int, message: str, *, setting: str) -> SinkError:
    """The SinkError for an HTTP error status; `setting` names what a 401/403 asks to fix."""
    if status in AUTH_STATUSES:
        return SinkConfigError(f"{message} (check {setting})")
    if status in REJECTED_STATUSES:
        return SinkRejected(message)
    return SinkError(message)


class Sink(Protocol):
    """A destination for line-protocol lines; `write` stores all of them or raises SinkError."""

    description: str

    def write(self, lines: list[str]) -> None: ...

    def close(self) -> None: ...


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class InfluxV1Sink:
    """InfluxDB 1.x POST /write?db=... with line protocol; token "user:password" if auth."""

    def __init__(self, url: str, *, database: str, token: str = "", timeout_s: float) -> None:
        self.description = f"{url} (v1 db={database})"
        self._database = database
        auth: dict[str, str] = {}
        if token:
            user, _, password = token.partition(":")
            auth = {"u": user, "p": password}
        base = url.rstrip("/")
        self._endpoint = f"{base}/write?" + urllib.parse.urlencode(
            {"db": database, "precision": "ns", **auth}
        )
        self._create_endpoint = f"{base}/query?" + urllib.parse.urlencode(
            {"q": f'CREATE DATABASE "{database}"', **auth}
        )
        self._timeout_s = timeout_s

    def write(self, lines: list[str]) -> None:
        body = "\n".join(lines).encode()
        try:
            self._post(self._endpoint, body)
        except _HttpStatus as exc:
            if exc.status != 404:
                raise classify_http(exc.status, exc.message, setting="[influx] token") from None
            # InfluxDB 1.x answers 404 "database not found" until it exists: create it once
            # (CREATE DATABASE is idempotent), then write again.
            self._create_database(exc.message)
            try:
                self._post(self._endpoint, body)
            except _HttpStatus as again:
                raise classify_http(again.status, again.message, setting="[influx] token") from None

    def _create_database(self, why: str) -> None:
        try:
            self._post(self._create_endpoint, b"")
        except _HttpStatus as exc:
            raise SinkConfigError(
                f"{why}; kilnctl may not create it ({exc.message}): ask an admin to run "
                f"influx -execute 'CREATE DATABASE \"{self._database}\"' "
                "(or fix [influx] database)"
            ) from None

    def _post(self, endpoint: str, body: bytes) -> None:
        request = urllib.request.Request(endpoint, data=body, method="POST")
        request.add_header("Content-Type", "text/plain; charset=utf-8")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                text = response.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace").strip()
            message = f"HTTP {exc.code} from {self.description}: {detail}"
            raise _HttpStatus(exc.code, message) from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise SinkError(first_line(exc)) from exc
        # /query answers 200 with {"results":[{"error": ...}]} when a statement fails,
        # e.g. a non-admin user's CREATE DATABASE.
        if '"error"' in text:
            raise _HttpStatus(403, f"{self.description}: {text.strip()}")

    def close(self) -> None:
        """Nothing to release: one connection per request."""


class _HttpStatus(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def detect_api(url: str, timeout_s: float) -> ApiName:
    """The API of the server at `url`: "v1" if its /ping says InfluxDB 1.x, else "v2"
    (InfluxDB 2.x/3.x and VictoriaMetrics take /api/v2/write)."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/ping", timeout=timeout_s) as response:
            version = response.headers.get("X-Influxdb-Version", "")
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise SinkError(f"cannot reach {url} to detect its API: {first_line(exc)}") from exc
    return "v1" if version.lstrip("v").startswith("1.") else "v2"


_VM_VERSION = re.compile(r'^vm_app_version\{[^}]*short_version="([^"]*)"', re.MULTILINE)


def server_version(url: str, timeout_s: float) -> str:
    """What the server at `url` says it is, e.g. "1.6.7" (InfluxDB), "VictoriaMetrics v1.96.0".

    InfluxDB 1.x and 2.x name their version in /ping's X-Influxdb-Version header (no auth
    needed; InfluxDB docs, "/ping"); InfluxDB 2.x/3.x also in /health's JSON "version";
    VictoriaMetrics answers /ping without that header and names itself in /metrics
    (`vm_app_version{short_version="v1.96.0"}`; empty in a build without a version stamp,
    as Debian's). "" when the server answers but names no version. Raises SinkError when
    it cannot be reached.
    """
    base = url.rstrip("/")
    try:
        with urllib.request.urlopen(f"{base}/ping", timeout=timeout_s) as response:
            version = response.headers.get("X-Influxdb-Version", "")
    except urllib.error.HTTPError as exc:  # it answers, only not /ping: try the others
        version = exc.headers.get("X-Influxdb-Version", "") if exc.headers else ""
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise SinkError(f"cannot reach {url}: {first_line(exc)}") from exc
    if version:
        return str(version).removeprefix("v")
    health = _get_text(f"{base}/health", timeout_s)
    with contextlib.suppress(ValueError, AttributeError):
        if found := json.loads(health).get("version"):
            return str(found).removeprefix("v")
    if vm := _VM_VERSION.search(_get_text(f"{base}/metrics", timeout_s)):
        return f"VictoriaMetrics {vm[1]}".strip()
    return ""


def _get_text(url: str, timeout_s: float) -> str:
    """The body of a GET, "" on any failure (for optional probes)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return str(response.read(1 << 20).decode(errors="replace"))
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        return ""


class AutoSink:
    """Detects the API on first use, so a server that is down at start-up is just an outage."""

    def __init__(
        self, url: str, *, org: str, bucket: str, token: str, database: str, timeout_s: float
    ) -> None:
        self.description = f"{url} (api auto)"
        self._args = (url, org, bucket, token, database, timeout_s)
        self._inner: Sink | None = None

    def write(self, lines: list[str]) -> None:
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
        self._inner.write(lines)

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
        # influxdb-client takes ~0.3 s to import: only a command that writes pays for it.
        from kilnctl.telemetry.influx_v2 import InfluxV2Sink

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
