"""Engine settings: periods, comms and resume rules, interlock thresholds (all configurable)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kilnctl.engine.interlocks import KilnLimits, TankLimits


def _material_limits() -> dict[str, float]:
    # Zamak 3 melts at 381-387 °C: a zinc-alloy lot never sees a kiln step above ~350 °C.
    return {"zinc_alloy": 350.0}


@dataclass(frozen=True)
class EngineSettings:
    """How runs behave; defaults follow docs/process.md where it gives a number."""

    period_s: float = 1.0
    """Control period (the plant's sample period)."""
    checkpoint_s: float = 0.0
    """Time between checkpoints of a run's resumable state; 0: every control period, so a
    resumed run goes on from the setpoint it last sent (a checkpoint is one small commit)."""
    comms_error_limit: int = 3
    """Consecutive device errors before the schedule is held (comms_loss alarm)."""
    comms_stop_s: float = 60.0
    """Errors lasting this long stop the run with devices safe (comms_lost alarm)."""
    safe_retry_min_s: float = 1.0
    safe_retry_max_s: float = 4.0
    """A device whose safe state is not confirmed is retried after retry_min_s, the gap
    doubling up to retry_max_s, until it is (engine.safekeeper)."""
    resume_max_outage_s: float = 15 * 60.0
    resume_band_c: float = 28.0
    """On resume, |PV - where the schedule should be| must be within this."""
    catchup_band_c: float | None = 15.0
    reach_band_c: float = 2.0
    cool_stall_c: float = 1.0
    cool_stall_s: float = 30 * 60.0
    """A cooling segment waiting for the PV to fall ends (with a notice) once the PV fell
    less than cool_stall_c in cool_stall_s: the kiln has stopped cooling (a target at or
    below room temperature). 1 °C in 30 min is ~2 °C/h, which a kiln cooling freely
    reaches only about 10 °C above its room (a 5-h time constant near room temperature)."""
    free_cool_limit_s: float | None = None
    """A free-cooling ("max" rate) segment ends after this long even if still cooling."""
    seek_start: bool = True
    kiln_limits: KilnLimits = field(default_factory=KilnLimits)
    tank_limits: TankLimits = field(default_factory=TankLimits)
    material_max_c: dict[str, float] = field(default_factory=_material_limits)
    auto_answer: bool = False
    """Answer every prompt "ok" at once (dry runs)."""
    subscriber_queue: int = 1000
