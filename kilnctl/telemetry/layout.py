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
A catch-up goes faster still from the journal's undecoded rows (`LineMaker.row_lines`): a
sample's line is one %-format of a template made once per series and set of value names.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from kilnctl.journal import OutboxRecord, OutboxRow

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
# JSON numbers as floats: every field is a float in InfluxDB (see LineMaker.line).
_decode_floats = json.JSONDecoder(parse_int=float).decode
# A sample's template and the getter of its values in field order, per series and names.
_SamplePlan = tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]]]


class LineMaker:
    """Line-protocol lines for journal records (layout in the module doc), each tagged with
    the plant's constant `tags` (cell, site). The series part of a line (measurement and
    tags) is made once per series and reused: a writer sends many records of few series."""

    def __init__(self, tags: Mapping[str, str] = _NO_TAGS) -> None:
        self._tags = dict(tags)
        self._series: dict[tuple[str, str, str, str, str, str], str] = {}
        self._plans: dict[tuple[str, str, tuple[str, ...]], _SamplePlan] = {}

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

    def row_lines(
        self, rows: list[OutboxRow], record_of: Callable[[OutboxRow], OutboxRecord]
    ) -> list[str]:
        """The lines for undecoded journal rows (`Journal.outbox_rows`): the same text as
        `line(record_of(row))` for each (`record_of`: `Journal.outbox_record`), made
        without the records but for the first row of each series. The fast
        path takes samples whose values are all finite numbers (the batch's JSON decoded in
        one call; one %-format per line, its template made once per series and value
        names); anything else goes through `line`."""
        try:
            decoded = _decode_floats("[" + ",".join([row[6] for row in rows]) + "]")
        except ValueError:
            decoded = [None] * len(rows)  # a bad row: `line` raises as for a single record
        plans = self._plans
        lines = []
        for row, values in zip(rows, decoded, strict=True):
            stream, _, run_id, t, source, seq, payload = row
            # JSON true/false decode to bools, which %r would not print as floats.
            if (
                stream == "sample"
                and type(values) is dict
                and "true" not in payload
                and "false" not in payload
            ):
                names = tuple(values)
                plan = plans.get((run_id, source, names))
                if plan is None and names:
                    plan = plans[(run_id, source, names)] = self._sample_plan(record_of(row), names)
                if plan is not None:
                    template, ordered = plan
                    numbers = ordered(values)
                    try:
                        # A non-number raises; NaN or inf makes the sum NaN or inf.
                        finite = math.isfinite(math.fsum(numbers))
                    except TypeError:
                        finite = False
                    if finite:
                        lines.append(template % (*numbers, seq, timestamp_ns(t, seq)))
                        continue
            lines.append(self.line(record_of(row)))
        return lines

    def _sample_plan(self, record: OutboxRecord, names: tuple[str, ...]) -> _SamplePlan:
        """The %-template of the lines of `record`'s series with values `names` (series,
        fields in key order, seq, time) and the getter of the values in that order."""
        ordered_names = sorted(names)
        series = self._series_text(
            sample_measurement(record.payload),
            "device",
            record.name,
            record.run_id,
            record.lot_id,
            record.job_name,
        )
        fields = "".join(f"{_percents(name.translate(_TAG))}=%r," for name in ordered_names)
        template = f"{_percents(series)} {fields}seq=%di %d"
        getter = itemgetter(*ordered_names)
        if len(ordered_names) == 1:  # itemgetter of one name returns the value, not a tuple
            return template, lambda values: (getter(values),)
        return template, getter

    def _series_text(
        self, measurement: str, tag: str, name: str, run_id: str, lot: str, job: str
    ) -> str:
        tags = {**self._tags, tag: name, "run_id": run_id, "lot": lot, "job": job}
        return measurement + "".join(
            f",{key.translate(_TAG)}={value.translate(_TAG)}"
            for key, value in sorted(tags.items())
            if value  # an empty tag value has no line-protocol form: the tag is left out
        )


def _percents(text: str) -> str:
    """`text` as it reads inside a %-template."""
    return text.replace("%", "%%")


def to_line(record: OutboxRecord, tags: Mapping[str, str] = _NO_TAGS) -> str:
    """The line for one record (a LineMaker for one line)."""
    return LineMaker(tags).line(record)
