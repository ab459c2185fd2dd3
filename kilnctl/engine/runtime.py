"""What a running run shares with its units (firing, plating, prompts): events, journal,
alarms, operator prompts, pending commands, sample numbering and checkpoints."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from kilnctl.clock import Clock
from kilnctl.engine.alarms import AlarmBook
from kilnctl.engine.messages import (
    Event,
    Notice,
    OperatorAction,
    PromptAnswered,
    PromptRaised,
    Sample,
    StateChanged,
)
from kilnctl.engine.safekeeper import SafeKeeper
from kilnctl.engine.settings import EngineSettings
from kilnctl.journal import Journal


class RunAborted(Exception):
    """The run was aborted (operator, prompt answer, or an alarm's safe action)."""

    def __init__(self, reason: str, outcome: str = "aborted") -> None:
        super().__init__(reason)
        self.reason = reason
        self.outcome = outcome


def journal_event(journal: Journal, event: Event) -> None:
    """Write one event of its run (`event.run_id`) into the journal."""
    if isinstance(event, Sample):
        journal.record_sample(event.run_id, event.seq, event.t, event.source, event.values)
        return
    data = event.to_dict()
    for key in ("kind", "run_id", "t"):
        data.pop(key)
    journal.record_event(event.run_id, event.t, event.kind, data)


class RunContext:
    """Per-run plumbing. Units read the pending commands on each tick."""

    def __init__(
        self,
        run_id: str,
        clock: Clock,
        journal: Journal | None,
        publish: Callable[[Event], None],
        settings: EngineSettings,
        keeper: SafeKeeper | None = None,
    ) -> None:
        self.run_id = run_id
        self.clock = clock
        self.journal = journal
        self.settings = settings
        self._publish = publish
        self.alarms = AlarmBook(run_id, self.emit, clock.wall_time)
        self.keeper = keeper or SafeKeeper(
            clock,
            publish,
            retry_min_s=settings.safe_retry_min_s,
            retry_max_s=settings.safe_retry_max_s,
        )
        """The engine's keeper of devices whose safe state is unconfirmed."""
        self.paused = False
        self.abort_reason: str | None = None
        self.abort_outcome = "aborted"
        self.skip_requests = 0
        self.extend_s = 0.0
        self.seq: dict[str, int] = {}
        self.sampled_at: dict[str, float] = {}
        """Unix time of each source's last sample (heldbaths: one bath read a period)."""
        self.step_index = 0
        self.step_state: dict[str, Any] = {}
        """The current unit's resumable state, written at each checkpoint."""
        self.step_state_fn: Callable[[], dict[str, Any]] | None = None
        """Or a function giving it, called only when a checkpoint is written."""
        self.standby_state_fn: Callable[[], dict[str, Any]] | None = None
        """The resumable state of a kiln held hot between a job's firings, if any."""
        self.results: list[dict[str, Any]] = []
        self._prompts: dict[str, asyncio.Future[str]] = {}
        self._prompt_ids = itertools.count(1)
        self._last_checkpoint = -float("inf")

    # ------------------------------------------------------------------ events

    def emit(self, event: Event) -> None:
        """Journal the event, then hand it to subscribers."""
        if self.journal is not None:
            journal_event(self.journal, event)
        self._publish(event)

    def now(self) -> float:
        return self.clock.wall_time()

    def sample(self, source: str, values: dict[str, float], t: float | None = None) -> Sample:
        """Emit a sample (taken at Unix time t, default now) with the next seq number."""
        seq = self.seq.get(source, 0) + 1
        self.seq[source] = seq
        event = Sample(self.run_id, self.now() if t is None else t, source, seq, values)
        self.sampled_at[source] = event.t
        self.emit(event)
        return event

    def state(self, source: str, state: str, reason: str = "") -> None:
        self.emit(StateChanged(self.run_id, self.now(), source, state, reason))

    def notice(self, source: str, topic: str, message: str) -> None:
        self.emit(Notice(self.run_id, self.now(), source, topic, message))

    async def make_safe(self, device: Any, why: str) -> bool:
        """Put a device safe; True once confirmed by read-back. Otherwise the keeper
        holds it (alarm unsafe_device on this run's record) and retries until confirmed."""
        return await self.keeper.make_safe(device, why, run_id=self.run_id, emit=self.emit)

    # ------------------------------------------------------------------ commands

    def operator(self, who: str, action: str, detail: str = "") -> None:
        self.emit(OperatorAction(self.run_id, self.now(), who, action, detail))

    def request_abort(self, reason: str, outcome: str = "aborted") -> None:
        """Abort the run at its next check (open prompts are answered "abort"); the first
        request's reason and outcome are the run's."""
        if self.abort_reason is None:
            self.abort_reason = reason
            self.abort_outcome = outcome
        for fut in self._prompts.values():
            if not fut.done():
                fut.set_result("abort")

    def check_abort(self) -> None:
        if self.abort_reason is not None:
            raise RunAborted(self.abort_reason, self.abort_outcome)

    def take_skip(self) -> bool:
        if self.skip_requests:
            self.skip_requests -= 1
            return True
        return False

    def take_extend(self) -> float:
        seconds, self.extend_s = self.extend_s, 0.0
        return seconds

    # ------------------------------------------------------------------ prompts

    async def ask(self, text: str, choices: tuple[str, ...] = ("ok", "abort")) -> str:
        """Raise a prompt and wait for its answer; "abort" aborts the run."""
        self.check_abort()
        prompt_id = f"p{next(self._prompt_ids)}"
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._prompts[prompt_id] = fut
        self.emit(PromptRaised(self.run_id, self.now(), prompt_id, text, choices))
        if self.settings.auto_answer:
            self.answer(prompt_id, choices[0], "auto")
        try:
            answer = await fut
        finally:
            self._prompts.pop(prompt_id, None)
        if answer == "abort":
            self.check_abort()
            raise RunAborted(f"operator answered abort to: {text}")
        return answer

    def answer(self, prompt_id: str, answer: str, who: str) -> bool:
        fut = self._prompts.get(prompt_id)
        if fut is None or fut.done():
            return False
        self.emit(PromptAnswered(self.run_id, self.now(), prompt_id, answer, who))
        fut.set_result(answer)
        return True

    @property
    def open_prompts(self) -> list[str]:
        return [p for p, f in self._prompts.items() if not f.done()]

    # ------------------------------------------------------------------ checkpoints

    def checkpoint_state(self) -> dict[str, Any]:
        """What a resume needs: the step and its unit's state, sample numbering, results
        so far, and whether the operator had paused the run (it resumes paused)."""
        state = {
            "paused": self.paused,
            "step_index": self.step_index,
            "step_state": self.step_state_fn() if self.step_state_fn else self.step_state,
            "seq": dict(self.seq),
            "results": self.results,
        }
        if self.standby_state_fn is not None:
            state["standby"] = self.standby_state_fn()
        return state

    def maybe_checkpoint(self, force: bool = False) -> None:
        """Commit a checkpoint every settings.checkpoint_s (or now, when forced)."""
        if self.journal is None:
            return
        t = self.clock.now()
        if force or t - self._last_checkpoint >= self.settings.checkpoint_s:
            self._last_checkpoint = t
            self.journal.checkpoint(self.run_id, self.now(), self.checkpoint_state())
