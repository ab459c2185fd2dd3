"""Resume after a crash or power cut (docs/process.md): continue only if the outage was short
and the PV is still near the schedule; otherwise stop and say why.

A resumed firing goes on from the setpoint it last sent, not from where the elapsed time
would put it: the kiln was not controlled during the outage, so the schedule neither
ramps nor soaks through it (no setpoint jump; the run takes longer by the outage)."""

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
    schedule: FiringSchedule,
    now: float,
    pv_c: float,
    settings: EngineSettings,
    last_pv_c: float | None = None,
) -> str | None:
    """Why a restored schedule may not go on at `now` with the kiln at `pv_c` (None: it
    may). The outage runs from the schedule's last advance (the last control period before
    it) to now. The schedule goes on from the setpoint it last sent (the outage is not run
    through: `FiringSchedule.continue_at`), so that is where the PV must still be near.
    `last_pv_c`: the PV at the checkpoint (None in checkpoints of older versions)."""
    checkpoint_t = schedule.state.t if schedule.state.t is not None else now
    refusal = outage_refusal(checkpoint_t, now, settings)
    if refusal is not None:
        return refusal
    sp = schedule.sp_c
    # A "max" ramp puts the setpoint at the target at once and the kiln heats at full power
    # behind it: any PV below the target is where that schedule should be.
    # Where such a schedule is, is where the PV was when the run died: a kiln that cooled
    # more than the band meanwhile is as far from its schedule as a rate ramp's would be
    # (before, any fall passed: 15 min at 780 °C, ~60 °C lost, resumed without a word).
    heating_at_max = schedule.heating and schedule.segment.rate_c_per_h is None and pv_c <= sp
    if heating_at_max and last_pv_c is not None and last_pv_c - pv_c > settings.resume_band_c:
        return (
            f"PV {pv_c:.1f} °C fell {last_pv_c - pv_c:.1f} °C during the outage (from "
            f"{last_pv_c:.1f} °C, in a full-power heat-up), more than "
            f"{settings.resume_band_c:.0f} °C: stopped safely"
        )
    if not heating_at_max and abs(pv_c - sp) > settings.resume_band_c:
        return (
            f"PV {pv_c:.1f} °C is {abs(pv_c - sp):.1f} °C from the setpoint the run would go "
            f"on from ({sp:.1f} °C), more than {settings.resume_band_c:.0f} °C: stopped safely"
        )
    return None
