"""The main screen's widgets: a panel per run, the PV/SP chart and the alarm list."""

from __future__ import annotations

from collections import deque
from typing import Any

from rich.text import Text
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual_plotext import PlotextPlot

from kilnctl.service.runview import RunView
from kilnctl.tui.format import alarm_line, run_text

CHART_POINTS = 4000
"""Samples kept per kiln for the chart (a 1-h window at 1 s periods)."""


class RunPanel(Static, can_focus=True):
    """One active run: job, lot, step, state and a line per kiln/tank."""

    def __init__(self, view: RunView) -> None:
        super().__init__(run_text(view), id=panel_id(view.run_id), classes="run", markup=False)
        self.run_id = view.run_id
        self.border_title = view.run_id

    def show(self, view: RunView) -> None:
        """Redraw from the run's view."""
        self.update(run_text(view))


def panel_id(run_id: str) -> str:
    """A DOM id for a run's panel (ids must start with a letter)."""
    return "run-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in run_id)


def thin(points: list[tuple[float, float, float]], limit: int) -> list[tuple[float, float, float]]:
    """At most `limit` points, evenly strided, always keeping the newest."""
    if len(points) <= limit or limit < 2:
        return points
    stride = -(-len(points) // (limit - 1))  # ceiling division
    kept = points[::stride]
    return kept if kept[-1] is points[-1] else [*kept, points[-1]]


class KilnChart(PlotextPlot):
    """PV and SP of one kiln over time. Points are thinned to ~2x the plot width before a
    redraw: a redraw costs time in proportion to its points."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.source: str | None = None
        self.points: deque[tuple[float, float, float]] = deque(maxlen=CHART_POINTS)
        self.drawn_points = 0
        self._dirty = False

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(1.0, self.redraw)

    def add(self, source: str, t: float, pv: float, sp: float) -> None:
        """Record a sample of `source` (the chart follows the first kiln it sees)."""
        if self.source is None:
            self.source = source
        if source != self.source:
            return
        self.points.append((t, pv, sp))
        self._dirty = True

    def reset(self) -> None:
        """Forget the data (the run ended or another run is shown)."""
        self.source = None
        self.points.clear()
        self._dirty = True

    def redraw(self) -> None:
        """Plot the thinned data, if anything changed since the last redraw."""
        if not self._dirty:
            return
        self._dirty = False
        plt = self.plt
        plt.clear_data()
        plt.title(f"{self.source or 'no kiln'}: PV / SP °C")
        if self.points:
            pts = thin(list(self.points), max(2 * self.size.width, 20))
            t0 = pts[0][0]
            minutes = [(p[0] - t0) / 60 for p in pts]
            plt.plot(minutes, [p[2] for p in pts], label="SP")
            plt.plot(minutes, [p[1] for p in pts], label="PV")
            plt.xlabel("min")
            self.drawn_points = len(pts)
        self.refresh()


class AlarmList(OptionList):
    """Active alarms of every run; the highlighted one is acknowledged with the ack key."""

    def show(self, alarms: list[dict[str, Any]]) -> None:
        """Replace the list, keeping the highlight on the same alarm where possible."""
        current = self.highlighted_alarm
        self.clear_options()
        if not alarms:
            self.add_option(Option("no active alarms", id="none", disabled=True))
            return
        self.add_options([Option(Text(alarm_line(a)), id=a["alarm_id"]) for a in alarms])
        ids = [a["alarm_id"] for a in alarms]
        self.highlighted = ids.index(current) if current in ids else 0

    @property
    def highlighted_alarm(self) -> str | None:
        """The id of the highlighted alarm, if any."""
        if self.highlighted is None or self.option_count == 0:
            return None
        option = self.get_option_at_index(self.highlighted)
        return None if option.disabled else option.id
