"""The recipe browser (key `s`): the jobs and recipes the service can run, a preview of the
highlighted one, and the start of a job on chosen kilns/tanks for a lot.

Everything shown comes from the service: the list from "recipes" (kilnctl.recipes.listing,
as `kilnctl recipes`), the preview from "recipe" (kilnctl.service.recipe_preview: the
setpoint plan, step table, estimated duration and `validate`'s findings with file:line),
the kilns and tanks from the status "devices" rows (busy = in a run). Keys only: arrows
move, Enter (or s) starts the highlighted recipe, Escape goes back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option
from textual_plotext import PlotextPlot

from kilnctl.identifiers import identifier_problem
from kilnctl.report import format_duration
from kilnctl.tui.dialogs import ConfirmDialog

Ask = Callable[..., Awaitable[dict[str, Any] | str]]
"""Sends one request to the service: its reply, or the error message (a str)."""

KIND_WORDS = {"job": "job", "firing": "firing profile", "plating": "plating recipe"}


def _duration(seconds: Any) -> str:
    return format_duration(seconds) if isinstance(seconds, int | float) else "-"


def role_name(kind: str, role: str) -> str:
    """How a role reads: "kiln 'kiln2'", or "kiln" for a firing step naming none."""
    return f"{kind} {role!r}" if role else kind


def list_prompt(row: dict[str, Any]) -> Text:
    """Two lines per recipe: its name; kind, estimated duration, and ok or the reason not."""
    text = Text(str(row.get("name", "?")), style="bold")
    kind = str(row.get("kind", "?"))
    state = Text("ok", style="green") if row.get("valid") else Text("errors", style="red")
    text.append(f"\n  {kind} · {_duration(row.get('duration_s'))} · ")  # fits 30 columns
    return text + state


def findings_text(detail: dict[str, Any]) -> Text:
    """The findings, errors first in red, then warnings; or "no errors"."""
    findings = sorted(detail.get("findings", []), key=lambda f: f.get("level") != "error")
    if not findings:
        return Text("validates: no errors, no warnings", style="green")
    out = Text()
    for f in findings:
        error = f.get("level") == "error"
        out.append(("✗ " if error else "! ") + str(f.get("text", "")) + "\n",
                   style="red" if error else "yellow")  # fmt: skip
    return out


ON_MAX = 14
"""Widest kiln/tank column of the step table (longer names are cut)."""
NAMES_MAX = 48
"""Widest step + recipe columns together (more only spreads the figures away)."""


def _cut(text: str, width: int) -> str:
    """`text` in exactly `width` columns: padded, or cut with an ellipsis."""
    return text.ljust(width) if len(text) <= width else text[: max(0, width - 1)] + "…"


class StepsTable:
    """The job's steps (a plating recipe's steps indented under it): step, recipe (or a
    plating step's kind), kiln/tank, current, estimated time. Laid out for the width it
    is given: the figures keep their columns, the names share what is left."""

    def __init__(self, detail: dict[str, Any]) -> None:
        self.rows = []
        for row in detail.get("steps", []):
            sub = bool(row.get("depth"))
            amps = row.get("current_a")
            self.rows.append(
                (
                    ("  " if sub else "") + str(row.get("label", "")),
                    str(row.get("kind", "") if sub else row.get("what") or row.get("kind", "")),
                    str(row.get("unit", "")),
                    f"{amps:.3g} A" if isinstance(amps, int | float) else "",
                    _duration(row.get("duration_s")),
                )
            )

    def lines(self, width: int) -> list[str]:
        """The header and one line per step, each `width` columns at most."""
        amps, est = 6, 8
        widest = ON_MAX if width >= 60 else ON_MAX - 5  # at 80 columns the names need it
        on = min(widest, max(len(r[2]) for r in (("", "", "on"), *self.rows)) + 1)
        names = max(8, min(NAMES_MAX, width - on - amps - est - 2))
        step = names * 11 // 20
        header = ("step", "recipe", "on", "amps", "est.")
        out = []
        for cells in (header, *self.rows):
            out.append(
                _cut(cells[0], step) + " " + _cut(cells[1], names - step - 1) + " "
                + _cut(cells[2], on - 1) + " " + cells[3].rjust(amps - 1) + " "
                + cells[4].rjust(est - 1)
            )  # fmt: skip
        return [line.rstrip() for line in out]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = self.lines(options.max_width)
        yield Text(lines[0], style="bold")
        for line in lines[1:]:
            yield Text(line)


class PreviewPlot(PlotextPlot):
    """The firing steps' planned setpoint over the job's estimated time (hidden when the
    recipe has no firing step)."""

    def show(self, detail: dict[str, Any]) -> None:
        plt = self.plt
        plt.clear_data()
        plans = [p for p in detail.get("plan", []) if p.get("points")]
        self.display = bool(plans)  # plating only: the step table says it, with currents
        plt.title("setpoint plan (°C)")
        end = max((p["points"][-1][0] for p in plans), default=0.0)
        unit, scale = ("h", 3600.0) if end >= 2 * 3600 else ("min", 60.0)
        for plan in plans:
            xs = [float(t) / scale for t, _ in plan["points"]]
            plt.plot(xs, [float(sp) for _, sp in plan["points"]], label=str(plan["label"]))
        plt.xlabel(unit)
        self.refresh()


class RecipeBrowser(ModalScreen[None]):
    """List | preview; Enter starts the highlighted recipe. Modal: the run keys (pause,
    abort...) are the main screen's, not this one's (Escape goes back to them)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("s", "start", "Start"),
        Binding("q", "app.quit", "Detach"),
    ]

    def __init__(
        self, recipes: list[dict[str, Any]], ask: Ask, units: Callable[[], list[dict[str, Any]]]
    ) -> None:
        super().__init__(id="browser")
        self.recipes = recipes
        self.ask = ask
        self.units = units
        """The status "devices" rows now (every kiln and tank, with its run if busy)."""
        self.detail: dict[str, Any] = {}
        """The highlighted recipe's "recipe" reply ({} until it comes)."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="browser-body"):
            options = [Option(list_prompt(r), id=str(r.get("name"))) for r in self.recipes]
            yield OptionList(*options, id="recipe-list")
            with VerticalScroll(id="recipe-detail"):
                yield Static("", id="recipe-head")
                yield Static("", id="recipe-why")
                yield PreviewPlot(id="recipe-plot")
                yield Static("", id="recipe-findings")
                yield Static("", id="recipe-steps")
        yield Footer()

    def on_resize(self) -> None:
        self.set_class(self.size.height >= 36, "tall")  # a taller plot at 120x40

    def on_mount(self) -> None:
        self.on_resize()
        listing = self.query_one("#recipe-list", OptionList)
        if not self.recipes:
            self.query_one("#recipe-head", Static).update("the service has no recipes")
        listing.focus()
        if self.recipes:
            listing.highlighted = 0

    @on(OptionList.OptionHighlighted, "#recipe-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.detail = {}
        self.query_one("#recipe-head", Static).update(f"{event.option.id}: loading...")
        self._load(str(event.option.id))

    @work(exclusive=True, group="recipe")
    async def _load(self, name: str) -> None:
        reply = await self.ask("recipe", name=name)
        if isinstance(reply, str):
            self.query_one("#recipe-head", Static).update(Text(reply, style="red"))
            return
        self.detail = reply
        self._show(reply)

    def _show(self, d: dict[str, Any]) -> None:
        kind = str(d.get("kind"))
        head = Text(f"{d.get('name')}", style="bold")
        head.append(f" — {KIND_WORDS.get(kind, kind)}, est. {_duration(d.get('duration_s'))}")
        head.append(f"\n{d.get('file', '')}", style="dim")
        self.query_one("#recipe-head", Static).update(head)
        why = str(d.get("why_not") or "")
        self.query_one("#recipe-why", Static).update(
            Text(f"cannot start: {why}", style="bold red") if why
            else Text("Enter: start (choose kilns/tanks, lot id)", style="green")
        )  # fmt: skip
        self.query_one("#recipe-findings", Static).update(findings_text(d))
        self.query_one("#recipe-steps", Static).update(StepsTable(d))
        self.query_one("#recipe-plot", PreviewPlot).show(d)

    @on(OptionList.OptionSelected, "#recipe-list")
    def _selected(self) -> None:
        self.action_start()

    def action_start(self) -> None:
        d = self.detail
        if not d:
            self.notify("the preview is still loading", severity="warning")
            return
        if not d.get("startable"):
            self.notify(f"{d.get('name')} cannot start: {d.get('why_not')}", severity="error")
            return
        form = StartForm(str(d["name"]), d.get("roles", []), self.units())
        self.app.push_screen(form, self._confirm)

    def _confirm(self, choice: dict[str, Any] | None) -> None:
        if choice is None:
            return
        job = str(self.detail.get("name"))
        on = ", ".join(
            unit if role == unit else f"{unit} (as {role_name(kind, role)})"
            for kind, role, unit in choice["units"]
        )
        question = f"Start {job} for lot {choice['lot']} on {on or 'its devices'}?"
        dialog = ConfirmDialog(question)
        dialog.what = "start"

        async def confirmed(yes: bool | None) -> None:
            if yes:
                await self._start(job, choice)

        self.app.push_screen(dialog, confirmed)

    async def _start(self, job: str, choice: dict[str, Any]) -> None:
        reply = await self.ask(
            "start", job=job, lot=choice["lot"], kilns=choice["kilns"],
            tanks=choice["tanks"], who="tui",
        )  # fmt: skip
        if isinstance(reply, str):
            self.query_one("#recipe-why", Static).update(
                Text(f"the service refused the start: {reply}", style="bold red")
            )
            self.notify(reply, severity="error", timeout=10)
            return
        self.notify(f"started {job} for lot {choice['lot']}: {reply.get('run')}")
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class StartForm(ModalScreen[dict[str, Any] | None]):
    """A unit for each kiln/tank role (only units of that kind; busy ones say so and are
    refused) and a lot id (identifiers.py, the rule the engine applies to every start).
    Dismissed with {"lot", "kilns": {role: unit}, "tanks": {role: unit}} (the roles put on
    another unit: what "start" takes) and "units": [(kind, role, unit)] (every role, for
    the confirmation), or None."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape", "cancel", "Cancel")]

    def __init__(self, job: str, roles: list[dict[str, str]], units: list[dict[str, Any]]) -> None:
        super().__init__(classes="dialog")
        self.job = job
        self.roles = [(str(r["kind"]), str(r["role"])) for r in roles]
        self.units = units

    def _busy(self, name: str, kind: str) -> str:
        """"" when free, else what it is busy with."""
        for row in self.units:
            if row.get("name") == name and row.get("kind") == kind and row.get("run_id"):
                return f"busy: {row.get('job') or row.get('run_id')} lot {row.get('lot')}"
        return ""

    def _options(self, kind: str) -> list[tuple[str, str]]:
        names = [str(r["name"]) for r in self.units if r.get("kind") == kind]
        return [(f"{n} ({b})" if (b := self._busy(n, kind)) else n, n) for n in names]

    def _default(self, kind: str, role: str) -> str | None:
        names = [value for _, value in self._options(kind)]
        if role in names:
            return role
        free = [n for n in names if not self._busy(n, kind)]
        return next(iter(free or names), None)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="start-box", classes="box"):
            yield Label(f"Start {self.job}", classes="title", markup=False)
            for i, (kind, role) in enumerate(self.roles):
                with Horizontal(classes="start-role"):
                    yield Label(role_name(kind, role), classes="start-role-name", markup=False)
                    yield Select(
                        self._options(kind),
                        value=self._default(kind, role) or Select.BLANK,
                        prompt=f"choose a {kind}",
                        id=f"start-unit-{i}",
                        compact=True,
                    )
            with Horizontal(classes="start-role"):
                yield Label("lot id", classes="start-role-name")
                yield Input(placeholder="lot id (as on the traveller)", id="start-lot")
            yield Static("", id="start-error")
            with Vertical(classes="buttons"):
                yield Button("Next: confirm", id="start-ok", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="start-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#start-lot", Input).focus()

    def choice(self) -> dict[str, Any] | str:
        """The form's choice, or what is wrong with it."""
        chosen: dict[str, Any] = {"kilns": {}, "tanks": {}, "units": []}
        for i, (kind, role) in enumerate(self.roles):
            unit = self.query_one(f"#start-unit-{i}", Select).value
            if not isinstance(unit, str):
                return f"choose the {role_name(kind, role)}"
            if busy := self._busy(unit, kind):
                return f"{kind} {unit} is {busy}: choose another or wait"
            chosen["units"].append((kind, role, unit))
            if unit != role:  # only what differs from the recipe goes to the service
                chosen[f"{kind}s"][role] = unit
        lot = self.query_one("#start-lot", Input).value
        if problem := identifier_problem(lot):
            return f"lot id {lot!r} {problem}"
        chosen["lot"] = lot
        return chosen

    @on(Input.Submitted, "#start-lot")
    @on(Button.Pressed, "#start-ok")
    def _ok(self) -> None:
        choice = self.choice()
        if isinstance(choice, str):
            self.query_one("#start-error", Static).update(Text(choice, style="bold red"))
            return
        self.dismiss(choice)

    @on(Button.Pressed, "#start-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
