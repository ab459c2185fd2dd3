"""Telemetry: a long-lived writer that copies the journal's samples and events to InfluxDB.

`layout` maps journal records to points (measurements, tags, fields), `sinks` speaks the
two wire forms (InfluxDB 2.x API, also VictoriaMetrics; InfluxDB 1.x /write), and `writer`
moves bounded batches from the journal's outbox, advancing its cursor only after a write
succeeded.
"""

from __future__ import annotations

from kilnctl.telemetry.layout import to_line
from kilnctl.telemetry.sinks import (
    Sink,
    SinkConfigError,
    SinkError,
    SinkRejected,
    detect_api,
    make_sink,
)
from kilnctl.telemetry.writer import BackgroundWriter, TelemetryWriter

__all__ = [
    "BackgroundWriter",
    "Sink",
    "SinkConfigError",
    "SinkError",
    "SinkRejected",
    "TelemetryWriter",
    "detect_api",
    "make_sink",
    "to_line",
]
