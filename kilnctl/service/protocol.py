"""The service's wire messages: one JSON object per line, both ways.

Requests: {"id": any, "op": <OPS>, ...arguments}. Replies: {"id", "ok": true, ...} or
{"id", "ok": false, "error": "<message a user can act on>"}. After a "subscribe" reply
the server also sends event lines, which carry a "kind" key and no "ok" key.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OPS: dict[str, str] = {
    "status": "snapshot of the active runs (with their planned setpoint) and of each kiln/tank",
    "start": "start a job: job, lot, optional kiln/tank, kilns/tanks ({role: unit})",
    "pause": "pause a run: optional run",
    "resume": "resume a paused run: optional run",
    "skip": "skip the current segment or step: optional run",
    "extend": "extend the current hold: seconds, optional run",
    "abort": "abort a run: optional run, reason",
    "ack": "acknowledge an alarm: alarm, optional run",
    "answer": "answer a prompt: prompt, answer, optional run",
    "subscribe": "stream the engine's events on this connection",
    "runs": "runs recorded in the journal",
    "recipes": "recipes the service can start",
    "recipe": "one recipe's preview, findings and kiln/tank roles: name",
    "history": "a run's samples of one source, thinned: run, source, optional since, max_points",
    "steps": "a run's job steps with status, times and ETAs (active or recently ended): run",
    "read": "read one device the service holds: device",
    "safe": "make devices safe and report the state read back: devices (a list) or all",
}
"""Every operation and a one-line description (used in error messages)."""

MAX_LINE = 64 * 1024
"""Longest request line accepted; a client sending more is cut off."""

DROPPED = "dropped"
"""`kind` of the notice a subscriber gets after losing events to its bounded queue."""


class ProtocolError(Exception):
    """A request that cannot be understood; the message says what to send instead."""

    def __init__(self, message: str, req_id: Any = None) -> None:
        super().__init__(message)
        self.req_id = req_id


@dataclass(frozen=True)
class Request:
    """One parsed request."""

    id: Any
    op: str
    args: dict[str, Any] = field(default_factory=dict)

    def text(self, key: str, default: str | None = None) -> str | None:
        """A string argument; ProtocolError if present but not a string."""
        value = self.args.get(key, default)
        if value is not None and not isinstance(value, str):
            raise ProtocolError(f"{self.op}: {key!r} must be a string, got {value!r}")
        return value

    def number(self, key: str, default: float) -> float:
        """A numeric argument; ProtocolError if present but not a number."""
        value = self.args.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProtocolError(f"{self.op}: {key!r} must be a number, got {value!r}")
        return float(value)


def parse_request(line: bytes | str) -> Request:
    """Parse one request line; ProtocolError says what is wrong."""
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not a JSON object: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f'not a JSON object: send {{"id": 1, "op": "status"}}, got {data!r}')
    op = data.pop("op", None)
    req_id = data.pop("id", None)
    if op not in OPS:
        raise ProtocolError(f"unknown op {op!r} (allowed: {', '.join(OPS)})", req_id)
    return Request(req_id, op, data)


def encode(message: dict[str, Any]) -> bytes:
    """One message as a JSON line."""
    return (json.dumps(message, separators=(",", ":"), default=str) + "\n").encode()


def ok(req_id: Any, **fields: Any) -> dict[str, Any]:
    """A success reply."""
    return {"id": req_id, "ok": True, **fields}


def error(req_id: Any, message: str) -> dict[str, Any]:
    """A failure reply."""
    return {"id": req_id, "ok": False, "error": message}


def is_reply(message: dict[str, Any]) -> bool:
    """True for a reply, False for a streamed event."""
    return "ok" in message


def default_socket_path() -> Path:
    """$XDG_RUNTIME_DIR/kilnctl.sock, else /tmp/kilnctl-<uid>.sock."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "kilnctl.sock"
    return Path(f"/tmp/kilnctl-{os.getuid()}.sock")
