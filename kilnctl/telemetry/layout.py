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

Records are turned into line protocol here, directly (InfluxDB line protocol reference:
tag keys and values escape comma, equals sign and space; string field values escape double
quote and backslash; integers carry an `i` suffix), not through influxdb-client's Point:
the catch-up after an outage is bound by this step, and Point costs ~60 µs a record where
this costs a few (bench/bench_telemetry.py). Tags are sorted by key, as InfluxDB prefers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from types import MappingProxyType

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


_TAG = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_STRING = str.maketrans({"\\": "\\\\", '"': '\\"'})


class LineMaker:
    """Line-protocol lines for journal records (layout in the module doc), each tagged with
    the plant's constant `tags` (cell, site). The series part of a line (measurement and
    tags) is made once per series and reused: a writer sends many records of few series."""

    def __init__(self, tags: Mapping[str, str] = _NO_TAGS) -> None:
        self._tags = dict(tags)
        self._series: dict[tuple[str, str, str, str, str, str], str] = {}

    def line(self, record: OutboxRecord) -> str:
        """The line for one sample or event."""
        if record.stream == "sample":
            measurement, tag = sample_measurement(record.payload), "device"
            # Always float: an int once and a float later is a field type conflict (HTTP
            # 400) in InfluxDB. NaN/inf have no line-protocol form.
            fields = [
                f"{key.translate(_TAG)}={float(value)!r}"
                for key, value in sorted(record.payload.items())
                if isinstance(value, int | float) and math.isfinite(value)
            ]
            fields.append(f"seq={record.seq}i")
        else:
            measurement, tag = "event", "kind"
            data = json.dumps(record.payload, sort_keys=True, default=str).translate(_STRING)
            fields = [f'data="{data}"', f"event_id={record.row_id}i"]
        key = (measurement, tag, record.name, record.run_id, record.lot_id, record.job_name)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = self._series_text(*key)
        return f"{series} {','.join(fields)} {timestamp_ns(record.t, record.seq)}"

    def _series_text(
        self, measurement: str, tag: str, name: str, run_id: str, lot: str, job: str
    ) -> str:
        tags = {**self._tags, tag: name, "run_id": run_id, "lot": lot, "job": job}
        return measurement + "".join(
            f",{key.translate(_TAG)}={value.translate(_TAG)}"
            for key, value in sorted(tags.items())
            if value  # an empty tag value has no line-protocol form: the tag is left out
        )


def to_line(record: OutboxRecord, tags: Mapping[str, str] = _NO_TAGS) -> str:
    """The line for one record (a LineMaker for one line)."""
    return LineMaker(tags).line(record)
