"""A subscriber's bounded event feed: the engine never waits for a slow client.

Events are queued without blocking; when the queue is full the oldest event goes and
the count of lost events is kept, so the client is told "dropped N" before the next one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from kilnctl.service.protocol import DROPPED


class EventFeed:
    """Bounded queue of event dicts for one client, with a drop counter."""

    def __init__(self, maxsize: int = 1000) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        self._queue: deque[dict[str, Any]] = deque(maxlen=maxsize)
        self._ready = asyncio.Event()
        self.dropped = 0
        """Events lost since the last notice."""
        self.dropped_total = 0

    def put(self, event: dict[str, Any]) -> None:
        """Queue an event; never blocks (the oldest goes when full)."""
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
            self.dropped_total += 1
        self._queue.append(event)
        self._ready.set()

    async def get(self) -> dict[str, Any]:
        """The next message: a "dropped" notice first if events were lost."""
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        if self.dropped:
            notice = {"kind": DROPPED, "count": self.dropped}
            self.dropped = 0
            return notice
        return self._queue.popleft()

    def __len__(self) -> int:
        return len(self._queue)
