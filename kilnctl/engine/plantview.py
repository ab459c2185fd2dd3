"""The plant config seen from the engine: kilns and tanks bound to their open devices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kilnctl.engine.firing import KilnSetup
from kilnctl.engine.output_watchdog import no_watchdog_refusal, watchdog_timeout_s
from kilnctl.engine.pid import PidGains
from kilnctl.engine.plating import TankSetup


class PlantError(Exception):
    """A kiln, tank or device the run needs is not configured or not open."""


def _device(devices: Mapping[str, object], name: str | None, what: str) -> Any:
    if name is None or name not in devices:
        raise PlantError(
            f"{what}: device {name!r} is not open (open: {', '.join(sorted(devices)) or 'none'})"
        )
    return devices[name]


def _gains(kiln: Any) -> PidGains:
    pid = getattr(kiln, "pid", None)
    source = pid if pid is not None else kiln
    values = {
        k: float(v)
        for k in ("kp", "ki", "kd", "kff", "bias_pct")
        if (v := getattr(source, k, None)) is not None
    }
    return PidGains(**values)


def kiln_setup(plant: Any, devices: Mapping[str, object], name: str | None) -> KilnSetup:
    """The kiln called `name` (or the only kiln, when name is None)."""
    kilns: Mapping[str, Any] = getattr(plant, "kilns", {}) or {}
    if name is None:
        if len(kilns) != 1:
            raise PlantError(f"say which kiln (configured: {', '.join(sorted(kilns)) or 'none'})")
        name = next(iter(kilns))
    if name not in kilns:
        raise PlantError(
            f"kiln {name!r} is not in the plant config "
            f"(configured: {', '.join(sorted(kilns)) or 'none'})"
        )
    kiln = kilns[name]
    controller = _device(devices, kiln.controller, f"kiln {name}")
    mode = str(getattr(kiln, "mode", "setpoint"))
    allow_no_watchdog = bool(getattr(kiln, "allow_no_watchdog", False))
    if mode == "direct" and not allow_no_watchdog and watchdog_timeout_s(controller) is None:
        raise PlantError(no_watchdog_refusal(name, controller))
    return KilnSetup(
        name=name,
        controller=controller,
        mode=mode,
        max_temp_c=getattr(kiln, "max_temp_c", None),
        gains=_gains(kiln),
        allow_no_watchdog=allow_no_watchdog,
    )


def tank_setups(plant: Any, devices: Mapping[str, object]) -> dict[str, TankSetup]:
    """Every tank whose rectifier is open."""
    tanks: dict[str, TankSetup] = {}
    for name, tank in (getattr(plant, "tanks", {}) or {}).items():
        if tank.rectifier not in devices:
            continue
        heater = getattr(tank, "heater", None)
        band = getattr(tank, "bath_band_c", None) or getattr(tank, "bath_temp_c", None)
        tanks[name] = TankSetup(
            name=name,
            rectifier=_device(devices, tank.rectifier, f"tank {name}"),
            heater=_device(devices, heater, f"tank {name} heater") if heater else None,
            max_current_a=getattr(tank, "max_current_a", None),
            max_voltage_v=getattr(tank, "max_voltage_v", None),
            bath_band_c=(float(band[0]), float(band[1])) if band else None,
        )
    return tanks


def devices_of(plant: Any, kilns: list[str | None], tank_names: list[str]) -> set[str]:
    """Device names a run will drive (to refuse a second run on a busy device)."""
    used: set[str] = set()
    all_kilns: Mapping[str, Any] = getattr(plant, "kilns", {}) or {}
    for k in kilns:
        if k is None and len(all_kilns) == 1:
            k = next(iter(all_kilns))
        if k is not None and k in all_kilns:
            used.add(all_kilns[k].controller)
    all_tanks: Mapping[str, Any] = getattr(plant, "tanks", {}) or {}
    for t in tank_names:
        if t in all_tanks:
            used.add(all_tanks[t].rectifier)
    return used


def devices_read(plant: Any, tank_names: list[str]) -> set[str]:
    """Devices a run only reads (the tanks' bath heaters): a process still needs their
    line to itself, so a run claims them with the devices it drives (kilnctl.claims)."""
    all_tanks: Mapping[str, Any] = getattr(plant, "tanks", {}) or {}
    heaters = (getattr(all_tanks[t], "heater", None) for t in tank_names if t in all_tanks)
    return {h for h in heaters if h}
