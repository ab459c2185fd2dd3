"""Modal dialogs: an operator prompt, a yes/no question (abort, skip, start)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class PromptDialog(ModalScreen[str]):
    """An operator prompt from a run; dismissed with the chosen answer. With
    `auto_answer_s` (the demo) it answers the first choice by itself after that delay."""

    # a modal screen hides the app's keys: detaching must still work with a prompt open
    BINDINGS: ClassVar[list[BindingType]] = [
        ("escape", "later", "Later (o: back)"),
        ("q", "app.quit", "Detach"),
    ]

    def __init__(
        self, prompt: dict[str, Any], auto_answer_s: float | None = None, job: str = ""
    ) -> None:
        super().__init__(classes="dialog")
        self.job = job
        """The run's job, so the operator knows which load the prompt is about."""
        self.prompt = prompt
        self.prompt_id: str = prompt["prompt_id"]
        self.run_id: str = prompt["run_id"]
        self.auto_answer_s = auto_answer_s

    def compose(self) -> ComposeResult:
        choices = list(self.prompt.get("choices") or ("ok", "abort"))
        with Vertical(id="prompt-box", classes="box"):
            yield Label(f"Operator prompt: {self.job or self.run_id}", classes="title")
            yield Label(self.prompt["text"], id="prompt-text", markup=False)
            if self.auto_answer_s is not None:
                yield Label(
                    f"demo: answering {choices[0]!r} by itself in {self.auto_answer_s:g} s",
                    id="prompt-auto",
                )
            with Horizontal(classes="buttons"):
                for i, choice in enumerate(choices):
                    yield Button(
                        choice,
                        id=f"choice-{i}",
                        variant="error" if choice == "abort" else "primary",
                        name=choice,
                    )

    def on_mount(self) -> None:
        if self.auto_answer_s is not None:
            self.set_timer(self.auto_answer_s, self._auto_answer)

    answered_by = "tui"
    """Who the batch record says answered (the operator at the TUI, or the demo itself)."""

    def _auto_answer(self) -> None:
        if not self.is_current:  # answered or closed meanwhile: dismissing again would pop
            return  # the screen under it
        self.answered_by = "demo (automatic)"
        # not awaited: a screen may not await its own dismissal from its handlers
        self.dismiss((self.prompt.get("choices") or ["ok"])[0])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.name or "ok")

    def action_later(self) -> None:
        """Close without answering (the prompt stays open in the run)."""
        self.dismiss("")


class ConfirmDialog(ModalScreen[bool]):
    """Yes/no question; dismissed with True for yes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        ("escape", "no", "No"),
        ("y", "yes", "Yes"),
        ("n", "no", "No"),
    ]

    def __init__(self, question: str, run_id: str | None = None) -> None:
        super().__init__(classes="dialog")
        self.question = question
        self.run_id = run_id
        """The run the question is about (None: not about a run)."""
        self.what = "question"
        """What is asked, for the notice when the run ends first (abort, skip)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="box"):
            yield Label(self.question, id="confirm-text", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="confirm-yes", variant="error")
                yield Button("No (n)", id="confirm-no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)
