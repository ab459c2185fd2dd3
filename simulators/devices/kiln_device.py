"""What every simulated kiln-side device shares: a KilnModel, the door, and (for
controllers) the controller loop that runs its own PID on the model, its input range and
its PV display."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from simulators.devices.registers import SimulatedDevice
from simulators.physics.control_loop import ControlLoop
from simulators.physics.controller_pid import PIDGains
from simulators.physics.kiln import KilnModel, KilnParams


class KilnDevice(SimulatedDevice):
    """A device wired to a simulated kiln; faults: tc_open, element_failure, stuck_relay."""

    def __init__(
        self,
        unit: int,
        *,
        time_fn: Callable[[], float],
        seed: int = 0,
        params: KilnParams | None = None,
        **kiln_params: Any,
    ) -> None:
        """`kiln_params`: KilnParams fields overriding `params` (or the defaults)."""
        params = dataclasses.replace(params or KilnParams(), **kiln_params)
        self.kiln = KilnModel(params, time_fn, seed)
        super().__init__(unit, self.kiln)
        self.time_fn = time_fn

    def set_door(self, open_: bool) -> None:
        """Open or shut the kiln door (large heat loss while open)."""
        self._sync()
        self.kiln.set_door(open_)

    def _sync(self) -> None:
        self.kiln.sync()


class ControllerDevice(KilnDevice):
    """A temperature controller that runs its own PID loop on the kiln.

    `range_lo_c` / `range_hi_c` are the input range (PV is clamped to it and reads the high
    limit on a sensor break); `alarm1_c` the alarm-1 (high) threshold. Subclasses set their
    model's range defaults as RANGE_LO_C / RANGE_HI_C. Other keywords go to KilnDevice.
    """

    RANGE_LO_C = -200.0
    RANGE_HI_C = 1372.0

    def __init__(
        self,
        unit: int,
        *,
        gains: PIDGains | None = None,
        range_lo_c: float | None = None,
        range_hi_c: float | None = None,
        alarm1_c: float = 1100.0,
        **kiln_device_args: Any,
    ) -> None:
        super().__init__(unit, **kiln_device_args)
        self.loop = ControlLoop(self.kiln, self.time_fn, gains)
        self.range_lo_c = self.RANGE_LO_C if range_lo_c is None else range_lo_c
        self.range_hi_c = self.RANGE_HI_C if range_hi_c is None else range_hi_c
        self.alarm1_c = alarm1_c

    def _sync(self) -> None:
        self.loop.sync()

    def pv_c(self) -> float:
        """PV as the controller displays it: clamped to the input range, and the range high
        limit on a sensor break."""
        pv = self.kiln.measured_c()
        if pv is None:
            return self.range_hi_c
        return min(self.range_hi_c, max(self.range_lo_c, pv))
