"""The InfluxDB 2.x write API (`POST /api/v2/write`; also InfluxDB 3 and VictoriaMetrics)
through influxdb-client, kept apart so that only a command that writes imports the library.

A bucket that does not exist: InfluxDB 2 answers the write with 404 `{"code":"not found",
"message":"bucket \\"NAME\\" not found"}`. The sink then creates it once, as the 1.x sink
creates a missing database: the organisation's ID from `GET /api/v2/orgs?org=NAME`, then
`POST /api/v2/buckets` (InfluxDB OSS v2 API reference, "Organizations" and "Buckets"), and
writes again. A token that may not do so (a write-only token: the org list comes back empty,
or 401 "write:orgs/ID/buckets is unauthorized") stops the writer with the `influx bucket
create` command an admin runs.
"""

from __future__ import annotations

import shlex
from typing import cast

import urllib3.exceptions
from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.exceptions import InfluxDBError
from influxdb_client.client.write_api import SYNCHRONOUS

from kilnctl.telemetry.sinks import SinkConfigError, SinkError, classify_http, first_line

# InfluxDB 2's status for a bucket made meanwhile by another writer (e.g. another cell):
# 422 "bucket with name X already exists".
_ALREADY_EXISTS = 422


class _BucketNotFound(SinkConfigError):
    """The write's 404 for a missing bucket; a SinkConfigError if creating it did not help."""

    def __init__(self, answer: str, command: str) -> None:
        super().__init__(f"{answer}; {command}")
        self.answer = answer  # the server's answer alone


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

    def write(self, lines: list[str]) -> None:
        try:
            self._write(lines)
        except _BucketNotFound as missing:
            self._create_bucket(missing.answer)
            self._write(lines)

    def _write(self, lines: list[str]) -> None:
        try:
            self._write_api.write(
                bucket=self._bucket,
                org=self._org,
                record=lines,
                # The library's enum members are plain str constants; its annotation is not.
                write_precision=cast(WritePrecision, WritePrecision.NS),
            )
        except InfluxDBError as exc:
            status = _status(exc)
            message = f"HTTP {status} from {self.description}: {exc.message}"
            if status == 404:
                # 404 names what is missing: the bucket (created on demand) or the org.
                if "bucket" in str(exc.message):
                    raise _BucketNotFound(message, self._create_command()) from exc
                raise SinkConfigError(f"{message} (fix [influx] org)") from exc
            if status is None:
                raise SinkError(first_line(exc)) from exc
            raise classify_http(status, message, setting="[influx] token") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SinkError(first_line(exc)) from exc

    def _create_bucket(self, why: str) -> None:
        """Create the bucket (no retention rule: kept until an admin sets one); a bucket
        made meanwhile by another writer is as good. Raises SinkConfigError when the token
        may not, SinkError when the server is unavailable."""
        try:
            self._client.buckets_api().create_bucket(bucket_name=self._bucket, org=self._org)
        except InfluxDBError as exc:
            status = _status(exc)
            if status == _ALREADY_EXISTS:
                return
            if status is not None and status not in (401, 403, 404):
                raise SinkError(f"HTTP {status} from {self.description}: {exc.message}") from exc
            # No status: the org list came back empty, which is what a token that may not
            # read the organisation gets.
            raise SinkConfigError(
                f"{why}; kilnctl may not create it ({exc.message}): {self._create_command()}"
            ) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SinkError(first_line(exc)) from exc

    def _create_command(self) -> str:
        return (
            f"ask an admin to run influx bucket create --name {shlex.quote(self._bucket)} "
            f"--org {shlex.quote(self._org)} (or fix [influx] bucket/org)"
        )

    def close(self) -> None:
        self._client.close()


def _status(exc: InfluxDBError) -> int | None:
    status = getattr(exc, "status", None) or getattr(exc.response, "status", None)
    return int(status) if status is not None else None
