"""Asyncio client of the service: requests with replies matched by id, and the event stream.

    client = await ServiceClient.connect(path)
    status = await client.request("status")
    await client.request("subscribe")
    async for event in client.events(): ...

`ServiceUnavailable` when nothing listens or the connection is lost; `RequestFailed`
carries the service's error message for a request it refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from kilnctl.service.protocol import MAX_LINE, encode, is_reply


class ServiceUnavailable(Exception):
    """No service answers on the socket, or the connection was lost."""


class RequestFailed(Exception):
    """The service refused a request; str() is its message for the user."""


_CLOSED: dict[str, Any] = {"kind": "__closed__"}


class ServiceClient:
    """One connection to the service."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._closed = False
        self._reader_task = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(cls, path: str | Path, timeout_s: float = 5.0) -> ServiceClient:
        """Connect to the service at `path`."""
        try:
            async with asyncio.timeout(timeout_s):
                reader, writer = await asyncio.open_unix_connection(str(path), limit=MAX_LINE * 16)
        except (OSError, TimeoutError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "no answer"
            raise ServiceUnavailable(
                f"no kilnctl service on {path} ({why}): start one with `kilnctl serve`"
            ) from None
        return cls(reader, writer)

    @property
    def connected(self) -> bool:
        """False once the connection is lost or closed."""
        return not self._closed

    async def request(self, op: str, timeout_s: float = 10.0, **args: Any) -> dict[str, Any]:
        """Send a request and return its reply; RequestFailed if the service said no."""
        if self._closed:
            raise ServiceUnavailable("not connected to the service")
        req_id = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = fut
        try:
            self._writer.write(encode({"id": req_id, "op": op, **args}))
            await self._writer.drain()
            async with asyncio.timeout(timeout_s):
                reply = await fut
        except (ConnectionError, TimeoutError) as exc:
            await self._lost()
            raise ServiceUnavailable(
                f"connection to the service lost ({exc or 'no reply'})"
            ) from None
        finally:
            self._pending.pop(req_id, None)
        if not reply.get("ok"):
            raise RequestFailed(str(reply.get("error", "request refused")))
        return reply

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Streamed events (after a "subscribe"), until the connection ends."""
        while True:
            event = await self._events.get()
            if event is _CLOSED:
                return
            yield event

    async def _read(self) -> None:
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    break
                try:
                    message = json.loads(line)
                except ValueError:
                    continue  # not ours to crash on; the service never sends this
                if not isinstance(message, dict):
                    continue
                if is_reply(message):
                    fut = self._pending.get(message.get("id"))  # type: ignore[arg-type]
                    if fut is not None and not fut.done():
                        fut.set_result(message)
                else:
                    self._events.put_nowait(message)
        except (ConnectionError, ValueError):
            pass
        finally:
            self._mark_closed()

    def _mark_closed(self) -> None:
        if self._closed:
            return
        self._closed = True
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ConnectionResetError("the service closed the connection"))
        self._events.put_nowait(_CLOSED)

    async def _lost(self) -> None:
        self._mark_closed()
        self._writer.close()

    async def __aenter__(self) -> ServiceClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # closed on every way out, a failed assertion or a cancel included: a socket left
        # to the garbage collector warns (an error under the tests) wherever it is collected
        await self.close()

    async def close(self) -> None:
        """Close the connection (the service and its runs go on)."""
        self._mark_closed()
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
        self._reader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader_task
