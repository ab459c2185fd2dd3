"""Messages the service link posts to the app (the only way data reaches the widgets)."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class Connected(Message):
    """Attached to the service; `status` is the subscribe reply (a full snapshot)."""

    def __init__(self, status: dict[str, Any]) -> None:
        super().__init__()
        self.status = status


class Disconnected(Message):
    """The connection is gone (or never came); the link retries."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class ServiceEvent(Message):
    """One engine event (its JSON form) from the stream."""

    def __init__(self, event: dict[str, Any]) -> None:
        super().__init__()
        self.event = event
