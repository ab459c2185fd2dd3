"""Plain ASCII serial transport for devices without terminators (Korad KA3005P).

pyserial runs in a worker thread (asyncio.to_thread) rather than on the loop via
add_reader: pyserial already sets the line up through termios and its URL handlers
(socket://, rfc2217://) and frames unterminated replies for us with `inter_byte_timeout`
(reply ends at the expected length or after a short idle gap). These devices answer a few
times a second, so one thread hop per request costs nothing that matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import serial

from drivers.address import DeviceAddress
from drivers.errors import DeviceError, DeviceTimeout, Disconnected
from drivers.protocols import DeviceHealth

DEFAULT_TIMEOUT_S = 0.5
IDLE_GAP_S = 0.03
"""Silence that ends an unterminated reply (30 characters' time at 9600 baud)."""

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
        self.idle_gap_s = idle_gap_s
        self.health = DeviceHealth()
        self._time = time_fn
        self.sleep = sleep
        self._lock = asyncio.Lock()
        self._port: serial.SerialBase | None = None

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
                    inter_byte_timeout=self.idle_gap_s,
                )
            except (serial.SerialException, ValueError) as exc:
                raise Disconnected(self.name, self.address_text, f"cannot open: {exc}") from None
        return self._port

    def _exchange(self, command: bytes, reply_len: int | None) -> bytes:
        port = self._open()
        try:
            port.reset_input_buffer()
            port.write(command)
            port.flush()
            if reply_len == 0:
                return b""
            # read() returns at reply_len bytes, after an idle gap once data started, or at
            # the overall timeout; 256 bounds an unknown-length reply.
            return bytes(port.read(reply_len or 256))
        except (serial.SerialException, OSError) as exc:
            self._drop()
            raise Disconnected(self.name, self.address_text, f"line error: {exc}") from None

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
                start = self._time()
                try:
                    raw = await asyncio.to_thread(self._exchange, command.encode(), reply_len)
                except Disconnected as exc:
                    error = exc
                    continue
                if reply_len != 0 and not raw:
                    error = DeviceTimeout(self.name, self.address_text, f"no reply to {command!r}")
                    continue
                self.health.last_latency_s = self._time() - start
                self.health.consecutive_errors = 0
                return raw.decode("ascii", errors="replace")
        assert error is not None
        self.note_error(error)
        raise error

    def note_error(self, error: DeviceError) -> None:
        """Count an error found above the transport (e.g. an unparseable reply)."""
        self.health.errors += 1
        self.health.consecutive_errors += 1
        self.health.last_error = str(error)

    def close(self) -> None:
        self._drop()
