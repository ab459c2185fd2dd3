"""Plain-text lines for runs and alarms (no widgets here, so they are easy to test)."""

from __future__ import annotations

from typing import Any

from kilnctl.report import format_duration
from kilnctl.service.runview import RunView

LINE_WIDTH = 74
"""Characters a run panel shows per line at 80 columns (border and padding off)."""


def _num(values: dict[str, Any], key: str, fmt: str) -> str:
    value = values.get(key)
    return format(value, fmt) if isinstance(value, int | float) else "-"


def source_line(view: RunView, source: str, values: dict[str, Any]) -> str:
    """One line per kiln or tank of a run."""
    if "pv_c" in values:
        line = (
            f"{source}: PV {_num(values, 'pv_c', '6.1f')} °C  SP {_num(values, 'sp_c', '6.1f')} °C"
            f"  out {_num(values, 'out_pct', '5.1f')} %"
        )
        seg = view.segments.get(source)
        if seg is not None:
            line += f"  seg {seg['index'] + 1} {seg['phase']} -> {seg['target_c']:.0f} °C"
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
        return f"{source}: bath {_num(values, 'bath_c', '.1f')} °C"
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


def time_left(view: RunView) -> str:
    """ "  firing left ~h:mm:ss", or the plating step's and recipe's time left ("" when
    not known)."""
    if view.time_left_s is None:
        return ""
    if not view.plating_step:
        behind = _kiln_behind(view)
        if behind is None:
            return f"  firing left ~{format_duration(view.time_left_s)}"
        # the schedule's estimate assumes the kiln keeps up: here it does not (a max-rate
        # ramp, natural cooling), so the estimate is only a lower bound
        if view.time_left_s < 60:
            return f"  firing: kiln on its way to {behind:.0f} °C"
        return f"  firing left ≥{format_duration(view.time_left_s)}"
    text = f"  left ~{format_duration(view.time_left_s)}"
    if view.plating_left_s is not None and view.plating_left_s > view.time_left_s + 1:
        text += f", recipe ~{format_duration(view.plating_left_s)}"
    return text


def run_text(view: RunView) -> str:
    """The body of a run panel."""
    left = time_left(view)
    step = view.step + (f" / {view.plating_step}" if view.plating_step else "")
    if len(f"step: {step}{left}") > LINE_WIDTH and view.plating_step:
        step = view.plating_step  # one line at 80 columns: the step going on comes first
    lines = [
        f"{view.job}  lot {view.lot or '-'}  [{view.state.upper()}]",
        f"step: {step or '-'}{left}",
    ]
    lines.extend(source_line(view, s, v) for s, v in sorted(view.samples.items()))
    lines.extend(f"waiting for the operator (o): {p['text']}" for p in view.prompts.values())
    return "\n".join(lines)


def alarm_line(alarm: dict[str, Any]) -> str:
    """One alarm for the alarm list."""
    mark = "ack" if alarm.get("acked") else "NEW"
    return f"[{mark}] {alarm['severity']}: {alarm['message']} ({alarm['action']})"
