"""Simulated devices on their real register maps; `build` makes one by kind name.

Kiln kinds (eurotherm3216, omron_e5cc, io_module) accept any KilnParams field as a keyword
(e.g. `load_mass_kg=2.0`) or a whole `params=KilnParams(...)`; rectifier kinds (riden,
generic_rectifier) accept PlatingParams fields or `params=PlatingParams(...)`. Other
keywords go to the device class (e.g. the Riden's `model="RD6012"`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from simulators.device import ModbusSlave
from simulators.devices.eurotherm3216 import Eurotherm3216
from simulators.devices.generic_rectifier import GenericRectifier
from simulators.devices.io_module import IOModule
from simulators.devices.omron_e5cc import OmronE5CC
from simulators.devices.riden import Riden
from simulators.physics.kiln import KilnParams
from simulators.physics.plating import PlatingParams

_CLASSES: dict[str, tuple[Callable[..., ModbusSlave], type[Any]]] = {
    "eurotherm3216": (Eurotherm3216, KilnParams),
    "omron_e5cc": (OmronE5CC, KilnParams),
    "io_module": (IOModule, KilnParams),
    "riden": (Riden, PlatingParams),
    "generic_rectifier": (GenericRectifier, PlatingParams),
}

KINDS: tuple[str, ...] = tuple(_CLASSES)
"""Device kinds `build` knows."""


def build(
    kind: str, *, unit: int, time_fn: Callable[[], float], seed: int = 0, **params: Any
) -> ModbusSlave:
    """A simulated device of `kind` answering as Modbus unit `unit`.

    ValueError for an unknown kind; TypeError for a keyword the device does not take.
    """
    if kind not in _CLASSES:
        raise ValueError(f"unknown device kind {kind!r}; known: {', '.join(KINDS)}")
    cls, params_cls = _CLASSES[kind]
    fields = {f.name for f in dataclasses.fields(params_cls)}
    physics = {k: params.pop(k) for k in list(params) if k in fields}
    if physics:
        if "params" in params:
            raise TypeError("give either params=... or its fields, not both")
        params["params"] = params_cls(**physics)
    device: ModbusSlave = cls(unit, time_fn=time_fn, seed=seed, **params)
    return device


__all__ = [
    "KINDS",
    "Eurotherm3216",
    "GenericRectifier",
    "IOModule",
    "OmronE5CC",
    "Riden",
    "build",
]
