"""Plain-text lines for runs and alarms (no widgets here, so they are easy to test).

Every temperature passes through `Display.temp` (°C or °F, display only: the journal and
the engine stay in °C). A reading older than `STALE_AFTER_S` (real seconds) is shown with
its age and dimmed; time left counts down between the service's estimates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from kilnctl.report import format_duration
from kilnctl.service.runview import RunView

LINE_WIDTH = 74
"""Characters a run panel shows per line at 80 columns (border and padding off)."""

STALE_AFTER_S = 5.0
"""A reading older than this many real seconds (five periods at the default 1 s) is not
live; Display.is_stale counts them in the service's seconds (N times as many at --speed N)."""

STALE_PERIODS = 5
"""... nor one older than five of its device's actual read periods, when those are longer
(a slow line at a sped-up clock): old means the reads stopped, not that the line is slow."""


def stale_after(period_s: Any) -> float:
    """How old (service seconds) a reading taken every `period_s` may get (None: unknown);
    Display.is_stale adds its floor of STALE_AFTER_S real seconds."""
    return STALE_PERIODS * period_s if isinstance(period_s, int | float) and period_s > 0 else 0.0


Line = tuple[str, bool]
"""A panel line and whether it is stale (drawn dimmed)."""


@dataclass(frozen=True)
class Display:
    """How values are shown: temperature unit, the service's time now (None: unknown),
    whether the service is connected (otherwise everything shown is last known), and how
    fast the service's clock runs (1 on a real plant; N with `--speed N` simulators)."""

    unit: Literal["C", "F"] = "C"
    now: float | None = None
    live: bool = True
    speed: float = 1.0

    def is_stale(self, age_s: float | None, after_s: float = 0.0) -> bool:
        """Is a reading `age_s` service seconds old not live: older than `after_s` service
        seconds (its device's read periods, a status poll: `stale_after`,
        plantlines.stale_after_s) and than STALE_AFTER_S real seconds? At 60x simulated
        time a reading 30 service seconds old is half a second old, live."""
        floor = STALE_AFTER_S * max(self.speed, 1.0)
        return age_s is not None and age_s > max(after_s, floor)

    def temp(self, celsius: Any, width: int = 6, decimals: int = 1) -> str:
        """A temperature in the display unit with its sign, e.g. ' 790.0 °C'."""
        if not isinstance(celsius, int | float):
            return "-"
        value = celsius * 9 / 5 + 32 if self.unit == "F" else celsius
        return f"{value:{width}.{decimals}f} °{self.unit}"

    def age_s(self, values: dict[str, Any]) -> float | None:
        """How old a reading is (service seconds), or None when not known."""
        t = values.get("t")
        if self.now is None or not isinstance(t, int | float):
            return None
        return max(0.0, self.now - t)


def _num(values: dict[str, Any], key: str, fmt: str) -> str:
    value = values.get(key)
    return format(value, fmt) if isinstance(value, int | float) else "-"


def source_line(
    view: RunView, source: str, values: dict[str, Any], display: Display | None = None
) -> Line:
    """One line per kiln or tank of a run, with its age when it is stale."""
    d = display or Display()
    line = _source_text(view, source, values, d)
    age = d.age_s(values)
    stale = d.is_stale(age, stale_after(view.sample_periods.get(source))) and not values.get("off")
    if stale and age is not None:
        line += f"  ({format_duration(age)} old)"
    return line, stale


def _source_text(view: RunView, source: str, values: dict[str, Any], d: Display) -> str:
    if "pv_c" in values:
        line = (
            f"{source}: PV {d.temp(values.get('pv_c'))}  SP {d.temp(values.get('sp_c'))}"
            f"  out {_num(values, 'out_pct', '5.1f')} %"
        )
        seg = view.segments.get(source)
        if seg is not None:
            line += f"  seg {seg['index'] + 1} {seg['phase']} -> {d.temp(seg['target_c'], 0, 0)}"
        return line
    thickness = view.thickness_um.get(source)
    plated = f"  {thickness:.3f} µm plated" if thickness else ""
    if values.get("off"):
        return f"{source}: off  {_num(values, 'amp_hours', '.4f')} Ah{plated}"
    if "amps" in values:
        return (
            f"{source}: {_num(values, 'amps', '6.2f')} A  {_num(values, 'volts', '5.2f')} V"
            f"  {_num(values, 'amp_hours', '.4f')} Ah{plated}"
        )
    if "bath_c" in values:
        return f"{source}: bath {d.temp(values.get('bath_c'), 0, 1)}"
    return f"{source}: " + "  ".join(f"{k} {v}" for k, v in values.items() if k != "t")


LAG_C = 15.0
"""A ramping kiln further than this from its setpoint is not keeping up with the schedule."""


def _kiln_behind(view: RunView) -> float | None:
    """The target of a ramp the kiln is not keeping up with, if any."""
    for source, seg in view.segments.items():
        values = view.samples.get(source, {})
        pv, sp = values.get("pv_c"), values.get("sp_c")
        if not isinstance(pv, int | float) or not isinstance(sp, int | float):
            continue
        if seg.get("phase") == "ramp" and abs(pv - sp) > LAG_C:
            return float(seg["target_c"])
    return None


def time_left(view: RunView, elapsed_s: float = 0.0, display: Display | None = None) -> str:
    """ "  firing left ~h:mm:ss", or the plating step's and recipe's time left ("" when
    not known). `elapsed_s`: service time since the estimate, counted down here."""
    if view.time_left_s is None:
        return ""
    d = display or Display()
    running = view.state not in ("paused", "held") and d.live
    gone = max(0.0, elapsed_s) if running else 0.0
    left = max(0.0, view.time_left_s - gone)
    if not view.plating_step:
        behind = _kiln_behind(view)
        if behind is None:
            return f"  firing left ~{format_duration(left)}"
        # the schedule's estimate assumes the kiln keeps up: here it does not (a max-rate
        # ramp, natural cooling), so the estimate is only a lower bound
        if left < 60:
            return f"  firing: kiln on its way to {d.temp(behind, 0, 0)}"
        return f"  firing left ≥{format_duration(left)}"
    text = f"  left ~{format_duration(left)}"
    if view.plating_left_s is not None and view.plating_left_s > view.time_left_s + 1:
        text += f", recipe ~{format_duration(max(0.0, view.plating_left_s - gone))}"
    return text


def run_lines(view: RunView, display: Display | None = None, elapsed_s: float = 0.0) -> list[Line]:
    """The lines of a run panel, each with whether it is stale."""
    d = display or Display()
    left = time_left(view, elapsed_s, d)
    step = view.step + (f" / {view.plating_step}" if view.plating_step else "")
    if len(f"step: {step}{left}") > LINE_WIDTH and view.plating_step:
        step = view.plating_step  # one line at 80 columns: the step going on comes first
    # Never claim a state the service has not just told: disconnected, it is last known.
    state = f"[{view.state.upper()}]" if d.live else f"[{view.state}?]"
    lines: list[Line] = [
        (f"{view.job}  lot {view.lot or '-'}  {state}", not d.live),
        (f"step: {step or '-'}{left}", not d.live),
    ]
    for source, values in sorted(view.samples.items()):
        text, stale = source_line(view, source, values, d)
        lines.append((text, stale or not d.live))
    lines.extend(
        (f"waiting for the operator (o): {p['text']}", False) for p in view.prompts.values()
    )
    return lines


def run_text(view: RunView, display: Display | None = None, elapsed_s: float = 0.0) -> str:
    """The body of a run panel as plain text."""
    return "\n".join(text for text, _ in run_lines(view, display, elapsed_s))


def alarm_line(alarm: dict[str, Any]) -> str:
    """One alarm for the alarm list."""
    mark = "ack" if alarm.get("acked") else "NEW"
    return f"[{mark}] {alarm['severity']}: {alarm['message']} ({alarm['action']})"


def run_name(view: RunView | None, run_id: str) -> str:
    """How a dialog names a run to the operator: its job and lot, not its id."""
    if view is None or not view.job:
        return f"run {run_id}"
    return f"{view.job}, lot {view.lot or '-'}"
