"""The Korad KA3005P's plain-ASCII serial protocol on a pseudo-terminal.

Commands and replies carry no terminator. The device object frames the byte stream
(`split`) and answers complete commands (`handle`); this server adds the line and the
timing: replies are paced at the baud rate (9600 by default). After each command the unit
is deaf for `command_gap_s` (50 ms, counted from the end of its reply, or of the command
when there is none): bytes that arrive while it is busy or deaf are dropped, as real units
drop commands sent too quickly (sigrok's korad-kaxxxxp driver keeps 80 ms between
requests, py-korad-serial sleeps 100 ms before each). Two commands sent in one write are
therefore one answered and one lost. A device may add bytes after a reply (`trailer`:
the KA3005P's stray sixth byte after ISET1?), sent a character time later. Bytes the device
cannot frame are handed over as one command after `idle_gap_s` of silence (how the real
unit ends a trailing "VSET1:12.50"); unknown commands get silence, as on the real unit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
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

    def trailer(self, command: bytes) -> bytes: ...


class AsciiPtyServer:
    """Serve an unterminated-ASCII device on a new pty; `path` is where to connect."""

    def __init__(
        self,
        device: AsciiDevice,
        *,
        baud: int = 9600,
        command_gap_s: float = 0.050,
        idle_gap_s: float = 0.020,
        link: str | Path | None = None,
        seed: int = 0,
    ) -> None:
        self.device = device
        self.baud = baud
        self.command_gap_s = command_gap_s
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
        self._deaf_until = 0.0
        """Loop time before which arriving bytes are dropped (inf while busy)."""
        self.dropped = 0
        """Bytes dropped because they came while the unit was busy or deaf."""

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
        if asyncio.get_running_loop().time() < self._deaf_until:
            self.dropped += len(data)
            return
        commands, self._pending = self.device.split(self._pending + data)
        if commands:
            self._take(commands)
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._pending:
            self._idle_timer = asyncio.get_running_loop().call_later(
                self.idle_gap_s, self._flush_pending
            )

    def _take(self, commands: list[bytes]) -> None:
        """The unit takes the first command; what came with it is lost while it is busy."""
        self._commands.put_nowait(commands[0])
        self.dropped += sum(len(c) for c in commands[1:]) + len(self._pending)
        self._pending = b""
        self._deaf_until = math.inf

    def _flush_pending(self) -> None:
        self._idle_timer = None
        if self._pending:
            self._take([self._pending])

    async def _answer_commands(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            command = await self._commands.get()
            try:
                await self._answer(command)
            finally:
                self._deaf_until = loop.time() + self.command_gap_s

    async def _answer(self, command: bytes) -> None:
        if self.wire.no_response:
            return  # the command never reaches the device
        try:
            reply = self.device.handle(command)
            trailer = self.device.trailer(command) if reply else b""
        except Exception:
            # A bug in a device model must not stop the line: log it, answer nothing.
            log.exception("simulated device failed on command %r", command)
            return
        if not reply:
            return
        out = apply_wire_faults(self.wire, reply, self._rng)
        if out is None:
            return
        assert self._port is not None
        await asyncio.sleep(out.delay_s + line_time_s(len(out.data), self.baud))
        await self._port.write(out.data)
        if trailer:
            await asyncio.sleep(line_time_s(len(trailer), self.baud))
            await self._port.write(trailer)
