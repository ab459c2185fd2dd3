"""What every simulated kiln-side device shares: a KilnModel, the door, and (for
controllers) the controller loop that runs its own PID on the model."""

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
    """A temperature controller that runs its own PID loop on the kiln."""

    def __init__(
        self,
        unit: int,
        *,
        time_fn: Callable[[], float],
        seed: int = 0,
        params: KilnParams | None = None,
        gains: PIDGains | None = None,
        **kiln_params: Any,
    ) -> None:
        super().__init__(unit, time_fn=time_fn, seed=seed, params=params, **kiln_params)
        self.loop = ControlLoop(self.kiln, time_fn, gains)

    def _sync(self) -> None:
        self.loop.sync()
