"""Cutting the power when the device's own output cannot: a welded relay or SSR, an output
stage driving current while commanded off.

A kiln may have a contactor in its mains feed that kilnctl can switch (an output of an I/O
module, in the plant config). Opening it is the one action that stops a welded relay from
heating; it counts only when read back open. Without one, only a person can cut the power.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from drivers.errors import DeviceError

log = logging.getLogger(__name__)


class Contactor(Protocol):
    """A mains contactor kilnctl can switch off."""

    name: str

    async def open(self) -> None:
        """Switch the contactor off (de-energise its coil). Raises DeviceError."""

    async def is_closed(self) -> bool:
        """Read back whether the contactor is closed (power on). Raises DeviceError."""


async def cut_power(contactor: Contactor | None, what: str) -> str:
    """Open `contactor` and read it back; returns what the operator must know and do
    (never raises: the caller is putting a plant safe)."""
    cut = f"cut the mains power to {what} now (isolator or breaker)"
    if contactor is None:
        return f"no contactor configured: {cut}"
    try:
        await contactor.open()
        closed = await contactor.is_closed()
    except DeviceError as exc:
        log.error("could not open the contactor %s of %s: %s", contactor.name, what, exc)
        return f"contactor {contactor.name} did not answer ({exc}): {cut}"
    except Exception as exc:  # a driver bug or a device that is no contactor: still say it
        log.exception("opening the contactor %s of %s raised", contactor.name, what)
        return f"contactor {contactor.name} failed ({type(exc).__name__}: {exc}): {cut}"
    if closed:
        return f"contactor {contactor.name} reads back CLOSED after opening it: {cut}"
    return (
        f"contactor {contactor.name} opened (read back open); keep {what} off until the "
        "relay is replaced"
    )


def contactor_of(kiln: Any, devices: Mapping[str, object]) -> Contactor | None:
    """The open contactor device a kiln's plant config names (`contactor`), if any."""
    name = getattr(kiln, "contactor", None)
    device = devices.get(name) if name else None
    return device if device is not None else None  # type: ignore[return-value]
