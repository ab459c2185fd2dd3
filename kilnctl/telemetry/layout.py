"""How journal records look in InfluxDB.

Samples:
    measurement  "kiln" when the values hold pv_c/sp_c/out_pct, "tank" when they hold
                 volts/amps/amp_hours/amps_sp/bath_c, else "sample"
    tags         run_id, lot, job, device (the sample's source: kiln, tank or device name),
                 and the plant's cell (and site) so cells sharing one database never collide
    fields       every value as a float (pv_c, sp_c, out_pct, volts, amps, ...), plus
                 seq (integer) so each journal row can be told apart
Events:
    measurement  "event"
    tags         run_id, lot, job, cell, site, kind (alarm_raised, setpoint, operator, ...)
    fields       data (the event's JSON as a string) and event_id (integer, the journal
                 row id). VictoriaMetrics stores numbers only: it keeps event_event_id and
                 turns the string into a meaningless event_data = 0.
Time: nanoseconds; t rounded to the microsecond plus (seq or event id) mod 1000 ns, so two
records of one series at the same instant stay two points, and a re-sent record lands on
the same point (InfluxDB overwrites: a retry is idempotent).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from types import MappingProxyType

from influxdb_client import Point, WritePrecision

from kilnctl.journal import OutboxRecord

KILN_FIELDS = frozenset({"pv_c", "sp_c", "out_pct"})
_NO_TAGS: Mapping[str, str] = MappingProxyType({})
TANK_FIELDS = frozenset({"volts", "amps", "amp_hours", "amps_sp", "bath_c"})


def sample_measurement(values: dict[str, object]) -> str:
    """The measurement for sample values: "kiln", "tank" or "sample"."""
    if KILN_FIELDS & values.keys():
        return "kiln"
    if TANK_FIELDS & values.keys():
        return "tank"
    return "sample"


def timestamp_ns(t: float, discriminator: int) -> int:
    """Unix seconds -> ns, made unique within a microsecond by `discriminator`."""
    return round(t * 1_000_000) * 1000 + discriminator % 1000


def to_point(record: OutboxRecord, tags: Mapping[str, str] = _NO_TAGS) -> Point:
    """The InfluxDB point for one journal sample or event (layout in the module doc), with
    the plant's constant `tags` (cell, site)."""
    if record.stream == "sample":
        point = Point(sample_measurement(record.payload)).tag("device", record.name)
        for key, value in sorted(record.payload.items()):
            # Always float: an int once and a float later is a field type conflict (HTTP 400)
            # in InfluxDB. NaN/inf have no line-protocol form.
            if isinstance(value, int | float) and math.isfinite(value):
                point = point.field(key, float(value))
        point = point.field("seq", record.seq)
    else:
        point = (
            Point("event")
            .tag("kind", record.name)
            .field("data", json.dumps(record.payload, sort_keys=True, default=str))
            .field("event_id", record.row_id)
        )
    for key, value in tags.items():
        point = point.tag(key, value)
    return (
        point.tag("run_id", record.run_id)
        .tag("lot", record.lot_id)
        .tag("job", record.job_name)
        .time(timestamp_ns(record.t, record.seq), WritePrecision.NS)
    )
