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
sample's fields are its compact JSON text, rewritten, behind a series made once.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

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
# A value name that reads the same in compact JSON and in line protocol (nothing to escape).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_JSON_KEY_END = '":'  # in compact JSON of plain names and numbers: only after a name
_JSON_KEY = ',"'  # likewise only before a name (but the first)


class LineMaker:
    """Line-protocol lines for journal records (layout in the module doc), each tagged with
    the plant's constant `tags` (cell, site). The series part of a line (measurement and
    tags) is made once per series and reused: a writer sends many records of few series."""

    def __init__(self, tags: Mapping[str, str] = _NO_TAGS) -> None:
        self._tags = dict(tags)
        self._series: dict[tuple[str, str, str, str, str, str], str] = {}
        # (run_id, source, value names) -> series for row_lines' fast path ("": none)
        self._plain_series: dict[tuple[str, str, tuple[str, ...]], str] = {}

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
        """The lines for undecoded journal rows (`Journal.outbox_rows`): the same points
        as `line(record_of(row))` (`record_of`: `Journal.outbox_record`), made without the
        records but for the first row of each series.

        The fast path takes samples whose values are all finite numbers under plain names
        (letters, digits, `_ . -`): their fields are the journal's JSON text itself,
        `{"pv_c":790.5,"out_pct":48}` -> `pv_c=790.5,out_pct=48` (a number without an `i`
        suffix is a float in line protocol, so `48` and `48.0` are one value); the batch's
        JSON is decoded in one call only to check that. Anything else goes through `line`.
        """
        try:
            decoded = json.loads("[" + ",".join([row[6] for row in rows]) + "]")
        except ValueError:
            decoded = [None] * len(rows)  # a bad row: `line` raises as for a single record
        plain = self._plain_series
        lines = []
        for row, values in zip(rows, decoded, strict=True):
            stream, _, run_id, t, source, seq, payload = row
            # Compact JSON only (a space: an old journal's separators, or a string value);
            # JSON true/false are booleans in line protocol too, not floats.
            if (
                stream == "sample"
                and type(values) is dict
                and " " not in payload
                and "true" not in payload
                and "false" not in payload
            ):
                names = tuple(values)
                series = plain.get((run_id, source, names))
                if series is None:
                    series = plain[(run_id, source, names)] = self._plain_series_text(
                        record_of(row), names
                    )
                if series:
                    try:
                        # A non-number raises; NaN or inf makes the sum NaN or inf.
                        finite = math.isfinite(math.fsum(values.values()))
                    except TypeError:
                        finite = False
                    if finite:
                        fields = payload[2:-1].replace(_JSON_KEY_END, "=").replace(_JSON_KEY, ",")
                        lines.append(f"{series} {fields},seq={seq}i {timestamp_ns(t, seq)}")
                        continue
            lines.append(self.line(record_of(row)))
        return lines

    def _plain_series_text(self, record: OutboxRecord, names: tuple[str, ...]) -> str:
        """The series of `record` (a sample with value `names`) for the fast path of
        `row_lines`, or "" if a name is not plain (its JSON and line-protocol forms differ)
        or there are none."""
        if not names or not all(_PLAIN_NAME.fullmatch(name) for name in names):
            return ""
        return self._series_text(
            sample_measurement(record.payload),
            "device",
            record.name,
            record.run_id,
            record.lot_id,
            record.job_name,
        )

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
