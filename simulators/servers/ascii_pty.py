"""The Korad KA3005P's plain-ASCII serial protocol on a pseudo-terminal.

Commands and replies carry no terminator. The device object frames the byte stream
(`split`) and answers complete commands (`handle`); this server adds the line and the
timing: replies are paced at the baud rate (9600 by default), a set command (anything
without "?") leaves the device busy for `busy_after_set_s` (50 ms, what the KA3005P needs
before it takes the next command). Commands that arrive while it is busy are queued and
answered after the busy time — gentler than some real units, which drop them; a client
that waits ~50 ms after a set, as DEVICES.md advises, sees no difference. Bytes the device
cannot frame are handed over as one command after `idle_gap_s` of silence (how the real
unit ends a trailing "VSET1:12.50"); unknown commands get silence, as on the real unit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from pathlib import Path
from typing import Protocol

from simulators.device import WireFaults
from simulators.servers.pty_port import PtyPort, line_time_s
from simulators.servers.wire_faults import apply_wire_faults

log = logging.getLogger(__name__)


class AsciiDevice(Protocol):
    """What the server needs from an unterminated-ASCII device such as KoradKA3005P."""

    def handle(self, command: bytes) -> bytes | None: ...

    def split(self, buffer: bytes) -> tuple[list[bytes], bytes]: ...


class AsciiPtyServer:
    """Serve an unterminated-ASCII device on a new pty; `path` is where to connect."""

    def __init__(
        self,
        device: AsciiDevice,
        *,
        baud: int = 9600,
        busy_after_set_s: float = 0.050,
        idle_gap_s: float = 0.020,
        link: str | Path | None = None,
        seed: int = 0,
    ) -> None:
        self.device = device
        self.baud = baud
        self.busy_after_set_s = busy_after_set_s
        self.idle_gap_s = idle_gap_s
        existing = getattr(device, "wire", None)
        self.wire: WireFaults = existing if isinstance(existing, WireFaults) else WireFaults()
        """Wire faults of this device (its own, if the device object carries one)."""
        self._link = link
        self._rng = random.Random(seed)
        self._port: PtyPort | None = None
        self._pending = b""
        self._idle_timer: asyncio.TimerHandle | None = None
        self._commands: asyncio.Queue[bytes] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Create the pty and start serving."""
        self._port = PtyPort(self._link)
        self._port.start_reading(self._on_data)
        self._worker = asyncio.create_task(self._answer_commands())

    @property
    def path(self) -> str:
        """The serial device path clients open (the symlink if one was asked for)."""
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port.address

    @property
    def url(self) -> str:
        """The device address in kilnctl's URL form."""
        return f"serial://{self.path}?baud={self.baud}"

    async def close(self) -> None:
        """Stop serving and remove the pty."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._port is not None:
            self._port.close()
            self._port = None

    def _on_data(self, data: bytes) -> None:
        commands, self._pending = self.device.split(self._pending + data)
        for command in commands:
            self._commands.put_nowait(command)
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._pending:
            self._idle_timer = asyncio.get_running_loop().call_later(
                self.idle_gap_s, self._flush_pending
            )

    def _flush_pending(self) -> None:
        self._idle_timer = None
        if self._pending:
            self._commands.put_nowait(self._pending)
            self._pending = b""

    async def _answer_commands(self) -> None:
        loop = asyncio.get_running_loop()
        busy_until = 0.0
        while True:
            command = await self._commands.get()
            if busy_until > loop.time():
                await asyncio.sleep(busy_until - loop.time())
            if self.wire.no_response:
                continue  # the command never reaches the device
            try:
                reply = self.device.handle(command)
            except Exception:
                # A bug in a device model must not stop the line: log it, answer nothing.
                log.exception("simulated device failed on command %r", command)
                continue
            if b"?" not in command:
                busy_until = loop.time() + self.busy_after_set_s
            if not reply:
                continue
            out = apply_wire_faults(self.wire, reply, self._rng)
            if out is None:
                continue
            await asyncio.sleep(out.delay_s + line_time_s(len(out.data), self.baud))
            assert self._port is not None
            await self._port.write(out.data)
