"""Simulated devices on their real register maps; `build` makes one by kind name.

Every keyword goes to the device class: kiln kinds (eurotherm3216, omron_e5cc, io_module)
take `params=KilnParams(...)` and/or single KilnParams fields overriding it (e.g.
`load_mass_kg=2.0`); rectifier kinds (riden, generic_rectifier) the same with PlatingParams
over the device's own defaults; plus the device's options (e.g. the Riden's
`model="RD6012"`, the Eurotherm's `remote_sp_timeout_s`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulators.devices.eurotherm3216 import Eurotherm3216
from simulators.devices.generic_rectifier import GenericRectifier
from simulators.devices.io_module import IOModule
from simulators.devices.omron_e5cc import OmronE5CC
from simulators.devices.registers import SimulatedDevice
from simulators.devices.riden import Riden

_CLASSES: dict[str, Callable[..., SimulatedDevice]] = {
    "eurotherm3216": Eurotherm3216,
    "omron_e5cc": OmronE5CC,
    "io_module": IOModule,
    "riden": Riden,
    "generic_rectifier": GenericRectifier,
}

KINDS: tuple[str, ...] = tuple(_CLASSES)
"""Device kinds `build` knows."""


def build(
    kind: str, *, unit: int, time_fn: Callable[[], float], seed: int = 0, **params: Any
) -> SimulatedDevice:
    """A simulated device of `kind` answering as Modbus unit `unit` (a ModbusSlave with
    `inject` / `clear` / `faults`; kiln kinds also have `set_door`).

    ValueError for an unknown kind; TypeError for a keyword the device does not take.
    """
    if kind not in _CLASSES:
        raise ValueError(f"unknown device kind {kind!r}; known: {', '.join(KINDS)}")
    device: SimulatedDevice = _CLASSES[kind](unit, time_fn=time_fn, seed=seed, **params)
    return device


__all__ = [
    "KINDS",
    "Eurotherm3216",
    "GenericRectifier",
    "IOModule",
    "OmronE5CC",
    "Riden",
    "SimulatedDevice",
    "build",
]
