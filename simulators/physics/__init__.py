"""Physics of the simulated plant: kiln thermal model, plating cell, controller loop."""

from __future__ import annotations

from simulators.physics.control_loop import ControlLoop
from simulators.physics.controller_pid import PID, PIDGains
from simulators.physics.faults import FaultSet
from simulators.physics.kiln import KILN_FAULTS, KilnModel, KilnParams
from simulators.physics.plating import (
    RECTIFIER_FAULTS,
    OperatingPoint,
    PlatingCell,
    PlatingParams,
    default_bath_params,
)

__all__ = [
    "KILN_FAULTS",
    "PID",
    "RECTIFIER_FAULTS",
    "ControlLoop",
    "FaultSet",
    "KilnModel",
    "KilnParams",
    "OperatingPoint",
    "PIDGains",
    "PlatingCell",
    "PlatingParams",
    "default_bath_params",
]
