"""A STAND-IN for an InfluxDB 2 server (no InfluxDB 2 is packaged for Debian or PyPI): a
stdlib http.server answering the few endpoints kilnctl uses exactly as InfluxDB OSS 2.7
does, in a thread of the test process on a free 127.0.0.1 port. Not a database: it keeps
the lines written, per bucket.

Sources of each answer:
- POST /api/v2/write?org=&bucket=&precision=: 204 written; 404 `{"code":"not found",
  "message":"bucket \\"NAME\\" not found"}` for a missing bucket, exactly as an InfluxDB
  v2.7.6 answered (github.com/influxdata/influxdb/issues/25049, with the headers
  X-Influxdb-Version and X-Platform-Error-Code); 404 "organization name ... not found" for
  an unknown org; 401 `{"code":"unauthorized","message":"unauthorized access"}` for an
  unknown token (docs.influxdata.com/influxdb/v2/api/write/).
- GET /api/v2/orgs?org=NAME: 200 `{"orgs":[{"id","name"}]}`, filtered down to the orgs the
  token may read, so a write-only token gets an empty list (docs.influxdata.com/influxdb/v2/
  api/organizations/; influxdb's authorizer/org.go FindOrganizations).
- POST /api/v2/buckets `{"orgID","name","retentionRules"}`: 201 with the bucket; 401
  `"write:orgs/ORGID/buckets is unauthorized"` for a token without that permission
  (authorizer/authorize.go: EUnauthorized is HTTP 401); 422 "bucket with name NAME already
  exists" (docs.influxdata.com/influxdb/v2/api/buckets/).
- GET /ping: 204 with X-Influxdb-Version (how `--api auto` tells 1.x from 2.x).
"""

from __future__ import annotations

import json
import secrets
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VERSION = "v2.7.6"
ALL_ACCESS = "all-access-token"  # reads the org, creates buckets, writes
WRITE_ONLY = "write-only-token"  # writes to existing buckets only


class Influx2StandIn:
    """The stand-in server: one org, the buckets it holds, the lines written to each."""

    def __init__(self, org: str) -> None:
        self.org = org
        self.org_id = secrets.token_hex(8)  # InfluxDB IDs: 16 hex digits
        self.buckets: dict[str, list[str]] = {}  # name -> lines written
        self.requests: list[str] = []  # "METHOD /path", in order
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Influx2StandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _handler(server: Influx2StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: pytest's output is for failures."""

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def _route(self, method: str) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            server.requests.append(f"{method} {url.path}")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if url.path == "/ping":
                return self._answer(204)
            token = self.headers.get("Authorization", "").removeprefix("Token ").strip()
            if token not in (ALL_ACCESS, WRITE_ONLY):
                return self._error(401, "unauthorized", "unauthorized access")
            if (method, url.path) == ("POST", "/api/v2/write"):
                return self._write(query, body)
            if (method, url.path) == ("GET", "/api/v2/orgs"):
                readable = token == ALL_ACCESS and query.get("org") in (None, server.org)
                orgs = [{"id": server.org_id, "name": server.org}] if readable else []
                return self._answer(200, {"links": {"self": "/api/v2/orgs"}, "orgs": orgs})
            if (method, url.path) == ("POST", "/api/v2/buckets"):
                return self._create_bucket(token, json.loads(body))
            return self._error(404, "not found", "path not found")

        def _write(self, query: dict[str, str], body: bytes) -> None:
            if query.get("org") not in (server.org, server.org_id):
                return self._error(
                    404, "not found", f'organization name "{query.get("org")}" not found'
                )
            bucket = query.get("bucket", "")
            if bucket not in server.buckets:
                return self._error(404, "not found", f'bucket "{bucket}" not found')
            server.buckets[bucket].extend(body.decode().splitlines())
            self._answer(204)

        def _create_bucket(self, token: str, request: dict[str, Any]) -> None:
            if token != ALL_ACCESS or request.get("orgID") != server.org_id:
                permission = f"write:orgs/{request.get('orgID')}/buckets"
                return self._error(401, "unauthorized", f"{permission} is unauthorized")
            name = str(request["name"])
            if name in server.buckets:
                return self._error(422, "conflict", f"bucket with name {name} already exists")
            server.buckets[name] = []
            self._answer(
                201,
                {
                    "id": secrets.token_hex(8),
                    "orgID": server.org_id,
                    "name": name,
                    "type": "user",
                    "retentionRules": request.get("retentionRules", []),
                    "links": {},
                    "labels": [],
                },
            )

        def _error(self, status: int, code: str, message: str) -> None:
            self._answer(status, {"code": code, "message": message}, error_code=code)

        def _answer(
            self, status: int, body: dict[str, Any] | None = None, error_code: str = ""
        ) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("X-Influxdb-Build", "OSS")
            self.send_header("X-Influxdb-Version", VERSION)
            if error_code:
                self.send_header("X-Platform-Error-Code", error_code)
            if data:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
