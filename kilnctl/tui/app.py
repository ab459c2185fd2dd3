"""The kilnctl TUI: attaches to a running service over its socket.

An async worker (not a thread) reads the socket and posts messages; the handlers update
the run views (the same RunView code the service uses) and then the widgets. A lost
connection shows "disconnected, retrying" and the worker reconnects. Quitting detaches:
the runs go on in the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Header, Static
from textual.worker import Worker

from kilnctl.service.client import RequestFailed, ServiceClient, ServiceUnavailable
from kilnctl.service.plantstatus import apply_run, run_on, set_idle
from kilnctl.service.runview import RunView
from kilnctl.tui.browser import RecipeBrowser
from kilnctl.tui.dialogs import ConfirmDialog, PromptDialog
from kilnctl.tui.format import Display, run_name
from kilnctl.tui.jobview import JobScreen
from kilnctl.tui.layout import plant_rows_max, runs_rows_max
from kilnctl.tui.messages import Connected, Disconnected, ServiceEvent
from kilnctl.tui.plantlines import name_width, plant_line, stale_after_s
from kilnctl.tui.telemetryline import telemetry_brief
from kilnctl.tui.widgets import (
    KILN_KEYS,
    TANK_KEYS,
    AlarmList,
    KilnChart,
    PlantTable,
    RunPanel,
    chart_keys,
)

EXTEND_S = 60.0
"""What one press of the extend key adds to the current hold."""

HISTORY_MIN_POINTS = 40
"""Fewest points asked of "history" (before the chart has its size)."""

_STEP_KINDS = frozenset(
    {"step_started", "plating_step_started", "state", "prompt", "prompt_answer"}
)
_ALARM_KINDS = frozenset({"alarm_raised", "alarm_ack", "alarm_cleared"})

MIN_SIZE = (60, 16)
"""Smallest terminal the screen is drawn in; below it a notice says what is needed."""


def _t(values: dict[str, Any]) -> float:
    """A reading's time (service s; -inf without one)."""
    t = values.get("t")
    return float(t) if isinstance(t, int | float) else float("-inf")


class KilnApp(App[None]):
    """Live runs, chart, alarms; operator commands by key."""

    CSS_PATH = "kilnctl.tcss"
    TITLE = "kilnctl"
    ENABLE_COMMAND_PALETTE = False  # its footer space goes to the operator's keys at 80x24
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "start", "Start"),
        Binding("p", "pause", "Pause"),
        Binding("r", "resume", "Resume"),
        Binding("k", "skip", "Skip"),
        Binding("e", "extend", "+1m"),
        Binding("a", "abort", "Abort"),
        Binding("c", "ack", "Ack"),
        Binding("o", "answer", "Answer"),
        Binding("j", "job_view", "Job"),
        # priority: the screen's own Tab binding (hidden) would otherwise shadow this one
        Binding("tab", "focus_next", "Next", priority=True),
        # off the footer for want of room at 80 columns; in the README's key list
        Binding("f", "toggle_unit", "°C/°F", show=False),
        Binding("q", "quit", "Detach"),
    ]

    def __init__(
        self,
        socket_path: str | Path,
        *,
        retry_s: float = 1.0,
        status_every_s: float = 5.0,
        auto_answer_s: float | None = None,
        subtitle: str = "",
    ) -> None:
        super().__init__()
        self.socket_path = Path(socket_path)
        self.retry_s = retry_s
        self.status_every_s = status_every_s
        self.auto_answer_s = auto_answer_s
        self.sub_title = subtitle or str(self.socket_path)
        self.client: ServiceClient | None = None
        self.runs: dict[str, RunView] = {}
        self.status: dict[str, Any] = {}
        self.connected = False
        self._panels: dict[str, RunPanel] = {}
        self._prompt_dialog: PromptDialog | None = None
        self._deferred_prompts: set[tuple[str, str]] = set()
        self._answered: set[tuple[str, str]] = set()
        """Prompts answered here whose answer the service has not echoed yet: not shown
        again meanwhile (prompt ids repeat across runs, so the key holds the run)."""
        self._run_dialogs: dict[str, list[ConfirmDialog]] = {}
        """Open questions about a run (abort, skip): closed when the run ends."""
        self.unit = "C"
        """Temperature display unit (display only: the journal stays in °C)."""
        self._service_time: tuple[float, float, float] | None = None
        """(service time, local monotonic time, speed) of the last status: the service's
        time now is estimated from it, for reading ages and the countdown."""
        self._left_at: dict[str, float] = {}
        """Service time of each run's time-left estimate."""
        self.plant_rows: list[dict[str, Any]] = []
        """Every kiln and tank (the status "devices" rows), kept fresh by the events."""
        self._rows_at = 0.0
        """Service time of the status the rows came from (their time left's origin)."""

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # kept as attributes: App.query_one looks at the top screen, which may be a dialog
        self.status_bar = Static("connecting...", id="status", markup=False)
        self.runs_box = VerticalScroll(id="runs")
        self.no_runs = Static("no active runs", id="no-runs")
        self.chart = KilnChart(id="chart")
        self.alarm_list = AlarmList(id="alarms")
        self.too_small = Static("", id="too-small", markup=False)
        self.plant = PlantTable(id="plant")
        yield Header()
        yield self.status_bar
        yield self.too_small
        with Vertical(id="body"):
            yield self.plant
            with self.runs_box:
                yield self.no_runs
            with Horizontal(id="lower"):
                yield self.chart
                yield self.alarm_list
        yield Footer()

    def on_mount(self) -> None:
        self.alarm_list.show([])
        self.run_worker(self._link(), name="service-link", group="link", exclusive=True)
        self.set_interval(self.status_every_s, self._poll_status)
        self.set_interval(1.0, self._tick)
        self._fit(self.size.width, self.size.height)

    def refresh_bindings(self) -> None:
        """The footer follows the state; detaching, with no screen left, there is none to
        follow it (Textual raises ScreenStackError for a message still queued then)."""
        if self.screen_stack:
            super().refresh_bindings()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """Below MIN_SIZE, a notice instead of a screen squeezed out of shape."""
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.too_small.update(
            f"terminal {width}x{height} is too small: kilnctl needs {MIN_SIZE[0]}x{MIN_SIZE[1]}"
            " (q detaches)"
        )
        self.too_small.display = small
        self.query_one("#body").display = not small
        self._redraw_status()
        self._redraw_plant()

    def _tick(self) -> None:
        """Once a second: ages of readings and the countdown of time left move on."""
        self._redraw_plant()
        if self.runs:
            for view in self.runs.values():
                self._redraw_run(view)

    def service_now(self) -> float | None:
        """The service's time now, estimated from its last status (None before one)."""
        if self._service_time is None:
            return None
        t, at, speed = self._service_time
        return t + (time.monotonic() - at) * speed

    def display_now(self) -> Display:
        """How values are shown now."""
        speed = self._service_time[2] if self._service_time is not None else 1.0
        return Display(
            unit="F" if self.unit == "F" else "C",
            now=self.service_now(),
            live=self.connected,
            speed=speed,
        )

    def _note_service_time(self, status: dict[str, Any]) -> None:
        t = status.get("time")
        if isinstance(t, int | float):
            speed = status.get("speed")
            speed = float(speed) if isinstance(speed, int | float) and speed > 0 else 1.0
            self._service_time = (float(t), time.monotonic(), speed)

    # ------------------------------------------------------------------ the link

    async def _link(self) -> None:
        """Connect, subscribe, forward events as messages; on loss, retry forever."""
        while True:
            try:
                client = await ServiceClient.connect(self.socket_path, timeout_s=2.0)
            except ServiceUnavailable as exc:
                self.post_message(Disconnected(str(exc)))
                await asyncio.sleep(self.retry_s)
                continue
            try:
                status = await client.request("subscribe")
                self.client = client
                self.post_message(Connected(status))
                async for event in client.events():
                    self.post_message(ServiceEvent(event))
                reason = "connection lost"
            except (ServiceUnavailable, RequestFailed) as exc:
                reason = str(exc)
            finally:
                self.client = None
                await client.close()
            self.post_message(Disconnected(reason))
            await asyncio.sleep(self.retry_s)

    def _spawn(
        self, work: Callable[[], Coroutine[None, None, None]], group: str, exclusive: bool = False
    ) -> Worker[None]:
        """Run `work` in a worker (given uncalled: a worker cancelled before it starts
        then leaves no coroutine never awaited)."""
        return self.run_worker(work, group=group, exclusive=exclusive)

    async def _poll_status(self) -> None:
        """Refresh what events do not carry (time left) from a "status" snapshot."""
        client = self.client
        if client is None:
            return
        try:
            status = await client.request("status")
        except (ServiceUnavailable, RequestFailed):
            return  # the link worker notices a lost connection and says so
        self._note_service_time(status)
        self._take_rows(status)
        # what the status bar shows and no event carries: unsafe devices, telemetry health
        news = {k: status.get(k) for k in ("unsafe", "telemetry_health")}
        if any(self.status.get(k) != v for k, v in news.items()):
            self.status.update(news)
            self._redraw_status()
        for run in status.get("runs", []):
            self.chart.set_plan(run["run_id"], run.get("plan"))
            self.chart.set_target(run["run_id"], run.get("ah_target"))
            view = self.runs.get(run["run_id"])
            if view is not None:
                view.time_left_s = run.get("time_left_s")
                view.plating_left_s = run.get("plating_left_s")
                self._left_at[view.run_id] = float(status.get("time") or 0.0)
                self._redraw_run(view)

    @on(Connected)
    def _connected(self, message: Connected) -> None:
        self.connected = True
        self.status = message.status
        self._note_service_time(message.status)
        self.runs = {r["run_id"]: RunView.from_dict(r) for r in message.status.get("runs", [])}
        self._left_at = {r: float(message.status.get("time") or 0.0) for r in self.runs}
        self._take_rows(message.status)
        self.chart.reset()
        for view in self.runs.values():
            for source, values in view.samples.items():
                self._chart(view.run_id, source, values, values.get("t", 0.0))
        for run in message.status.get("runs", []):
            self.chart.set_plan(run["run_id"], run.get("plan"))
            self.chart.set_target(run["run_id"], run.get("ah_target"))
        self._redraw_runs()
        self._redraw_alarms()
        self._redraw_status()
        self._next_prompt()

    @on(Disconnected)
    def _disconnected(self, message: Disconnected) -> None:
        self.connected = False
        self.status = {"reason": message.reason}
        self._redraw_status()
        self._redraw_runs()  # what they show is last known now, not live
        self._redraw_plant()

    def _safe_news(self, event: dict[str, Any]) -> None:
        """A device whose safe state is not confirmed outlives its run's line on screen (the
        service retries it): say when it is left unsafe and when it is confirmed."""
        kind = event.get("kind")
        if kind == "alarm_raised" and event.get("code") == "unsafe_device":
            self.notify(str(event.get("message", "")), severity="error", timeout=60)
        elif kind == "notice" and event.get("topic") == "safe":
            self.notify(str(event.get("message", "")))

    @on(ServiceEvent)
    def _event(self, message: ServiceEvent) -> None:
        event = message.event
        kind = event.get("kind")
        if kind == "dropped":
            self.notify(f"display fell behind: {event.get('count')} events skipped")
            return
        run_id = event.get("run_id")
        if not isinstance(run_id, str):
            return
        self._safe_news(event)
        view = self.runs.get(run_id)
        if view is None:
            if kind != "run_started":
                return  # an ended run's device still retried (or one made safe on demand)
            view = self.runs[run_id] = RunView(run_id)
        view.apply(event)
        self._rows_follow(view)
        if kind == "sample":
            self._chart(run_id, event["source"], event["values"], event["t"])
        elif kind in _STEP_KINDS:
            if kind in ("step_started", "plating_step_started"):
                self.chart.mark(run_id, float(event["t"]), "step")
            # the time left belongs to the step: fetch the new step's now, not at the next poll
            self._spawn(self._poll_status, "status", exclusive=True)
            if kind == "state":
                self._refresh_keys()  # pause or resume in the footer follows the state
        if view.outcome is not None:
            del self.runs[run_id]
            self.chart.finish(run_id)
            reason = f": {view.reason}" if view.reason else ""
            self.notify(f"{run_name(view, run_id)}: {view.outcome}{reason}")
            self._redraw_runs()
            self._redraw_alarms()
            self._redraw_status()
            self._close_prompt_if(lambda d: d.run_id == run_id)
            self._close_run_dialogs(run_id, view)
            return
        self._redraw_run(view)
        if kind in _ALARM_KINDS:
            if kind == "alarm_raised":
                self.chart.mark(run_id, float(event["t"]), "alarm")
            self._redraw_alarms()
        elif kind == "prompt":
            self._next_prompt()
        elif kind == "prompt_answer":
            self._close_prompt_if(
                lambda d: (d.run_id, d.prompt_id) == (run_id, event["prompt_id"])
            )
        elif kind == "run_started":
            self._redraw_status()

    # ------------------------------------------------------------------ drawing

    def _chart(self, run_id: str, source: str, values: dict[str, Any], t: float) -> None:
        keys = chart_keys(values)
        if keys is None:
            return
        if self.chart.take(run_id, source, keys) or self._chart_moves_on(run_id, source, keys):
            # the chart starts on this kiln/tank: fetch what the run did before we saw it
            self._spawn(partial(self._load_history, run_id, source), "history")
        ah = values.get("amp_hours")
        self.chart.add(
            run_id, source, t, values[keys[0]], values[keys[1]],
            float(ah) if isinstance(ah, int | float) and keys == TANK_KEYS else None,
        )  # fmt: skip

    def _chart_moves_on(self, run_id: str, source: str, keys: tuple[str, str]) -> bool:
        """The run shown goes on to another kiln or tank (its firing done, the plating on
        the next tank): the chart follows it once the device it shows is done with (a
        tank's plating step ended: "off"; a kiln's schedule at its end: segment "done";
        or no longer sampled). A kiln kept hot in standby is neither, so the chart stays
        on it meanwhile."""
        chart, view = self.chart, self.runs.get(run_id)
        if view is None or chart.run_id != run_id or chart.finished or chart.source == source:
            return False
        shown = view.samples.get(chart.source or "", {})
        segment = view.segments.get(chart.source or "") or {}
        d = self.display_now()
        done = shown.get("off") or segment.get("phase") == "done"
        if not (done or d.is_stale(d.age_s(shown))):
            return False
        chart.show(run_id, source, keys)
        return True

    @on(events.DescendantFocus)
    def _panel_focused(self, event: events.DescendantFocus) -> None:
        """Tab to a run's panel: the chart shows that run's kiln, from the run's start."""
        panel = event.widget
        self._refresh_keys()  # the selected run changed: pause or resume in the footer
        view = self.runs.get(panel.run_id) if isinstance(panel, RunPanel) else None
        if view is None:
            return
        # its kilns first, then its tanks
        charted = sorted(
            (s for s, v in view.samples.items() if chart_keys(v) is not None),
            key=lambda s: (chart_keys(view.samples[s]) != KILN_KEYS, s),
        )
        chart = self.chart
        if not charted or (chart.run_id == view.run_id and chart.source in charted):
            return
        keys = chart_keys(view.samples[charted[0]]) or KILN_KEYS
        chart.show(view.run_id, charted[0], keys)
        self._spawn(partial(self._load_history, view.run_id, charted[0]), "history")

    async def _load_history(self, run_id: str, source: str) -> None:
        width = self.chart.size.width or self.size.width
        reply = await self._send(
            "history", run=run_id, source=source, max_points=max(2 * width, HISTORY_MIN_POINTS)
        )
        if reply is not None:
            self.chart.load_history(run_id, source, reply.get("series", {}))

    # ------------------------------------------------------------------ the plant table

    def _take_rows(self, status: dict[str, Any]) -> None:
        """The kilns and tanks of a status reply (a service without them: none)."""
        rows = status.get("devices")
        if isinstance(rows, list):
            before = {r["name"]: r.get("values") or {} for r in self.plant_rows}
            self.plant_rows = [dict(r) for r in rows if isinstance(r, dict) and "name" in r]
            for row in self.plant_rows:
                # a run's last sample is newer than the watch's reading from before the run
                # (the watch cannot read a device whose comms the run lost)
                last = before.get(row["name"], {})
                if _t(last) > _t(row.get("values") or {}):
                    row["values"] = last
            self._rows_at = float(status.get("time") or 0.0)
            self._redraw_plant()

    def _rows_follow(self, view: RunView) -> None:
        """A run's event: its kilns' and tanks' rows follow at once (the watch's readings
        between runs come with the status polls)."""
        for row in self.plant_rows:
            if view.outcome is not None and row.get("run_id") == view.run_id:
                set_idle(row)
            elif view.outcome is None and (
                row.get("run_id") == view.run_id or run_on(row["name"], [view]) is not None
            ):
                apply_run(row, view)

    def _redraw_plant(self) -> None:
        d = self.display_now()
        now = d.now
        elapsed = now - self._rows_at if now is not None and self._rows_at else 0.0
        width = max(self.plant.size.width - 2, 40) if self.plant.size.width else 78
        # in service seconds: a poll every status_every_s real seconds is `speed` times more
        poll_s = self.status_every_s * (self._service_time[2] if self._service_time else 1.0)
        names_w = name_width([str(r["name"]) for r in self.plant_rows], width)
        lines = [
            plant_line(r, d, width, elapsed, stale_after_s(r, poll_s), names_w)
            for r in self.plant_rows
        ]
        rows = self.size.height
        self.plant.show(lines, [str(r["name"]) for r in self.plant_rows], plant_rows_max(rows))
        # the run panels take what the plant table leaves (they scroll), the chart its minimum
        self.runs_box.styles.max_height = runs_rows_max(rows, len(self.plant.lines))

    def _redraw_status(self) -> None:
        bar = self.status_bar
        bar.set_class(not self.connected, "disconnected")
        bar.remove_class("telemetry-error")
        self.runs_box.set_class(not self.connected, "stale")  # last known, not live
        if not self.connected:
            # The socket path is in the header; the reason is cut to the line, not wrapped.
            text = f"service disconnected, reconnecting: {self.status.get('reason', '')}"
            width = max(self.size.width - 2, 20)
            bar.update(text if len(text) <= width else text[: width - 1] + "…")
            return
        unsafe = self.status.get("unsafe") or {}
        bar.set_class(bool(unsafe), "disconnected")  # the alarm colour
        if unsafe:  # a device that may still heat or plate comes before anything else
            bar.update(f"NOT CONFIRMED SAFE: {', '.join(sorted(unsafe))} (still retried)")
            return
        plant = self.status.get("plant") or "plant"
        telemetry, failing = telemetry_brief(
            self.status.get("telemetry_health"),
            self.status.get("telemetry") or "",
            self.service_now(),
        )
        bar.set_class(failing, "telemetry-error")
        parts = ["connected", plant, f"{len(self.runs)} active run(s)", telemetry]
        width = max(self.size.width - 2, 20)
        text = " | ".join(parts)
        if failing and len(text) > width:  # the plant's name goes first: the trouble shows
            text = " | ".join(parts[:1] + parts[2:])
            text = text if len(text) <= width else text[: width - 1] + "…"
        bar.update(text)

    def _elapsed(self, run_id: str) -> float:
        """Service seconds since the run's time-left estimate."""
        now = self.service_now()
        at = self._left_at.get(run_id)
        return 0.0 if now is None or at is None else max(0.0, now - at)

    def _redraw_run(self, view: RunView) -> None:
        panel = self._panels.get(view.run_id)
        if panel is None:
            self._redraw_runs()
        else:
            panel.show(view, self.display_now(), self._elapsed(view.run_id))

    def _refresh_keys(self) -> None:
        """The footer's keys follow the selected run. Not while detaching: the events
        still arriving then find no screen (Textual raised ScreenStackError, a traceback
        on the technician's terminal as `q` was pressed)."""
        if self.screen_stack:
            self.refresh_bindings()

    def _redraw_runs(self) -> None:
        self._refresh_keys()
        for run_id in [r for r in self._panels if r not in self.runs]:
            self._panels.pop(run_id).remove()
        for run_id, view in self.runs.items():
            panel = self._panels.get(run_id)
            if panel is None:
                # mounting completes later: remember the panel now so it is mounted once
                self._panels[run_id] = RunPanel(view, self.display_now())
                self.runs_box.mount(self._panels[run_id])
            else:
                panel.show(view, self.display_now(), self._elapsed(run_id))
        self.no_runs.display = not self.runs

    def _redraw_alarms(self) -> None:
        alarms = [a for v in self.runs.values() for a in v.alarms.values()]
        self.alarm_list.show(alarms)

    # ------------------------------------------------------------------ prompts

    def _next_prompt(self) -> None:
        """Show the oldest open prompt not shown yet (one dialog at a time)."""
        if self._prompt_dialog is not None:
            return
        for view in self.runs.values():
            for prompt in view.prompts.values():
                key = (view.run_id, prompt["prompt_id"])
                if key not in self._deferred_prompts and key not in self._answered:
                    self._show_prompt(prompt)
                    return

    def action_answer(self) -> None:
        """Show the open prompts again, those put off with Escape included."""
        self._deferred_prompts.clear()
        if not any(v.prompts for v in self.runs.values()):
            self.notify("no prompt is waiting")
        self._next_prompt()

    def _show_prompt(self, prompt: dict[str, Any]) -> None:
        view = self.runs.get(prompt["run_id"])
        dialog = PromptDialog(prompt, self.auto_answer_s, job=view.job if view else "")
        self._prompt_dialog = dialog

        async def answered(answer: str | None) -> None:
            self._prompt_dialog = None
            if answer:
                self._answered.add((dialog.run_id, dialog.prompt_id))
                await self._send(
                    "answer",
                    run=dialog.run_id,
                    prompt=dialog.prompt_id,
                    answer=answer,
                    who=dialog.answered_by,
                )
            else:
                self._deferred_prompts.add((dialog.run_id, dialog.prompt_id))
            self._next_prompt()

        self.push_screen(dialog, answered)

    def _close_prompt_if(self, match: Any) -> None:
        """Dismiss the prompt dialog if it matches (answered elsewhere, run ended)."""
        dialog = self._prompt_dialog
        if dialog is not None and match(dialog) and dialog.is_current:
            self._deferred_prompts.add((dialog.run_id, dialog.prompt_id))
            dialog.dismiss("")

    # ------------------------------------------------------------------ commands

    def selected_run(self) -> str | None:
        """The job view's run, else the focused run panel's, else the first active run."""
        # the keys act on the run the view shows (a dialog may be above it); the stack is
        # empty while the app shuts down
        job_view = next((s for s in self.screen_stack[::-1] if isinstance(s, JobScreen)), None)
        if job_view is not None:
            return job_view.run_id if job_view.run_id in self.runs else None
        focused = self.focused
        if isinstance(focused, RunPanel) and focused.run_id in self.runs:
            return focused.run_id
        return next(iter(self.runs), None)

    async def _send(self, op: str, **args: Any) -> dict[str, Any] | None:
        client = self.client
        if client is None:
            self.notify("not connected to the service", severity="error")
            return None
        try:
            return await client.request(op, **args)
        except (RequestFailed, ServiceUnavailable) as exc:
            self.notify(str(exc), severity="error")
            return None

    async def _run_command(self, op: str, **args: Any) -> None:
        run = self.selected_run()
        if run is None:
            self.notify("no active run", severity="warning")
            return
        if await self._send(op, run=run, who="tui", **args) is not None:
            self.notify(f"{op}: {run}")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Pause or resume, whichever applies to the selected run, is in the footer (both
        keys always work): room for every key at 80 columns."""
        if action in ("pause", "resume"):
            view = self.runs.get(self.selected_run() or "")
            paused = view is not None and view.state == "paused"
            return paused if action == "resume" else not paused
        return True

    async def action_pause(self) -> None:
        await self._run_command("pause")

    async def action_resume(self) -> None:
        await self._run_command("resume")

    def action_skip(self) -> None:
        """Skip the current segment or step, after a yes: it changes the lot's firing."""
        self._confirm_then("skip", "Skip the current segment or step of {}?", "skip")

    def action_toggle_unit(self) -> None:
        """Show temperatures in °F, or back in °C (display only)."""
        self.unit = "F" if self.unit == "C" else "C"
        self.chart.set_unit(self.unit)
        self._redraw_runs()
        self.notify(f"temperatures in °{self.unit}")

    def action_job_view(self) -> None:
        """Open the selected run's job view (steps, status, ETAs); j again closes it."""
        if isinstance(self.screen, JobScreen):
            self.screen.dismiss()
            return
        run = self.selected_run()
        if run is None:
            self.notify("no active run", severity="warning")
            return
        # live at least as often as the status polls (1 s in use; tests poll faster)
        self.push_screen(JobScreen(run, self, poll_s=min(1.0, self.status_every_s)))

    async def action_extend(self) -> None:
        await self._run_command("extend", seconds=EXTEND_S)

    def action_abort(self) -> None:
        self._confirm_then(
            "abort", "Abort {}? Devices go safe.", "abort", reason="operator abort at the TUI"
        )

    def _confirm_then(self, op: str, question: str, what: str, **args: Any) -> None:
        """Ask about the selected run; on yes, send `op`. The question belongs to the run:
        it closes, with a notice, if the run ends first."""
        run = self.selected_run()
        if run is None:
            self.notify("no active run", severity="warning")
            return
        dialog = ConfirmDialog(question.format(run_name(self.runs.get(run), run)), run_id=run)
        dialog.what = what
        self._run_dialogs.setdefault(run, []).append(dialog)

        async def confirmed(yes: bool | None) -> None:
            dialogs = self._run_dialogs.get(run, [])
            if dialog in dialogs:
                dialogs.remove(dialog)
            if not (yes and run in self.runs):
                return
            if await self._send(op, run=run, who="tui", **args) is not None:
                self.notify(f"{op}: {run_name(self.runs.get(run), run)}")

        self.push_screen(dialog, confirmed)

    def _close_run_dialogs(self, run_id: str, view: RunView) -> None:
        for dialog in self._run_dialogs.pop(run_id, []):
            dialog.dismiss(False)
            self.notify(
                f"{run_name(view, run_id)} ended ({view.outcome}): the {dialog.what} question "
                "was closed",
                severity="warning",
            )

    async def action_ack(self) -> None:
        alarm_id = self.alarm_list.highlighted_alarm
        alarms = {a["alarm_id"]: a for v in self.runs.values() for a in v.alarms.values()}
        if alarm_id is None or alarms.get(alarm_id, {}).get("acked"):
            alarm_id = next((i for i, a in alarms.items() if not a.get("acked")), None)
        if alarm_id is None:
            self.notify("no alarm to acknowledge")
            return
        await self._send("ack", run=alarms[alarm_id]["run_id"], alarm=alarm_id, who="tui")

    async def action_start(self) -> None:
        """Open the recipe browser: a job is chosen, previewed and started there."""
        reply = await self._send("recipes")
        if reply is not None:
            self.push_screen(RecipeBrowser(reply["recipes"], self._ask, lambda: self.plant_rows))

    async def _ask(self, op: str, **args: Any) -> dict[str, Any] | str:
        """One request: its reply, or what went wrong (for the browser to show in place)."""
        client = self.client
        if client is None:
            return "not connected to the service"
        try:
            return await client.request(op, **args)
        except (RequestFailed, ServiceUnavailable) as exc:
            return str(exc)

    async def action_quit(self) -> None:
        """Detach: the service and its runs go on."""
        if self.client is not None:
            with contextlib.suppress(ServiceUnavailable):
                await self.client.close()
        self.exit()
