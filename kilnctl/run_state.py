"""What became of a run, from its journal entry: finished (outcome), still running, or
crashed (unfinished and nothing runs it any more: `kilnctl resume` can pick it up)."""

from __future__ import annotations

import os
import socket
from collections.abc import Collection
from typing import Any

from kilnctl.journal import RunInfo


def service_record(meta: dict[str, Any]) -> str | None:
    """"plant watch" or "telemetry writer" for a record `kilnctl serve` keeps for itself
    (by its meta: "watch", "telemetry"), else None. Such a record is no run: it stays open
    while the service runs (or holds an alarm), and only the service finishes it."""
    if meta.get("watch"):
        return "plant watch"
    if meta.get("telemetry"):
        return "telemetry writer"
    return None


def process_alive(meta: dict[str, Any]) -> bool:
    """True when the process that started the run (meta "pid" on meta "host", written by
    engine.run_origin) still exists on this host. A run of another host counts as alive:
    from here it cannot be told otherwise."""
    pid, host = meta.get("pid"), meta.get("host")
    if not isinstance(pid, int):
        return False
    if host and host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user (the service's account)
    return True


def run_state(info: RunInfo, live_runs: Collection[str] = ()) -> str:
    """The run's outcome; else "running" (in `live_runs`, the service's active runs, or
    its process is alive) or "crashed"."""
    if info.outcome is not None:
        return info.outcome
    kind = service_record(info.meta)
    if kind is not None:  # the service's own record: nothing to resume
        return kind
    if info.run_id in live_runs or process_alive(info.meta):
        return "running"
    return "crashed"


def simulated_text(meta: dict[str, Any]) -> str:
    """ "" on real time; else e.g. "simulated time x60" (meta "simulated")."""
    sim = meta.get("simulated")
    if not isinstance(sim, dict):
        return ""
    speed = sim.get("speed")
    if sim.get("clock") == "scaled" and isinstance(speed, int | float):
        return f"simulated time x{speed:g}"
    return "simulated (virtual) time"
