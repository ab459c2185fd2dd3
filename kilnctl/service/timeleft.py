"""Time left in a plating run, from the event stream and the recipe.

The engine's plating events say which step started but not how it ends, so the service
looks the recipe up by name (the job's step `ref`, through its RecipeLibrary) and follows
the run's events: when a step's timer or current started, pauses, and the tank's samples
(amp-hours so far, present current). Estimates:

- timed step (clean, rinse, dip): its duration less the time since its timer started
  (the whole duration while the operator prompt before it is open);
- electro step ending by time: the same, on the plating time;
- electro step ending by amp-hours or thickness: (target Ah - Ah so far) / present current;
- the recipe: the step's estimate plus each later step at its nominal current.

Pauses stop the timers as they stop the engine's. Limitation: after a service restart a
resumed time-ended step counts from its resume, so its estimate is high by the time done.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from kilnctl.engine.plating import target_amp_hours
from kilnctl.recipes.loader import RecipeError
from kilnctl.recipes.models import Job, PlatingRecipe, PlatingStep

log = logging.getLogger(__name__)

MIN_CURRENT_FRACTION = 0.1
"""Below this share of the step's current (output off, soft start) the estimate uses the
step's nominal current instead of the reading."""


@dataclass(frozen=True)
class TimeLeft:
    """Seconds left in the current plating step and in its whole recipe."""

    step_s: float
    recipe_s: float | None
    """None when a later step's length is not known (no current for it)."""


def _clock_starts(step: PlatingStep, source: str, state: str) -> bool:
    """The engine says "timing" (timed step, source = step name) or "plating" (electro
    step, source = tank) when the step's clock starts."""
    if step.kind == "timed":
        return source == step.name and state == "timing"
    return source == step.tank and state == "plating"


class PlatingProgress:
    """Follows one run's events; `estimate(now)` says the time left while plating."""

    def __init__(self, library: Any) -> None:
        self.library = library
        self.job: Job | None = None
        self.recipe: PlatingRecipe | None = None
        self.area_dm2 = 0.0
        self.index: int | None = None
        self.timer_started: float | None = None
        self.paused_since: float | None = None
        self.paused_s = 0.0
        self.amp_hours = 0.0
        self.amps: float | None = None

    # ------------------------------------------------------------------ events

    def apply(self, event: dict[str, Any]) -> None:
        """Update from one event (JSON form)."""
        kind = event.get("kind")
        if kind == "run_started":
            self._run_started(event["job_name"])
        elif kind == "step_started":
            self._job_step(event)
        elif kind == "plating_step_started":
            self.index = int(event["index"])
            self.timer_started, self.paused_since, self.paused_s = None, None, 0.0
            self.amp_hours, self.amps = 0.0, None
        elif kind == "plating_step_finished":
            self.index = None
        elif kind == "state":
            self._state(event)
        elif kind == "sample":
            step = self.step
            if step is not None and step.kind == "electro" and event["source"] == step.tank:
                values = event["values"]
                self.amp_hours = float(values.get("amp_hours", self.amp_hours))
                self.amps = float(values.get("amps", 0.0))

    def _run_started(self, job_name: str) -> None:
        recipe = self._get(job_name)
        if isinstance(recipe, Job):
            self.job, self.area_dm2 = recipe, recipe.lot.area_dm2
        elif isinstance(recipe, PlatingRecipe):
            self.recipe = recipe  # a bare recipe (no lot: the estimate uses fixed currents)

    def _job_step(self, event: dict[str, Any]) -> None:
        self.index = None
        if self.job is None:
            return
        index = int(event["index"])
        step = self.job.steps[index] if 0 <= index < len(self.job.steps) else None
        self.recipe = None
        if step is not None and step.kind == "plating" and step.ref is not None:
            recipe = self._get(step.ref)
            self.recipe = recipe if isinstance(recipe, PlatingRecipe) else None

    def _state(self, event: dict[str, Any]) -> None:
        step, t, source, state = self.step, float(event["t"]), event["source"], event["state"]
        if source == "run":
            if state == "paused" and self.paused_since is None:
                self.paused_since = t
            elif state != "paused" and self.paused_since is not None:
                self.paused_s += t - self.paused_since
                self.paused_since = None
        elif step is not None and self.timer_started is None and _clock_starts(step, source, state):
            self.timer_started, self.paused_s = t, 0.0

    def _get(self, name: str) -> Any:
        if self.library is None:
            return None
        try:
            return self.library.get(name)
        except RecipeError as exc:  # edited or removed since the start: no estimate
            log.info("no time-left estimate: recipe %s: %s", name, exc)
            return None

    # ------------------------------------------------------------------ estimates

    @property
    def step(self) -> PlatingStep | None:
        """The plating step going on, if any."""
        if self.recipe is None or self.index is None or self.index >= len(self.recipe.steps):
            return None
        return self.recipe.steps[self.index]

    def _elapsed(self, now: float) -> float:
        if self.timer_started is None:
            return 0.0
        paused = self.paused_s + (now - self.paused_since if self.paused_since is not None else 0)
        return max(0.0, now - self.timer_started - paused)

    def _nominal_s(self, step: PlatingStep) -> float | None:
        """A step's whole duration at its nominal current."""
        if step.kind == "timed":
            return step.duration_s
        if step.end is not None and step.end.time_s is not None:
            return step.end.time_s
        target = target_amp_hours(step, self.area_dm2)
        amps = step.current_for(self.area_dm2)
        if target is None or not amps:
            return None
        return target / amps * 3600.0

    def _step_left_s(self, step: PlatingStep, now: float) -> float | None:
        if step.kind == "timed" or (step.end is not None and step.end.time_s is not None):
            total = self._nominal_s(step)
            return None if total is None else max(0.0, total - self._elapsed(now))
        target = target_amp_hours(step, self.area_dm2)
        nominal = step.current_for(self.area_dm2) or 0.0
        amps = self.amps if self.amps and self.amps >= MIN_CURRENT_FRACTION * nominal else None
        amps = amps or nominal
        if target is None or amps <= 0:
            return None
        return max(0.0, target - self.amp_hours) / amps * 3600.0

    def amp_hours_target(self) -> dict[str, Any] | None:
        """The electro step going on, if it ends on charge: {"tank", "amp_hours" (the
        target, Ah: the step's own, or its thickness through Faraday's law as the engine
        ends it, plating.target_amp_hours), "so_far" (Ah, from the tank's samples)};
        None for a time-ended step or none going on."""
        step = self.step
        if step is None or step.kind != "electro" or step.tank is None:
            return None
        try:
            target = target_amp_hours(step, self.area_dm2)
        except ValueError:  # a thickness end with no lot area: the engine refuses it too
            return None
        if target is None:
            return None
        return {"tank": step.tank, "amp_hours": target, "so_far": self.amp_hours}

    def estimate(self, now: float) -> TimeLeft | None:
        """Time left at wall time `now`, or None when not plating or not known."""
        step = self.step
        if step is None or self.recipe is None or self.index is None:
            return None
        left = self._step_left_s(step, now)
        if left is None:
            return None
        rest = [self._nominal_s(s) for s in self.recipe.steps[self.index + 1 :]]
        total = left + sum(r for r in rest if r is not None)
        return TimeLeft(left, total if None not in rest else None)
