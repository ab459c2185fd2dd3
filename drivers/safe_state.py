"""The `safe()` contract shared by drivers: try to make the device safe; every failure
raises a DeviceError, so a caller can tell a device made safe from one still live and retry.
(It once raised only the first of consecutive failures: a second, failed safe() then looked
like success, and a kiln whose safe write timed out twice was recorded as safe.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from drivers.errors import DeviceError


class SafeAction:
    """Wraps a driver's safe-state action; `failed` tells whether the last attempt failed."""

    def __init__(self, action: Callable[[], Awaitable[None]]) -> None:
        self._action = action
        self.failed = False

    async def __call__(self) -> None:
        """Run the safe action; a failure raises (callers retry and report: make_safe)."""
        try:
            await self._action()
        except DeviceError:
            self.failed = True
            raise
        self.failed = False


class RectifierSafeState:
    """Mixin for rectifier drivers: safe() turns the output off, then the current setpoint
    to 0 (output first: it is what stops plating)."""

    _safe_action: SafeAction | None = None

    async def disable(self) -> None:
        raise NotImplementedError

    async def set_current(self, amps: float) -> None:
        raise NotImplementedError

    async def safe(self) -> None:
        """Output off, current setpoint 0."""
        if self._safe_action is None:
            self._safe_action = SafeAction(self._output_off)
        await self._safe_action()

    async def _output_off(self) -> None:
        await self.disable()
        await self.set_current(0.0)
