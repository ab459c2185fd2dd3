"""A pseudo-terminal the simulator owns: the device side of a serial line, and line timing.

The simulator keeps both ends open, so a client may open and close the slave path
(e.g. /dev/pts/5) as often as it likes without the master seeing EIO.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Callable
from pathlib import Path

BITS_PER_CHAR = 11
"""Start + 8 data + parity + stop: the Modbus RTU character (a missing parity bit is
replaced by a second stop bit), also used for 8N1 ASCII devices as a slight over-estimate."""


def line_time_s(n_bytes: float, baud: int) -> float:
    """Seconds that `n_bytes` characters take on a serial line at `baud`."""
    return n_bytes * BITS_PER_CHAR / baud


class PtyPort:
    """A raw-mode pty: the simulator reads requests from and writes replies to its master."""

    def __init__(self, link: str | Path | None = None) -> None:
        self._master, self._slave = os.openpty()
        # Raw mode: no echo, no CR/LF translation, no signal characters — binary-safe.
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        """The slave path a client opens, e.g. /dev/pts/5."""
        self.link = Path(link) if link is not None else None
        if self.link is not None:
            self.link.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            self.link.symlink_to(self.path)
        self._closed = False

    @property
    def address(self) -> str:
        """The path clients should use: the stable symlink if there is one."""
        return str(self.link) if self.link is not None else self.path

    def start_reading(self, on_data: Callable[[bytes], None]) -> None:
        """Call `on_data` from the running event loop with each chunk that arrives."""
        asyncio.get_running_loop().add_reader(self._master, self._read_ready, on_data)

    def _read_ready(self, on_data: Callable[[bytes], None]) -> None:
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # EIO: cannot happen while we hold the slave open; stop quietly
            asyncio.get_running_loop().remove_reader(self._master)
            return
        if data:
            on_data(data)

    async def write(self, data: bytes) -> None:
        """Write all of `data`, waiting for room if the pty buffer is full."""
        view = memoryview(data)
        while view and not self._closed:
            try:
                written = os.write(self._master, view)
            except BlockingIOError:
                await self._writable()
                continue
            view = view[written:]

    async def _writable(self) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_writer(self._master, wake)
        try:
            await ready
        finally:
            loop.remove_writer(self._master)

    def close(self) -> None:
        """Stop reading, close both ends and remove the symlink."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(RuntimeError):  # no running loop: nothing registered
            asyncio.get_running_loop().remove_reader(self._master)
        os.close(self._master)
        os.close(self._slave)
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
