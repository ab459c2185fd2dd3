"""What one or two reads of a plant's devices show is wrong, without an engine or a run:
for `kilnctl devices`, run standalone. The service's plant watch (kilnctl.engine.watch)
judges the same conditions continuously, with a longer history.

* a kiln's PV above its rated max_temp;
* a kiln whose PV rose by KilnLimits.stuck_rise_c or more between two reads `sample_s`
  apart with the output at 0 both times (stuck relay; a slow rise needs the watch's
  longer window);
* a rectifier passing current with its output off.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kilnctl.engine.interlocks import KilnLimits
from kilnctl.engine.watch import above_rating, current_with_output_off

DEFAULT_SAMPLE_S = 2.0
"""Seconds between the two reads of an idle kiln."""


def _is_temperature(reading: Any) -> bool:
    return hasattr(reading, "pv_c") and hasattr(reading, "output_pct")


def idle_kiln_controllers(plant: Any, readings: Mapping[str, Any]) -> list[str]:
    """Kiln controllers read with the output at 0 (worth a second read)."""
    lim = KilnLimits()
    names = []
    for kiln in plant.kilns.values():
        reading = readings.get(kiln.controller)
        if reading is None or not _is_temperature(reading):
            continue
        if reading.output_pct <= lim.stuck_output_pct:
            names.append(kiln.controller)
    return names


def plant_alarms(
    plant: Any,
    first: Mapping[str, Any],
    second: Mapping[str, Any],
    sample_s: float,
    limits: KilnLimits | None = None,
) -> dict[str, list[str]]:
    """Device name -> what is wrong with it, from the first reads and (for idle kilns)
    the second ones."""
    lim = limits or KilnLimits()
    found: dict[str, list[str]] = {}
    for kiln_name, kiln in plant.kilns.items():
        a = first.get(kiln.controller)
        if a is None or not _is_temperature(a) or a.sensor_break:
            continue
        b = second.get(kiln.controller, a)
        problems = found.setdefault(kiln.controller, [])
        hot = above_rating(b.pv_c, kiln.max_temp_c)
        if hot is not None:
            problems.append(f"over-temperature: kiln {kiln_name} {hot}")
        rise = b.pv_c - a.pv_c
        idle = max(a.output_pct, b.output_pct) <= lim.stuck_output_pct
        if b is not a and idle and rise >= lim.stuck_rise_c:
            problems.append(
                f"stuck relay: kiln {kiln_name} PV rose {rise:.1f} °C in {sample_s:g} s with "
                "output 0 %: cut its mains power"
            )
    for tank_name, tank in plant.tanks.items():
        reading = first.get(tank.rectifier)
        if reading is None or _is_temperature(reading):
            continue
        stuck_on = current_with_output_off(reading, tank.max_current_a)
        if stuck_on is not None:
            found.setdefault(tank.rectifier, []).append(
                f"output stuck on: tank {tank_name} {stuck_on}"
            )
    return {name: problems for name, problems in found.items() if problems}
