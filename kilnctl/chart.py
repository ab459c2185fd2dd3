"""The batch record's chart: samples as an inline SVG (no plotting dependency), and the
min/max thinning every chart here uses (report, TUI) so a redraw costs in proportion to the
chart's width, not the run's length."""

from __future__ import annotations

import html
import math
from bisect import bisect_left
from collections.abc import Sequence
from operator import itemgetter

from kilnctl.journal import Sample

# Chart: series drawn per panel, in this order; units for the axis label.
CHART_PANELS = (
    ("Temperature (°C)", ("pv_c", "sp_c", "bath_c")),
    ("Current (A)", ("amps", "amps_sp")),
)
CHART_WIDTH = 800
PANEL_HEIGHT = 260
_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")


def thin(points: Sequence[tuple[float, float]], max_points: int) -> list[tuple[float, float]]:
    """At most max_points points (at least 4 kept) that keep each x-bucket's min and max
    (peaks survive) and the first and last points, so the thinned series spans the same
    time as the original: a chart attached mid-run starts at the run's first sample
    whatever the first bucket's minimum is.

    `points` sorted by x. The buckets are cut by bisecting the x values and each one's
    min and max taken by the builtins: a 10-hour series of 36,000 points thins in a few
    ms, inside a chart redraw's budget (bench_tui)."""
    if len(points) <= max_points:
        return list(points)
    buckets = max(1, (max_points - 2) // 2)  # two points left for the ends
    xs = [p[0] for p in points]
    x0 = xs[0]
    step = ((xs[-1] - x0) or 1.0) / buckets
    out: list[tuple[float, float]] = []
    start = 0
    for b in range(1, buckets + 1):
        end = len(xs) if b == buckets else bisect_left(xs, x0 + b * step, start)
        if end > start:
            out += _min_max(points[start:end])
            start = end
    if out[0] != points[0]:
        out.insert(0, points[0])
    if out[-1] != points[-1]:
        out.append(points[-1])
    return out


def _min_max(bucket: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    lo = min(bucket, key=_y)
    hi = max(bucket, key=_y)
    return sorted({lo, hi})


_y = itemgetter(1)


Marker = tuple[float, str, str]
"""A moment to mark on the chart: (time in journal seconds, "step" or "alarm", label)."""

_MARKER_COLOURS = {"step": "#777", "alarm": "#d62728"}


def svg_chart(
    samples: Sequence[Sample],
    started_at: float,
    width: int = CHART_WIDTH,
    markers: Sequence[Marker] = (),
) -> str:
    """An SVG of the run's temperatures and currents against minutes since start (one
    panel each, one time axis); each series thinned to ~2x the chart width; `markers`
    (step starts, alarms) as dashed vertical lines with their label as a tooltip and, in the
    first panel, a short caption. Empty string when there is nothing to plot."""
    panels = []
    for title, keys in CHART_PANELS:
        series: dict[str, list[tuple[float, float]]] = {}
        for s in samples:
            for key in keys:
                value = s.values.get(key)
                if isinstance(value, int | float) and math.isfinite(value):
                    point = ((s.t - started_at) / 60.0, float(value))
                    series.setdefault(f"{s.source} {key}", []).append(point)
        if series:
            panels.append((title, {k: thin(v, 2 * width) for k, v in series.items()}))
    if not panels:
        return ""
    xs = [p[0] for _, series in panels for pts in series.values() for p in pts]
    x_ticks = nice_ticks(min(0.0, *xs), max(xs))
    height = PANEL_HEIGHT * len(panels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for i, (title, series) in enumerate(panels):
        parts += _panel(title, series, x_ticks, width, PANEL_HEIGHT * i)
        parts += _markers(markers, started_at, x_ticks, width, PANEL_HEIGHT * i, caption=i == 0)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _markers(
    markers: Sequence[Marker],
    started_at: float,
    x_ticks: list[float],
    width: int,
    top: int,
    caption: bool,
) -> list[str]:
    """Dashed vertical lines over one panel (the plot area of _panel)."""
    left, right, pad_top, pad_bottom = 60, 150, 24, 34
    plot_w, plot_h = width - left - right, PANEL_HEIGHT - pad_top - pad_bottom
    x_lo, x_hi = x_ticks[0], x_ticks[-1]
    out = []
    for t, kind, label in markers:
        minutes = (t - started_at) / 60.0
        if not x_lo <= minutes <= x_hi:
            continue
        x = left + (minutes - x_lo) / (x_hi - x_lo) * plot_w
        colour = _MARKER_COLOURS.get(kind, "#777")
        text = html.escape(f"{kind}: {label}")
        out.append(
            f'<line class="marker-{kind}" x1="{x:.1f}" y1="{top + pad_top}" x2="{x:.1f}" '
            f'y2="{top + pad_top + plot_h}" stroke="{colour}" stroke-dasharray="3,3">'
            f"<title>{text}</title></line>"
        )
        if caption:
            short = html.escape(label[:18])
            out.append(
                f'<text x="{x + 2:.1f}" y="{top + pad_top + 10}" font-size="9" '
                f'fill="{colour}">{short}</text>'
            )
    return out


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 x 10^k apart) covering [lo, hi], about `target` of them."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.floor(lo / step) * step
    count = math.ceil((hi - first) / step - 1e-9)
    return [first + i * step for i in range(count + 1)]


def _panel(
    title: str,
    series: dict[str, list[tuple[float, float]]],
    x_ticks: list[float],
    width: int,
    top: int,
) -> list[str]:
    left, right, pad_top, pad_bottom = 60, 150, 24, 34
    plot_w, plot_h = width - left - right, PANEL_HEIGHT - pad_top - pad_bottom
    y_ticks = nice_ticks(
        min(p[1] for pts in series.values() for p in pts),
        max(p[1] for pts in series.values() for p in pts),
    )
    x_lo, x_hi, y_lo, y_hi = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    y0 = top + pad_top

    def sx(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * plot_w

    def sy(y: float) -> float:
        return y0 + plot_h - (y - y_lo) / (y_hi - y_lo) * plot_h

    out = [
        f'<text x="{left}" y="{top + 16}" font-weight="bold">{html.escape(title)}</text>',
        f'<rect x="{left}" y="{y0}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>',
    ]
    for yv in y_ticks:
        out.append(
            f'<line x1="{left}" y1="{sy(yv):.1f}" x2="{left + plot_w}" y2="{sy(yv):.1f}" '
            'stroke="#eee"/>'
        )
        out.append(f'<text x="{left - 4}" y="{sy(yv) + 4:.1f}" text-anchor="end">{yv:g}</text>')
    for xv in x_ticks:
        out.append(
            f'<text x="{sx(xv):.1f}" y="{y0 + plot_h + 14}" text-anchor="middle">{xv:g}</text>'
        )
    out.append(
        f'<text x="{left + plot_w / 2}" y="{y0 + plot_h + 28}" text-anchor="middle">'
        "minutes since start</text>"
    )
    for j, (name, pts) in enumerate(sorted(series.items())):
        colour = _COLOURS[j % len(_COLOURS)]
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.3" points="{coords}">'
            f"<title>{html.escape(name)}</title></polyline>"
        )
        ly = y0 + 12 + 16 * j
        out.append(
            f'<line x1="{width - right + 10}" y1="{ly - 4}" x2="{width - right + 28}" '
            f'y2="{ly - 4}" stroke="{colour}" stroke-width="2"/>'
        )
        out.append(f'<text x="{width - right + 32}" y="{ly}">{html.escape(name)}</text>')
    return out
