"""The terminal of `kilnctl run`: a live status line, event lines, and questions that stay
readable until answered.

Rules, so that every answer does what it says:
- one question at a time: a question asked while another is open (a second Ctrl-C, a job
  prompt) waits for it; a Ctrl-C while a question is open shows that question again;
- while a question is open the live status line is not drawn (it would overwrite the
  question); an event line printed meanwhile is followed by the question again;
- an answer is one of the question's choices, typed whole or by a unique prefix ("p",
  "pause"); anything else asks again (an unrecognised answer never aborts a firing);
  end of input answers "abort", as nobody is left to ask.
Questions go to stderr: with --json, stdout carries nothing but JSON lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

STATUS_WIDTH = 70


def match_choice(text: str, choices: Sequence[str], default: str | None = None) -> str | None:
    """The choice `text` names (whole, or a prefix of exactly one), `default` for an empty
    line, else None."""
    typed = text.strip().lower()
    if not typed:
        return default
    for choice in choices:
        if choice.lower() == typed:
            return choice
    found = [c for c in choices if c.lower().startswith(typed)]
    return found[0] if len(found) == 1 else None


class Terminal:
    """What `kilnctl run` draws on a terminal, and the questions it asks there."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.tty = self.out.isatty()
        self._status_drawn = False
        """The cursor is at the end of a status line (a new line must start first)."""
        self._question: str | None = None
        self._asking = asyncio.Lock()
        self._lines: asyncio.Queue[str | None] | None = None

    @property
    def asking(self) -> bool:
        """A question is open (or about to be shown) and waits for its answer."""
        return self._asking.locked()

    # ------------------------------------------------------------------ drawing

    def status(self, text: str) -> None:
        """Redraw the live status line (a tty only), unless a question is open."""
        if not self.tty or self._question is not None:
            return
        print("\r" + text.ljust(STATUS_WIDTH), end="", file=self.out, flush=True)
        self._status_drawn = True

    def line(self, text: str) -> None:
        """An event line on its own line; an open question is shown again below it."""
        self._end_status()
        if self._question is not None:
            print(file=self.err, flush=True)  # leave the question's line as it is
        print(text, file=self.out, flush=True)
        if self._question is not None:
            self._draw_question()

    def _end_status(self) -> None:
        if self._status_drawn:
            print(file=self.out, flush=True)
            self._status_drawn = False

    def _draw_question(self, note: str = "") -> None:
        assert self._question is not None
        print(note + self._question, end="", file=self.err, flush=True)

    def show_question_again(self) -> None:
        """Ctrl-C while a question is open: show it again rather than stack another."""
        if self._question is not None:
            print(file=self.err)
            self._draw_question()

    # ------------------------------------------------------------------ asking

    async def ask(
        self, question: str, choices: Sequence[str], default: str | None = None
    ) -> str:
        """Ask until one of `choices` is answered (see match_choice); "abort" at end of input."""
        async with self._asking:
            self._end_status()
            self._question = question
            try:
                self._draw_question()
                while True:
                    line = await self._next_line()
                    if line is None:
                        return "abort"
                    answer = match_choice(line, choices, default)
                    if answer is not None:
                        return answer
                    names = ", ".join(choices[:-1]) + f" or {choices[-1]}"
                    self._draw_question(f"please answer {names}. ")
            finally:
                self._question = None

    async def _next_line(self) -> str | None:
        if self._lines is None:
            self._lines = self._start_reader()
        return await self._lines.get()

    @staticmethod
    def _start_reader() -> asyncio.Queue[str | None]:
        """Read stdin in a daemon thread: a question left unanswered when the run ends
        must not keep the process alive (an executor thread would be joined at exit)."""
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()

        def read() -> None:
            try:
                for line in sys.stdin:
                    loop.call_soon_threadsafe(lines.put_nowait, line)
            except (OSError, ValueError):
                pass  # stdin closed
            with contextlib.suppress(RuntimeError):  # the loop may be gone already
                loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=read, name="kilnctl-stdin", daemon=True).start()
        return lines
