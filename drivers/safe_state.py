"""The `safe()` contract shared by drivers: try to make the device safe; on a dead line
raise once (so the caller learns of it), then stay quiet on repeated calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from drivers.errors import DeviceError


class SafeAction:
    """Wraps a driver's safe-state action with the raise-at-most-once rule."""

    def __init__(self, action: Callable[[], Awaitable[None]]) -> None:
        self._action = action
        self._failed = False

    async def __call__(self) -> None:
        """Run the safe action; raise only the first of consecutive failures."""
        try:
            await self._action()
        except DeviceError:
            if self._failed:
                return  # already reported; callers call safe() in `finally` blocks
            self._failed = True
            raise
        self._failed = False


class RectifierSafeState:
    """Mixin for rectifier drivers: safe() turns the output off, then the current setpoint
    to 0 (output first: it is what stops plating), with the raise-at-most-once rule."""

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
