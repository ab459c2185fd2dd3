"""The job view (key j): the selected run's steps in order, with device, status, times and
ETAs (kilnctl.tui.joblines draws the lines; the service's "status" carries the steps).

A screen of its own over the main one: it asks the service for the run's "steps" every
`poll_s` (while it is open only) and counts the time left down in between. When its run
ends it stays, showing how each step ended, until closed with j or Escape. The app's
operator keys keep working on it and act on its run.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, Protocol

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual.worker import Worker

from kilnctl.service.client import RequestFailed, ServiceClient, ServiceUnavailable
from kilnctl.tui.format import Display
from kilnctl.tui.joblines import job_lines

STYLES = {
    "head": "bold",
    "columns": "underline",
    "done": "dim",
    "running": "bold",
    "failed": "bold red",
    "aborted": "bold red",
    "skipped": "dim italic",
    "note": "italic",
    "live": "",
}
"""How each kind of line is drawn (by the step's status, or the line's role)."""


class JobSource(Protocol):
    """What the view needs of the app: its service connection and its clock and unit."""

    @property
    def client(self) -> ServiceClient | None: ...

    def display_now(self) -> Display: ...


class JobScreen(Screen[None]):
    """The steps of one run's job, live."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "close", "Close"),
        Binding("escape", "close", "Close", show=False),
    ]

    def __init__(self, run_id: str, source: JobSource, *, poll_s: float = 1.0) -> None:
        super().__init__()
        self.run_id = run_id
        self.source = source
        self.poll_s = poll_s
        self.run: dict[str, Any] = {"run_id": run_id}
        """The run as the service's last "steps" reply gave it ("status" form with its
        steps), with "time": that reply's service time."""
        self.body = Static("asking the service...", id="job-view")
        self.scroll = VerticalScroll(id="job-scroll")

    def compose(self) -> ComposeResult:
        yield Header()
        with self.scroll:
            yield self.body
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(self.poll_s, self._poll_now)
        self._poll_now()

    def on_resize(self, event: events.Resize) -> None:
        self.redraw()

    def action_close(self) -> None:
        self.dismiss()

    def _poll_now(self) -> Worker[None]:
        # given uncalled: a worker cancelled before it starts leaves no coroutine unawaited
        work: Callable[[], Coroutine[None, None, None]] = self.poll
        return self.run_worker(work, group="job-poll", exclusive=True)

    async def poll(self) -> None:
        """Take the run's steps from the service ("steps"), then draw."""
        client = self.source.client
        if client is not None:
            try:
                reply = await client.request("steps", run=self.run_id)
                self.run = {**reply["run"], "time": reply["time"]}
            except ServiceUnavailable:
                pass  # the app's link says the service is lost; shown as last known
            except RequestFailed as exc:  # a service restarted since: the run is unknown
                self.run["gone"] = str(exc)
        self.redraw()

    def redraw(self) -> None:
        """Draw the lines at the screen's width, time left counted down since the status."""
        display = self.source.display_now()
        at = self.run.get("time")
        gone = display.now - at if display.now is not None and isinstance(at, int | float) else 0.0
        # the lines are cut to the room left by padding and a scroll bar, never wrapped
        room = self.scroll.scrollable_content_region.width or self.size.width - 2
        width = max(room, 20)
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, (line, kind) in enumerate(job_lines(self.run, display, width, gone)):
            if i:
                text.append("\n")
            text.append(line, style=STYLES.get(kind, ""))
        if self.run.get("gone"):
            text = Text(f"run {self.run_id}: {self.run['gone']}")
        elif "time" not in self.run:
            text = Text(f"run {self.run_id}: asking the service for its steps...")
        self.body.update(text)
