"""A direct kiln's output watchdog: the I/O module's own timer that drops the SSR duty to
its fail-safe value when kilnctl stops writing (killed, crashed, powered off). Nothing
else can take the heat off then, so a direct firing needs one, unless the plant config
says `allow_no_watchdog = true` for that kiln.

A controller offers it with `watchdog_timeout_s` (seconds, None: no watchdog) and
`arm_watchdog()` (configure it and read it back), as drivers.direct_kiln.DirectKiln does.
"""

from __future__ import annotations

from typing import Any


def watchdog_timeout_s(controller: Any) -> float | None:
    """The controller's output watchdog timeout, None when it has none."""
    timeout = getattr(controller, "watchdog_timeout_s", None)
    return (
        None
        if timeout is None or not callable(getattr(controller, "arm_watchdog", None))
        else float(timeout)
    )


def no_watchdog_refusal(kiln: str, controller: Any) -> str:
    """Why a direct firing on `kiln` is refused, and the two ways out."""
    device = getattr(controller, "name", "its controller")
    source = getattr(controller, "map_source", None)
    where = f"its register map {source} has no [watchdog] table" if source else "it has none"
    return (
        f"kiln {kiln}: direct mode needs the I/O module's communication watchdog to drop "
        f"the SSR output if kilnctl dies, and device {device} offers none ({where}); "
        f"describe the module's watchdog registers in its map, or set "
        f"allow_no_watchdog = true under [kilns.{kiln}] to run without one"
    )


async def arm_watchdog(controller: Any) -> float | None:
    """Arm the controller's output watchdog; its timeout, or None when it has none.
    DeviceError when the module does not take or confirm the settings."""
    timeout = watchdog_timeout_s(controller)
    if timeout is not None:
        await controller.arm_watchdog()
    return timeout
