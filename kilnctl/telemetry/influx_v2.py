"""The InfluxDB 2.x write API (`POST /api/v2/write`; also InfluxDB 3 and VictoriaMetrics)
through influxdb-client, kept apart so that only a command that writes imports the library."""

from __future__ import annotations

from typing import cast

import urllib3.exceptions
from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.exceptions import InfluxDBError
from influxdb_client.client.write_api import SYNCHRONOUS

from kilnctl.telemetry.sinks import SinkConfigError, SinkError, classify_http, first_line


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
            self._write_api.write(
                bucket=self._bucket,
                org=self._org,
                record=lines,
                # The library's enum members are plain str constants; its annotation is not.
                write_precision=cast(WritePrecision, WritePrecision.NS),
            )
        except InfluxDBError as exc:
            status = getattr(exc, "status", None) or getattr(exc.response, "status", None)
            message = f"HTTP {status} from {self.description}: {exc.message}"
            if status == 404:
                # The v2 API answers 404 for a bucket (or org) that does not exist.
                raise SinkConfigError(
                    f"{message}; create it: influx bucket create --name {self._bucket} "
                    f"--org {self._org} (or fix [influx] bucket/org)"
                ) from exc
            if status is None:
                raise SinkError(first_line(exc)) from exc
            raise classify_http(status, message, setting="[influx] token") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SinkError(first_line(exc)) from exc

    def close(self) -> None:
        self._client.close()
