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
