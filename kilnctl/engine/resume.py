"""Resume after a crash or power cut (PROCESS.md): continue only if the outage was short
and the PV is still near where the schedule should be now; otherwise stop and say why."""

from __future__ import annotations

from kilnctl.engine.schedule import FiringSchedule
from kilnctl.engine.settings import EngineSettings


def outage_refusal(checkpoint_t: float, now: float, settings: EngineSettings) -> str | None:
    """Why a run may not resume after an outage from checkpoint_t to now (None: it may)."""
    outage = now - checkpoint_t
    if outage > settings.resume_max_outage_s:
        return (
            f"outage of {outage / 60:.1f} min is longer than "
            f"{settings.resume_max_outage_s / 60:.0f} min: stopped safely"
        )
    return None


def resume_refusal(
    schedule: FiringSchedule, now: float, pv_c: float, settings: EngineSettings
) -> str | None:
    """Advance a restored schedule through the outage to `now` (where it should be) and
    check the PV is near it. Returns why not to resume, or None."""
    checkpoint_t = schedule.state.t if schedule.state.t is not None else now
    refusal = outage_refusal(checkpoint_t, now, settings)
    if refusal is not None:
        return refusal
    # Outage time counts on ramps but not as guaranteed soak (pv=None would count it).
    paused = schedule.state.paused
    schedule.state.paused = False
    sp = schedule.advance(now, pv_c, catch_up=False)
    schedule.state.paused = paused
    # A "max" ramp puts the setpoint at the target at once and the kiln heats at full power
    # behind it: any PV below the target is where that schedule should be.
    heating_at_max = schedule.heating and schedule.segment.rate_c_per_h is None and pv_c <= sp
    if not heating_at_max and abs(pv_c - sp) > settings.resume_band_c:
        return (
            f"PV {pv_c:.1f} °C is {abs(pv_c - sp):.1f} °C from where the schedule should "
            f"be ({sp:.1f} °C), more than {settings.resume_band_c:.0f} °C: stopped safely"
        )
    return None
