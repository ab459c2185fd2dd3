"""The engine's whole API: commands in, events out, as frozen dataclasses.

The CLI, the TUI and the service socket are all clients of these messages; `to_dict()`
gives the journal and JSON-lines form (with a `kind` key naming the message).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Message:
    """Base of commands and events; `kind` names the message in JSON and the journal."""

    kind: ClassVar[str] = "message"

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form with a `kind` key."""
        data = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {"kind": self.kind, **data}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class Command(Message):
    """A request from a user or a client."""

    kind: ClassVar[str] = "command"


@dataclass(frozen=True)
class StartJob(Command):
    """Start a job, firing profile or plating recipe by name (or pass the model itself).

    `kiln`/`tank` name the unit when the recipe is a bare profile or recipe; a job names
    its own kilns and its recipes name their tanks. `kilns`/`tanks` put those roles on
    other units of the plant: {name in the recipe ("" for an unnamed kiln): plant unit}
    (kilnctl.engine.units).
    """

    kind: ClassVar[str] = "start"
    ref: str
    lot_id: str = ""
    who: str = "operator"
    kiln: str | None = None
    tank: str | None = None
    kilns: dict[str, str] = field(default_factory=dict, compare=False)
    tanks: dict[str, str] = field(default_factory=dict, compare=False)
    recipe: Any = field(default=None, compare=False)
    """The recipe model itself, instead of looking `ref` up in the library."""
    lot: Any = field(default=None, compare=False)
    """The Lot for a bare plating recipe (a job carries its own)."""
    source: str | None = None
    """The recipe file it was started from, recorded so `resume` finds the job and its
    refs where `run` did (beside the file, then the profile folders)."""


@dataclass(frozen=True)
class RunCommand(Command):
    """A command aimed at one running run."""

    run_id: str
    who: str = "operator"


@dataclass(frozen=True)
class Pause(RunCommand):
    """Freeze the schedule (firing: setpoint held; plating: output off, time stops)."""

    kind: ClassVar[str] = "pause"


@dataclass(frozen=True)
class Resume(RunCommand):
    """Continue a paused run."""

    kind: ClassVar[str] = "resume"


@dataclass(frozen=True)
class SkipSegment(RunCommand):
    """Skip the rest of the current firing segment (or the current plating step)."""

    kind: ClassVar[str] = "skip"


@dataclass(frozen=True)
class ExtendHold(RunCommand):
    """Add `seconds` to the current (or next) hold."""

    kind: ClassVar[str] = "extend"
    seconds: float = 60.0


@dataclass(frozen=True)
class Abort(RunCommand):
    """Stop the run now; devices go safe."""

    kind: ClassVar[str] = "abort"
    reason: str = "operator abort"


@dataclass(frozen=True)
class AckAlarm(RunCommand):
    """Acknowledge an alarm (it stays listed until its condition clears)."""

    kind: ClassVar[str] = "ack"
    alarm_id: str = ""


@dataclass(frozen=True)
class AnswerPrompt(RunCommand):
    """Answer an operator prompt ("ok", "abort", or one of the prompt's choices)."""

    kind: ClassVar[str] = "answer"
    prompt_id: str = ""
    answer: str = "ok"


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Event(Message):
    """Something that happened in a run, at Unix time `t`."""

    kind: ClassVar[str] = "event"
    run_id: str
    t: float


@dataclass(frozen=True)
class RunStarted(Event):
    kind: ClassVar[str] = "run_started"
    job_name: str
    lot_id: str
    recipe_hashes: dict[str, str] = field(default_factory=dict)
    resumed: bool = False


@dataclass(frozen=True)
class Sample(Event):
    """One reading of a kiln or tank; `values` keys per the journal contract."""

    kind: ClassVar[str] = "sample"
    source: str
    seq: int
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StateChanged(Event):
    """Run or unit state: running, paused, holding (comms), finishing, ..."""

    kind: ClassVar[str] = "state"
    source: str
    state: str
    reason: str = ""


@dataclass(frozen=True)
class SegmentChanged(Event):
    """The firing schedule entered a new segment or phase (ramp/hold/done)."""

    kind: ClassVar[str] = "segment"
    source: str
    index: int
    phase: str
    target_c: float


@dataclass(frozen=True)
class StepStarted(Event):
    kind: ClassVar[str] = "step_started"
    index: int
    label: str
    step_kind: str
    step_count: int = 0
    """How many steps the job has (0: not said)."""
    unit: str = ""
    """The kiln, or the tanks, the step uses ("" for an operator prompt)."""


@dataclass(frozen=True)
class StepFinished(Event):
    """A job step (or plating step) ended; `details` holds what happened (Ah, µm, ...)."""

    kind: ClassVar[str] = "step_finished"
    index: int
    label: str
    outcome: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlatingStepStarted(StepStarted):
    """A step inside a plating recipe (index within the recipe; the job step is the parent)."""

    kind: ClassVar[str] = "plating_step_started"


@dataclass(frozen=True)
class PlatingStepFinished(StepFinished):
    """A plating recipe's step ended; details: amp_hours, thickness_um, durations."""

    kind: ClassVar[str] = "plating_step_finished"


@dataclass(frozen=True)
class AlarmRaised(Event):
    kind: ClassVar[str] = "alarm_raised"
    alarm_id: str
    source: str
    code: str
    severity: str
    action: str
    message: str


@dataclass(frozen=True)
class AlarmCleared(Event):
    kind: ClassVar[str] = "alarm_cleared"
    alarm_id: str
    source: str
    code: str


@dataclass(frozen=True)
class AlarmAcked(Event):
    kind: ClassVar[str] = "alarm_ack"
    alarm_id: str
    who: str


@dataclass(frozen=True)
class PromptRaised(Event):
    """The operator must answer (AnswerPrompt) before the run goes on."""

    kind: ClassVar[str] = "prompt"
    prompt_id: str
    text: str
    choices: tuple[str, ...] = ("ok", "abort")


@dataclass(frozen=True)
class PromptAnswered(Event):
    kind: ClassVar[str] = "prompt_answer"
    prompt_id: str
    answer: str
    who: str


@dataclass(frozen=True)
class OperatorAction(Event):
    """A command from a user was applied (pause/resume/skip/extend/abort)."""

    kind: ClassVar[str] = "operator"
    who: str
    action: str
    detail: str = ""


@dataclass(frozen=True)
class Notice(Event):
    """Informational line: dosing reminder, resume decision, ... (`topic` says which)."""

    kind: ClassVar[str] = "notice"
    source: str
    topic: str
    message: str


@dataclass(frozen=True)
class RunFinished(Event):
    """outcome: completed | aborted | failed | stopped."""

    kind: ClassVar[str] = "run_finished"
    outcome: str
    reason: str = ""
