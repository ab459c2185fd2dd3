"""A process crash for resume tests: a real journal that stops taking writes at `die()`,
so what was committed before stays and nothing after it is recorded."""

from __future__ import annotations

from typing import Any

from kilnctl.journal import Journal


class DyingJournal(Journal):
    """A real journal that stops writing at `die()`: what was committed stays."""

    dead = False

    def die(self) -> None:
        self.dead = True

    def record_sample(self, *args: Any, **kw: Any) -> None:
        if not self.dead:
            super().record_sample(*args, **kw)

    def record_event(self, *args: Any, **kw: Any) -> None:
        if not self.dead:
            super().record_event(*args, **kw)

    def checkpoint(self, *args: Any, **kw: Any) -> None:
        if not self.dead:
            super().checkpoint(*args, **kw)

    def finish_run(self, *args: Any, **kw: Any) -> None:
        if not self.dead:
            super().finish_run(*args, **kw)
