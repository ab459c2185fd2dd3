"""One line per configured kiln and tank for the plant table (the status "devices" rows,
kilnctl.service.plantstatus): the values first, then what it is doing, time left and an
alarm badge, cut to the width given (74 at 80 columns; more is shown at 120).

    k1    PV  612.3 SP  620.0 °C  45%  pins L7 s2 ramp>800°C  ~0:12:00 !1
    gold   3.60 A  2.10 V 0.0123 Ah 45.0 °C  plate L8: gold  ~0:00:20
    nickel off  0.00 A  0.00 V -.---- Ah 52.1 °C LOW  idle

A tank with a bath heater shows the bath's temperature (the long form: and its heater's
SP), "LOW" or "HIGH" outside its band; a bath reading older than the rest shows its own
age.
"""

from __future__ import annotations

from typing import Any

from kilnctl.report import format_duration
from kilnctl.service.plantstatus import bath_outside
from kilnctl.tui.format import Display, Line, _num, stale_after

WIDE = 100
"""From this width on (120-column terminals), the long form: units, labels, tank SP."""

NAME_WIDTH = 6
"""Fewest columns for the kiln/tank name (longer names are cut with an ellipsis), then a
space; `name_width` widens it so that no cut name could be read as another one."""

WIDE_NAME_MAX = 16
"""Most columns a name takes in the long form (120 columns, `kilnctl status`)."""


def name_width(names: list[str], width: int = 74) -> int:
    """Columns for the names of a plant table `width` wide: in the long form the longest
    name (up to WIDE_NAME_MAX); in the compact form the fewest from NAME_WIDTH on at which
    no cut name's visible part starts another name ("coppe…" could be copper or
    copper_strike; "copper_…" cannot)."""
    longest = max((len(n) for n in names), default=NAME_WIDTH)
    if width >= WIDE:
        return max(NAME_WIDTH, min(longest, WIDE_NAME_MAX))
    for w in range(NAME_WIDTH, longest):
        cut = [n for n in names if len(n) > w]
        if not any(o != n and o.startswith(n[: w - 1]) for n in cut for o in names):
            return w
    return max(NAME_WIDTH, longest)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _values(row: dict[str, Any], d: Display, compact: bool) -> str:
    values = row.get("values") or {}
    if row.get("kind") == "kiln":
        if "pv_c" not in values:
            return "no reading yet"
        # a sensor break's PV is the controller's range limit (1372 °C), not the kiln's heat
        broken = bool(values.get("sensor_break"))
        if compact:
            pv = "SENSOR BREAK" if broken else d.temp(values.get("pv_c")).split(" °")[0]
            sp = d.temp(values.get("sp_c"))
            return f"PV {pv} SP {sp} {_num(values, 'out_pct', '3.0f')}%"
        pv = "SENSOR BREAK" if broken else d.temp(values.get("pv_c"))
        return (
            f"PV {pv}  SP {d.temp(values.get('sp_c'))}"
            f"  out {_num(values, 'out_pct', '5.1f')} %"
        )
    if "amps" not in values and "amp_hours" not in values:
        return "no reading yet"
    off = values.get("off") or values.get("output_on") is False
    gap = " " if compact else "  "
    text = (
        f"{'off ' if off else ''}{_num(values, 'amps', '5.2f')} A"
        f"{gap}{_num(values, 'volts', '5.2f')} V{gap}{_num(values, 'amp_hours', '.4f')} Ah"
    )
    amps_sp = values.get("amps_sp")
    if not compact and isinstance(amps_sp, int | float) and not off:
        text += f"  SP {amps_sp:.2f} A"
    return text + _bath(row.get("bath") or {}, d, compact)


def _bath(bath: dict[str, Any], d: Display, compact: bool) -> str:
    """The bath temperature, its heater's SP (long form) and, outside its band, "low" or
    "high" (long form: against which band). "" with no reading of a heater."""
    value = bath.get("bath_c")
    if not isinstance(value, int | float):
        return ""
    outside = bath_outside(bath)
    if compact:
        return f" {d.temp(value, 0, 1)}" + (f" {outside.upper()}" if outside else "")
    text = f"  bath {d.temp(value, 0, 1)}"
    sp = bath.get("sp_c")
    if isinstance(sp, int | float):
        text += f" (SP {d.temp(sp, 0, 1)})"
    if outside:
        low, high = bath["band"]
        # the unit once: "band 55-60 °C" (temp() ends in " °C" / " °F")
        text += f" {outside.upper()}, band {d.temp(low, 0, 0)[:-3]}-{d.temp(high, 0, 0)}"
    return text


def _doing(row: dict[str, Any], d: Display, compact: bool) -> str:
    """Idle, or the run on it: job, lot, step (and the kiln's segment); first of all
    whether its safe state is unconfirmed (heat or current may still be on)."""
    if row.get("unsafe"):  # never "idle": its last reading may show it cold and off
        return "NOT CONFIRMED SAFE" + ("" if compact else " (still retried)")
    if not row.get("run_id"):
        return "idle"
    state = "" if row.get("state") == "running" else f"[{row.get('state')}] "
    job = row.get("job") or row["run_id"]
    lot = row.get("lot") or "-"
    text = f"{state}{job} {lot}" if compact else f"{state}{job}, lot {lot}"
    seg = row.get("segment")
    if isinstance(seg, dict):
        target = d.temp(seg["target_c"], 0, 0)
        if compact:  # the segment says more than the step's name (the profile's)
            return f"{text} s{seg['index'] + 1} {seg['phase']}>{target.replace(' ', '')}"
        text += f": {row['step']}" if row.get("step") else ""
        return f"{text} seg {seg['index'] + 1} {seg['phase']} -> {target}"
    if row.get("step"):
        text += f": {row['step']}"
    return text


def stale_after_s(row: dict[str, Any], poll_s: float) -> float:
    """How old (service seconds) the row's reading may get before it is shown old:
    format.STALE_PERIODS of its device's actual read period (row "read_period_s": the watch's
    cycle, or the run's sampling; Display.is_stale keeps a floor of STALE_AFTER_S real
    seconds), and,
    between runs, plus `poll_s`: the service seconds between two status polls, which bring
    the watch's readings (status_every_s times the clock's speed)."""
    own = stale_after(row.get("read_period_s"))
    return own + (0.0 if row.get("run_id") else max(0.0, poll_s))


def plant_line(
    row: dict[str, Any],
    display: Display | None = None,
    width: int = 74,
    elapsed_s: float = 0.0,
    stale_after_s: float = 0.0,
    names_w: int = NAME_WIDTH,
) -> Line:
    """The row as one line of at most `width` characters and whether it is stale (its
    reading older than `stale_after_s` service seconds and STALE_AFTER_S real seconds
    (Display.is_stale), or the service gone).
    `elapsed_s`: service time since the row's time left was estimated (counted down
    while the run is running)."""
    d = display or Display()
    name = _cut(str(row["name"]), names_w).ljust(names_w) + " "
    compact = width < WIDE
    head = f"{name}{_values(row, d, compact)}"
    tail = ""
    left = row.get("time_left_s")
    if isinstance(left, int | float) and row.get("run_id"):
        gone = max(0.0, elapsed_s) if row.get("state") == "running" and d.live else 0.0
        tail += f"  ~{format_duration(max(0.0, left - gone))}"
    if row.get("alarms"):
        tail += f" !{row['alarms']}" + ("" if row.get("unacked") else " ack")
    age = d.age_s(row.get("values") or {})
    stale = d.is_stale(age, stale_after_s)
    bath = row.get("bath") or {}
    bath_age = d.age_s(bath) if "bath_c" in bath else None
    bath_stale = d.is_stale(bath_age, stale_after_s)
    if stale and age is not None:
        tail += f" ({format_duration(age)} old)"
    elif bath_stale and bath_age is not None:  # e.g. a run holds the heater between steps
        tail += f" (bath {format_duration(bath_age)} old)"
    stale = stale or bath_stale
    room = width - len(head) - len(tail) - 2
    doing = _doing(row, d, compact)
    if room < 4:  # no room for what it is doing: the values go first, then the badges
        return _cut(head + tail, width), stale or not d.live
    return f"{head}  {_cut(doing, room)}{tail}", stale or not d.live
