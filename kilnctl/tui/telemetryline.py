"""The telemetry writer's health as text: a full line for `kilnctl status`, a compact one
for the TUI's status bar. Both read the "telemetry_health" of a status reply
(kilnctl.telemetry.health.writer_status); durations are service time (h:mm:ss)."""

from __future__ import annotations

from typing import Any

from kilnctl.report import format_duration, format_time


def server_label(health: dict[str, Any]) -> str:
    """ "InfluxDB 1.6.7", "VictoriaMetrics v1.96.0", or "" when the version is unknown."""
    version = str(health.get("version") or "")
    return f"InfluxDB {version}" if version[:1].isdigit() else version


def _behind(health: dict[str, Any]) -> str:
    """ "340 records (0:02:05) behind", "up to date"."""
    backlog = int(health.get("backlog") or 0)
    if not backlog:
        return "up to date"
    records = "1 record" if backlog == 1 else f"{backlog} records"
    return f"{records} ({format_duration(float(health.get('lag_s') or 0.0))}) behind"


def telemetry_text(health: dict[str, Any], now: float | None) -> str:
    """One line for `kilnctl status`: state (since when), error, lag, counts."""
    state = str(health.get("state") or "")
    since = health.get("since")
    held = (
        f" for {format_duration(max(0.0, now - since))} (since {format_time(since)})"
        if isinstance(since, int | float) and isinstance(now, int | float)
        else ""
    )
    error = str(health.get("last_error") or "")
    label = server_label(health)
    head = f"telemetry ({label})" if label else "telemetry"
    counts = f"{health.get('delivered', 0)} delivered"
    if health.get("quarantined"):
        counts += f", {health['quarantined']} refused by the server and set aside"
    if state == "stopped":
        setting = health.get("setting") or "the [influx] settings"
        return (
            f"{head}: STOPPED{held}: {error}; fix {setting}, then restart the service; "
            f"{_behind(health)}"
        )
    if state == "retrying":
        retries = int(health.get("retries") or 0)
        return (
            f"{head}: RETRYING{held}: {error}; {_behind(health)}; "
            f"{retries} failed attempt{'s' if retries != 1 else ''}; {counts}"
        )
    if state == "starting":
        return f"{head}: starting, no answer from the server yet; {_behind(health)}"
    return f"{head}: delivering, {_behind(health)}; {counts}"


def telemetry_brief(
    health: dict[str, Any] | None, target: str, now: float | None
) -> tuple[str, bool]:
    """The status bar's telemetry part and whether it is an error state (drawn in the
    alarm colour): "telemetry ok", "telemetry 340 behind (0:02:05)",
    "TELEMETRY DOWN 0:02:10, 340 behind", "TELEMETRY STOPPED: fix [influx] token".
    `target` (the service's telemetry URL, "" for none) when there is no health."""
    if health is None:
        return f"telemetry: {target or 'journal only'}", False
    state = health.get("state")
    backlog = int(health.get("backlog") or 0)
    aside = f", {health['quarantined']} set aside" if health.get("quarantined") else ""
    if state == "stopped":
        return f"TELEMETRY STOPPED: fix {health.get('setting') or '[influx]'}", True
    if state == "retrying":
        since = health.get("since")
        down = (
            f" {format_duration(max(0.0, now - since))}"
            if isinstance(since, int | float) and isinstance(now, int | float)
            else ""
        )
        return f"TELEMETRY DOWN{down}, {backlog} behind", True
    if state == "starting":
        return "telemetry connecting", False
    if backlog:
        lag = format_duration(float(health.get("lag_s") or 0.0))
        return f"telemetry {backlog} behind ({lag}){aside}", False
    return f"telemetry ok{aside}", False
