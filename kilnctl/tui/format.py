"""Plain-text lines for runs and alarms (no widgets here, so they are easy to test)."""

from __future__ import annotations

from typing import Any

from kilnctl.report import format_duration
from kilnctl.service.runview import RunView


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


def time_left(view: RunView) -> str:
    """ "  firing left ~h:mm:ss", or the plating step's and recipe's time left ("" when
    not known)."""
    if view.time_left_s is None:
        return ""
    if not view.plating_step:
        return f"  firing left ~{format_duration(view.time_left_s)}"
    text = f"  left ~{format_duration(view.time_left_s)}"
    if view.plating_left_s is not None and view.plating_left_s > view.time_left_s + 1:
        text += f", recipe ~{format_duration(view.plating_left_s)}"
    return text


def run_text(view: RunView) -> str:
    """The body of a run panel."""
    step = view.step + (f" / {view.plating_step}" if view.plating_step else "")
    left = time_left(view)
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
