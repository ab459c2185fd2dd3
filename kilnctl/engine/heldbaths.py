"""The bath heaters a run holds are sampled for the whole run, not only while it plates.

A run claims its tanks' bath heaters from its start (plantview.devices_read): the plant
watch then leaves them alone, so between two plating steps (a rinse, a firing of the same
job) nobody else reads them. Without this the bath would show the watch's last reading,
ever older, for as long as the job fires. Each control period every held heater is read
once, unless the plating step sampled that bath within the period (it reads its own bath
every tick, for its band interlock): one read per heater per period either way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from drivers.errors import DeviceError
from kilnctl.engine.plantview import PlantError, _device
from kilnctl.engine.runtime import RunContext

log = logging.getLogger(__name__)


def bath_source(tank: str) -> str:
    """The run samples' source name of tank `tank`'s bath (e.g. "gold.bath")."""
    return f"{tank}.bath"


def held_heaters(
    plant: Any, devices: Mapping[str, object], tank_names: list[str]
) -> dict[str, Any]:
    """{tank name: its open heater device} for the run's tanks that have a heater."""
    tanks: Mapping[str, Any] = getattr(plant, "tanks", {}) or {}
    held: dict[str, Any] = {}
    for name in tank_names:
        heater = getattr(tanks.get(name), "heater", None)
        if heater:
            try:
                held[name] = _device(devices, heater, f"tank {name} heater")
            except PlantError:
                continue  # not open: the plating step refuses on it, with that reason
    return held


async def sample_held_baths(ctx: RunContext, heaters: Mapping[str, Any], period_s: float) -> None:
    """Every `period_s` (clock seconds), sample each held heater as source "<tank>.bath":
    {"bath_c": °C}, the plating step's own form (a "tank" series in telemetry, not a kiln's:
    its SP and output are the watch's to show between runs). A heater that does not answer
    is skipped (its last sample ages, and is shown old). Runs until cancelled."""
    next_t = ctx.clock.now()
    while True:
        for tank, heater in heaters.items():
            source = bath_source(tank)
            last = ctx.sampled_at.get(source)
            if last is not None and ctx.now() - last < period_s:
                continue  # the plating step sampled it this period
            try:
                reading = await heater.read()
            except DeviceError as exc:
                log.debug("run %s: bath of %s: %s", ctx.run_id, tank, exc)
                continue
            ctx.sample(source, {"bath_c": reading.pv_c})
        next_t += period_s
        await ctx.clock.sleep_until(next_t)
