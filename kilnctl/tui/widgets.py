"""The main screen's widgets: a panel per run, the PV/SP chart and the alarm list."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual_plotext import PlotextPlot

from kilnctl.chart import thin
from kilnctl.service.runview import RunView
from kilnctl.tui.format import Display, Line, alarm_line, run_lines
from kilnctl.tui.layout import fit_lines

CHART_POINTS = 4000
"""Points kept per series; past this the series is thinned to half (min/max kept)."""

Point = tuple[float, float]


class RunPanel(Static, can_focus=True):
    """One active run: job, lot, step, state and a line per kiln/tank; lines that are not
    live (an old reading, or no service) are dimmed."""

    def __init__(self, view: RunView, display: Display | None = None) -> None:
        super().__init__(id=panel_id(view.run_id), classes="run", markup=False)
        self.run_id = view.run_id
        self.border_title = view.run_id
        self.show(view, display)

    def show(self, view: RunView, display: Display | None = None, elapsed_s: float = 0.0) -> None:
        """Redraw from the run's view."""
        text = Text()
        for i, (line, stale) in enumerate(run_lines(view, display, elapsed_s)):
            text.append(("\n" if i else "") + line, style="dim" if stale else "")
        self.update(text)


def panel_id(run_id: str) -> str:
    """A DOM id for a run's panel (ids must start with a letter)."""
    return "run-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in run_id)


class PlantTable(Static):
    """Every configured kiln and tank, one line each (plantlines), in a run or not; lines
    whose reading is old, or all when the service is gone, are dimmed."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(markup=False, **kw)
        self.border_title = "plant"
        self.lines: list[Line] = []

    def show(self, lines: list[Line], names: list[str] | None = None, max_lines: int = 0) -> None:
        """Redraw with these lines (text, stale), one per kiln/tank `names` (same order);
        past `max_lines` (0: no limit) the last line says how many more and which."""
        if max_lines:
            texts, more = fit_lines([t for t, _ in lines], names or [], max_lines)
            lines = lines[: len(texts)] + ([(more, False)] if more else [])
        if lines == self.lines:
            return  # nothing changed: no layout work at 1 Hz per device
        self.lines = lines
        text = Text()
        for i, (line, stale) in enumerate(lines or [("no kilns or tanks configured", True)]):
            text.append(("\n" if i else "") + line, style="dim" if stale else "")
        self.update(text)


KILN_KEYS = ("pv_c", "sp_c")
"""A kiln's sample values the chart draws: PV and SP, °C."""
TANK_KEYS = ("amps", "amps_sp")
"""A tank's: current and its setpoint, A (and its amp-hours, on the right axis)."""


def chart_keys(values: dict[str, Any]) -> tuple[str, str] | None:
    """Which pair of a sample's values a chart draws (kiln or tank), None for neither."""
    for keys in (KILN_KEYS, TANK_KEYS):
        if keys[0] in values and keys[1] in values:
            return keys
    return None


class KilnChart(PlotextPlot):
    """PV and SP of one kiln (or current, its setpoint and amp-hours of one tank) of one
    run over the whole run, with the run's step changes and alarms marked on the time axis.

    Attaching mid-run, the app loads the run's past from the service ("history") and the
    live samples continue it. Points are thinned (chart.thin: each bucket's min and max)
    to ~2x the plot width before a redraw, whose cost grows with its points, and the kept
    series are compacted the same way past CHART_POINTS, so a 10-hour run stays whole."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.run_id: str | None = None
        self.source: str | None = None
        self.finished = False
        """The run shown ended: its curve stays until another run's kiln samples arrive."""
        self.keys: tuple[str, str] = KILN_KEYS
        """The sample values drawn: KILN_KEYS or TANK_KEYS."""
        self.pv: list[Point] = []
        """PV (kiln) or current (tank)."""
        self.sp: list[Point] = []
        """SP (kiln) or the current setpoint (tank)."""
        self.ah: list[Point] = []
        """Amp-hours of the tank's step (empty for a kiln)."""
        self.marks: list[tuple[float, str]] = []
        """(time, "step" | "alarm") of the run shown, drawn as vertical lines."""
        self.plan: list[Point] = []
        """The kiln's planned setpoint from now to the end of its firing (the service's
        "plan", FiringSchedule.plan), drawn ahead of the samples."""
        self.target_ah: float | None = None
        """The tank's step ends at this charge, Ah (the service's "ah_target": an amp-hour
        or thickness end), drawn as a line on the amp-hours axis; None otherwise."""
        self.drawn_points = 0
        self.drawn_target: float | None = None
        """The amp-hour target line of the last redraw (Ah), None for none."""
        self.title_text = ""
        """The chart's title in the last redraw."""
        self.drawn_plan_points = 0
        """Points of the plan ahead in the last redraw."""
        self.unit = "C"
        """Display unit, °C or °F (the data stay in °C)."""
        self._dirty = False

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(1.0, self.redraw)

    def take(self, run_id: str, source: str, keys: tuple[str, str] = KILN_KEYS) -> bool:
        """Follow this kiln (or tank) of this run if the chart is free (nothing shown, or
        the run shown has ended); True when it starts following it now."""
        if self.source is not None and not (self.finished and run_id != self.run_id):
            return False
        self.show(run_id, source, keys)
        return True

    def show(self, run_id: str, source: str, keys: tuple[str, str] = KILN_KEYS) -> None:
        """Follow this kiln (or tank: keys=TANK_KEYS) of this run from now on (its past
        comes by load_history)."""
        self.reset()
        self.run_id, self.source, self.keys = run_id, source, keys

    def add(
        self, run_id: str, source: str, t: float, pv: float, sp: float, ah: float | None = None
    ) -> None:
        """Record a live sample (ignored unless it is the kiln or tank shown): PV and SP
        of a kiln, or current, its setpoint and amp-hours of a tank."""
        if (run_id, source) != (self.run_id, self.source):
            return
        self.pv.append((t, pv))
        self.sp.append((t, sp))
        if ah is not None:
            self.ah.append((t, ah))
        if len(self.pv) > CHART_POINTS:
            self.pv, self.sp = thin(self.pv, CHART_POINTS // 2), thin(self.sp, CHART_POINTS // 2)
            self.ah = thin(self.ah, CHART_POINTS // 2)
        self._dirty = True

    def set_plan(self, run_id: str, plan: Any) -> None:
        """The run's planned setpoint ahead ([[unix time, SP °C], ...]) for the kiln shown."""
        if run_id != self.run_id or self.keys != KILN_KEYS or not isinstance(plan, list):
            return
        points = [(float(t), float(sp)) for t, sp in plan]
        if points != self.plan:
            self.plan = points
            self._dirty = True

    def set_target(self, run_id: str, target: Any) -> None:
        """The run's plating step target ({"tank", "amp_hours"} or None, the service's
        "ah_target") for the tank shown: another tank's, or none, clears it."""
        if run_id != self.run_id or self.keys != TANK_KEYS:
            return
        ah = target.get("amp_hours") if isinstance(target, dict) else None
        value = float(ah) if isinstance(ah, int | float) and target["tank"] == self.source else None
        if value != self.target_ah:
            self.target_ah = value
            self._dirty = True

    def mark(self, run_id: str, t: float, what: str) -> None:
        """Mark a step change or an alarm ("step" | "alarm") of the run shown at time t."""
        if run_id == self.run_id:
            self.marks.append((t, what))
            self._dirty = True

    def load_history(self, run_id: str, source: str, series: dict[str, list[Any]]) -> None:
        """Put the run's past (the "history" reply's series) before the live samples."""
        if (run_id, source) != (self.run_id, self.source):
            return  # the chart moved on while the history was on its way

        def before(points: list[Point], key: str) -> list[Point]:
            first = points[0][0] if points else float("inf")
            return [(float(t), float(v)) for t, v in series.get(key, []) if t < first]

        self.pv = before(self.pv, self.keys[0]) + self.pv
        self.sp = before(self.sp, self.keys[1]) + self.sp
        if self.keys == TANK_KEYS:
            self.ah = before(self.ah, "amp_hours") + self.ah
        self._dirty = True

    def finish(self, run_id: str) -> None:
        """The run `run_id` ended: keep its curve until another run's kiln shows up."""
        if run_id == self.run_id:
            self.finished = True
            self._dirty = True

    def set_unit(self, unit: str) -> None:
        """Show temperatures in °C or °F from the next redraw."""
        self.unit = unit
        self._dirty = True

    def reset(self) -> None:
        """Forget the data (reattached, or another run is shown)."""
        self.run_id = self.source = None
        self.finished = False
        self.keys = KILN_KEYS
        self.pv, self.sp, self.ah, self.marks, self.plan = [], [], [], [], []
        self.target_ah = None
        self._dirty = True

    def redraw(self) -> None:
        """Plot the thinned data, if anything changed since the last redraw."""
        if not self._dirty:
            return
        self._dirty = False
        plt = self.plt
        plt.clear_data()
        ended = " (ended)" if self.finished else ""
        tank = self.keys == TANK_KEYS
        what = f"current / SP A, {self._charge()}" if tank else f"PV / SP °{self.unit}"
        self.title_text = f"{self.source or 'no kiln'}{ended}: {what}"
        plt.title(self.title_text)
        self.drawn_points, self.drawn_target = 0, None
        if self.pv:
            self._draw(tank)
        self.refresh()

    def _charge(self) -> str:
        """"x.xx of y.yy Ah" with a target, else "Ah" (the amp-hours axis)."""
        if self.target_ah is None:
            return "Ah"
        so_far = self.ah[-1][1] if self.ah else 0.0
        return f"{so_far:.2f} of {self.target_ah:.2f} Ah"

    def _draw(self, tank: bool) -> None:
        plt = self.plt
        limit = max(2 * self.size.width, 20)
        pv, sp, ah = thin(self.pv, limit), thin(self.sp, limit), thin(self.ah, limit)
        t0 = min(pv[0][0], sp[0][0])
        ahead = [] if tank or self.finished else [p for p in self.plan if p[0] > sp[-1][0]]
        plan = [sp[-1], *ahead] if ahead else []  # on from the last SP sample
        span_h = (max(pv[-1][0], sp[-1][0], *(t for t, _ in plan[-1:])) - t0) / 3600
        unit, scale = ("h", 3600.0) if span_h >= 2 else ("min", 60.0)
        to_unit = (lambda c: c * 9 / 5 + 32) if self.unit == "F" and not tank else (lambda c: c)

        def x(points: list[Point]) -> list[float]:
            return [(t - t0) / scale for t, _ in points]

        plt.plot(x(sp), [to_unit(v) for _, v in sp], label="SP")
        plt.plot(x(pv), [to_unit(v) for _, v in pv], label="I" if tank else "PV")
        if plan:
            plt.plot(x(plan), [to_unit(v) for _, v in plan], label="plan", color="gray")
        self.drawn_plan_points = len(plan)
        if tank and ah:
            plt.plot(x(ah), [v for _, v in ah], label="Ah", yside="right")
        if tank and self.target_ah is not None:
            # across the current step only (from its mark): an earlier step had its own end
            start = max((t for t, kind in self.marks if kind == "step"), default=t0)
            span = [(max(start, t0), 0.0), (max(pv[-1][0], sp[-1][0]), 0.0)]
            target = [self.target_ah] * 2
            plt.plot(x(span), target, label="Ah end", yside="right", color="gray")
            # headroom over the target: its line below the current SP's at the top
            top = max(self.target_ah, *(v for _, v in ah)) * 1.2
            plt.ylim(0.0, top, yside="right")  # type: ignore[arg-type]  # plotext types it wrong
            self.drawn_target = self.target_ah
        for t, kind in self.marks:
            if t >= t0:
                plt.vline((t - t0) / scale, "red" if kind == "alarm" else "gray")
        plt.xlabel(unit)
        self.drawn_points = max(len(pv), len(sp))


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
