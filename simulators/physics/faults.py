"""Named device faults a tester can inject into a simulated device at runtime, and the
fault interface (`inject` / `clear` / `faults`) every simulated device shares."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class FaultSet:
    """The active faults of one simulated device, restricted to the names it supports."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed: frozenset[str] = frozenset(allowed)
        self.active: set[str] = set()

    def _check(self, fault: str) -> None:
        if fault not in self.allowed:
            allowed = ", ".join(sorted(self.allowed))
            raise ValueError(f"unknown fault {fault!r}; allowed: {allowed}")

    def inject(self, fault: str) -> None:
        """Make `fault` active (idempotent)."""
        self._check(fault)
        self.active.add(fault)

    def clear(self, fault: str | None = None) -> None:
        """Clear one fault, or all of them when `fault` is None."""
        if fault is None:
            self.active.clear()
            return
        self._check(fault)
        self.active.discard(fault)

    def __contains__(self, fault: object) -> bool:
        return fault in self.active


class Faulty(Protocol):
    """A physics model with named device faults (KilnModel, PlatingCell)."""

    faults: FaultSet

    def inject(self, fault: str) -> None: ...

    def clear(self, fault: str | None = None) -> None: ...


class FaultAccess:
    """The fault interface of a simulated device, delegated to its physics model: the
    device first brings its physics (and its controller, if any) up to now with `_sync`,
    so a fault starts at the instant it is injected."""

    def __init__(self, model: Faulty) -> None:
        self._fault_model = model

    @property
    def faults(self) -> set[str]:
        """Names of the active device faults."""
        return set(self._fault_model.faults.active)

    def inject(self, fault: str) -> None:
        """Activate a device fault; ValueError listing the allowed names if unknown."""
        self._sync()
        self._fault_model.inject(fault)

    def clear(self, fault: str | None = None) -> None:
        """Clear one device fault, or all when None."""
        self._sync()
        self._fault_model.clear(fault)

    def _sync(self) -> None:
        """Bring the physics up to now (devices whose model syncs itself need nothing)."""
