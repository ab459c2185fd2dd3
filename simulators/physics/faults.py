"""Named device faults a tester can inject into a simulated device at runtime."""

from __future__ import annotations

from collections.abc import Iterable


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
