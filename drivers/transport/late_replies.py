"""Replies a serial line still owes: after a timeout on Modbus RTU, the unit's late reply
may yet arrive, and RTU frames carry nothing that ties a reply to its request.

pymodbus (3.16.1, transaction/transaction.py) resolves a request with the first valid frame
from the addressed unit. So a reply that comes after its request timed out is taken for the
*next* request to that unit, and every later request gets its predecessor's reply for as
long as the line stays busy: a status word read as the auto/manual register, a PV block as
the setpoint. The Modbus over Serial Line spec (V1.02 §2.4.1) has the master treat a reply
after its response timeout as an error; here that becomes: a unit that owes replies is not
asked anything *different* until they have arrived (and been dropped) or could no longer
arrive (LATE_REPLY_HORIZON_S after the request). The same request may be repeated at once
(a retry): a late reply to an identical request is a valid answer to it.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

LATE_REPLY_HORIZON_S = 1.5
"""How long after a request its reply is still expected. Real units answer within tens of
ms; a reply later than this is beyond what the drain waits for (the reply check then still
catches one of another function code or size). A unit that is dead, not late, costs this
wait before each different request to it (other units on the line go on meanwhile)."""


@dataclass
class _Owed:
    key: Hashable
    """The request whose replies are owed (unit, function, address, count/value)."""
    count: int
    until: float
    """Time after which none of them can arrive any more."""


class LateReplies:
    """Per-unit count of replies owed on one serial line, with their horizon."""

    def __init__(self, horizon_s: float = LATE_REPLY_HORIZON_S) -> None:
        self.horizon_s = horizon_s
        self._owed: dict[int, _Owed] = {}
        self.dropped = 0
        """Late replies seen and dropped (for health and tests)."""

    def timed_out(self, unit: int, key: Hashable, sent_at: float) -> None:
        """A request sent at `sent_at` got no (acceptable) reply: its reply is owed."""
        owed = self._owed.get(unit)
        until = sent_at + self.horizon_s
        if owed is None or owed.key != key:
            # A different request can only be pending past a drain's horizon: forget it.
            self._owed[unit] = _Owed(key, 1, until)
        else:
            owed.count += 1
            owed.until = until

    def arrived(self, unit: int) -> None:
        """A frame from `unit` arrived that answered nothing asked now: one owed reply less."""
        owed = self._owed.get(unit)
        self.dropped += 1
        if owed is None:
            return
        owed.count -= 1
        if owed.count <= 0:
            del self._owed[unit]

    def must_wait(self, unit: int, key: Hashable, now: float) -> float:
        """Seconds to wait before asking `unit` the request `key` (0: ask now). Replies owed
        for an identical request do not hold it up."""
        owed = self._owed.get(unit)
        if owed is None:
            return 0.0
        if now >= owed.until:
            del self._owed[unit]
            return 0.0
        return 0.0 if owed.key == key else owed.until - now

    def owes(self, unit: int) -> int:
        """How many replies `unit` still owes."""
        owed = self._owed.get(unit)
        return owed.count if owed is not None else 0

    def forget(self, unit: int) -> None:
        """The horizon passed: nothing more will come."""
        self._owed.pop(unit, None)
