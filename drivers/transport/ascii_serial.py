"""Plain ASCII serial transport for devices without terminators (Korad KA3005P).

Pacing: such units drop a command that comes too soon after the previous one (community
notes give 50-100 ms; sigrok's korad-kaxxxxp protocol.c keeps DEVICE_PROCESSING_TIME_MS =
80 between requests, py-korad-serial's koradserial.py sleeps 100 ms before each send), so
every command waits `gap_s` (80 ms by default, `gap_ms` in the URL) after the end of the
previous exchange. Stray bytes: input is flushed before each command, and after a timeout
or a reply the driver found wrong, the line is first read until it has been quiet for the
idle gap, so a late or extra byte is never taken as the start of the next answer.

pyserial runs in a worker thread (asyncio.to_thread) rather than on the loop via
add_reader: pyserial already sets the line up through termios and its URL handlers
(socket://, rfc2217://) the same way for every kind of line, and blocking reads with a
timeout make the framing of unterminated replies plain code: a reply ends at its expected
length or after a short idle gap. These devices answer a few times a second, so one thread
hop per request costs nothing that matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable

import serial

from drivers.address import DeviceAddress
from drivers.errors import DeviceError, DeviceTimeout, Disconnected
from drivers.protocols import DeviceHealth

DEFAULT_TIMEOUT_S = 0.5
MAX_REPLY = 256
"""Bound of a reply of unknown length (framed by the idle gap)."""
IDLE_GAP_S = 0.03
"""Silence that ends an unterminated reply (30 characters' time at 9600 baud)."""
DEFAULT_COMMAND_GAP_S = 0.08
"""Quiet time from the end of one exchange to the next command (sigrok: 80 ms)."""

SleepFn = Callable[[float], Awaitable[None]]


class AsciiSerialPort:
    """A serial line for one ASCII device; requests are serialised by a lock."""

    def __init__(
        self,
        address: DeviceAddress,
        name: str,
        *,
        idle_gap_s: float = IDLE_GAP_S,
        time_fn: Callable[[], float] = time.monotonic,
        sleep: SleepFn = asyncio.sleep,
    ) -> None:
        self.address = address
        self.name = name
        self.address_text = str(address)
        self.timeout_s = address.timeout_s if address.timeout_s is not None else DEFAULT_TIMEOUT_S
        self.retries = address.retries if address.retries is not None else 0
        self.gap_s = address.gap_s if address.gap_s is not None else DEFAULT_COMMAND_GAP_S
        self.idle_gap_s = idle_gap_s
        self.health = DeviceHealth()
        self._time = time_fn
        self.sleep = sleep
        self._lock = asyncio.Lock()
        self._port: serial.SerialBase | None = None
        self._last_end = -math.inf
        self._suspect = False
        """A late or stray byte may still come: drain before the next command."""

    def _open(self) -> serial.SerialBase:
        if self._port is None:
            try:
                self._port = serial.serial_for_url(
                    self.address.device,
                    baudrate=self.address.baud,
                    bytesize=self.address.bytesize,
                    parity=self.address.parity,
                    stopbits=self.address.stopbits,
                    timeout=self.timeout_s,
                )
            except (serial.SerialException, ValueError) as exc:
                raise Disconnected(self.name, self.address_text, f"cannot open: {exc}") from None
        return self._port

    def _exchange(self, command: bytes, reply_len: int | None, drain: bool) -> bytes:
        port = self._open()
        try:
            if drain:
                self._drain(port)
            port.reset_input_buffer()
            port.write(command)
            port.flush()
            if reply_len == 0:
                return b""
            return self._read_reply(port, reply_len)
        except (serial.SerialException, OSError) as exc:
            self._drop()
            raise Disconnected(self.name, self.address_text, f"line error: {exc}") from None

    def _drain(self, port: serial.SerialBase) -> None:
        """Read and drop until the line has been quiet for the idle gap (at most the
        timeout): a late reply after a timeout, or a stray byte after a reply."""
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            port.timeout = self.idle_gap_s
            if not port.read(max(1, port.in_waiting)):
                return

    def _read_reply(self, port: serial.SerialBase, reply_len: int | None) -> bytes:
        # Wait up to the timeout for the first byte, then take what arrives until the
        # expected length (a pause inside a reply of known length is waited out up to the
        # timeout: cutting "1.250" to "1." would read as 1.0 A), or, for a reply of unknown
        # length, until an idle gap. pyserial's inter_byte_timeout is not honoured by its
        # POSIX read(), hence the loop.
        deadline = time.monotonic() + self.timeout_s
        limit = reply_len or MAX_REPLY
        reply = bytearray()
        while len(reply) < limit:
            remaining = deadline - time.monotonic()
            wait = min(self.idle_gap_s, remaining) if reply and reply_len is None else remaining
            if wait <= 0:
                break
            port.timeout = wait
            chunk = port.read(min(max(1, port.in_waiting), limit - len(reply)))
            if not chunk:
                break
            reply += chunk
        return bytes(reply)

    def _drop(self) -> None:
        if self._port is not None:
            port, self._port = self._port, None
            # Already broken; the next request reopens.
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    async def send(self, command: str) -> None:
        """Send a command that has no reply."""
        await self._request(command, 0)

    async def query(self, command: str, reply_len: int | None = None) -> str:
        """Send a query and return its unterminated reply (framed by length or idle gap)."""
        return await self._request(command, reply_len)

    async def _request(self, command: str, reply_len: int | None) -> str:
        self.health.requests += 1
        error: DeviceError | None = None
        async with self._lock:
            for _attempt in range(self.retries + 1):
                wait_s = self._last_end + self.gap_s - self._time()
                if wait_s > 0:
                    await self.sleep(wait_s)
                start = self._time()
                drain, self._suspect = self._suspect, False
                try:
                    raw = await self._in_thread(command.encode(), reply_len, drain)
                except Disconnected as exc:
                    error = exc
                    continue
                finally:
                    self._last_end = self._time()
                if reply_len != 0 and not raw:
                    self._suspect = True
                    error = DeviceTimeout(self.name, self.address_text, f"no reply to {command!r}")
                    continue
                self.health.succeeded(self.name, self.address_text, self._time() - start)
                return raw.decode("ascii", errors="replace")
        assert error is not None
        self.note_error(error)
        raise error

    async def _in_thread(self, command: bytes, reply_len: int | None, drain: bool) -> bytes:
        work = asyncio.ensure_future(asyncio.to_thread(self._exchange, command, reply_len, drain))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            # The worker thread still owns the port: keep the lock until it is done, or the
            # next request (the safe() in a `finally`) would share the line with it and one
            # of them would read the other's reply.
            await asyncio.wait((work,))
            if not work.cancelled():
                work.exception()  # the caller is gone; nobody else will look at it
            raise

    def note_error(self, error: DeviceError) -> None:
        """Count an error found above the transport (e.g. an unparseable reply); the next
        command drains the line first, in case the reply was not the one asked for."""
        self._suspect = True
        self.health.failed(error)

    def close(self) -> None:
        """Close the port (the next request reopens it)."""
        self._drop()
