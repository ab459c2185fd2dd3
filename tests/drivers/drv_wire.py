"""Test-side wire helpers: the test plays the device on a real pty or TCP socket and checks
the driver's request bytes against frames built here, independently of pymodbus."""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import tty
from collections.abc import AsyncIterator


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS, bit by bit (poly 0xA001 reflected, init 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def rtu(*parts: int | bytes) -> bytes:
    """An RTU frame from bytes/byte values, with its CRC appended low byte first."""
    body = b"".join(bytes([p]) if isinstance(p, int) else p for p in parts)
    return body + struct.pack("<H", crc16_modbus(body))


def fc03(unit: int, address: int, count: int) -> bytes:
    return rtu(unit, 0x03, struct.pack(">HH", address, count))


def fc03_reply(unit: int, words: list[int]) -> bytes:
    return rtu(unit, 0x03, 2 * len(words), struct.pack(f">{len(words)}H", *words))


def fc06(unit: int, address: int, value: int) -> bytes:
    """Request and echo reply are the same frame."""
    return rtu(unit, 0x06, struct.pack(">HH", address, value))


def fc16(unit: int, address: int, words: list[int]) -> bytes:
    return rtu(
        unit, 0x10, struct.pack(f">HHB{len(words)}H", address, len(words), 2 * len(words), *words)
    )


def fc16_reply(unit: int, address: int, count: int) -> bytes:
    return rtu(unit, 0x10, struct.pack(">HH", address, count))


def exception_reply(unit: int, fc: int, code: int) -> bytes:
    return rtu(unit, fc | 0x80, code)


def float_words(value: float) -> list[int]:
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return [hi, lo]


class PtyDevice:
    """The device end of a real pseudo-terminal pair in raw mode; `path` is for the driver."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self._buffer = bytearray()

    async def read_exactly(self, n: int, timeout_s: float = 3.0) -> bytes:
        """The next n bytes the driver sent."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout_s):
            while len(self._buffer) < n:
                ready: asyncio.Future[None] = loop.create_future()
                loop.add_reader(self.master, ready.set_result, None)
                try:
                    await ready
                finally:
                    loop.remove_reader(self.master)
                with contextlib.suppress(BlockingIOError):
                    self._buffer += os.read(self.master, 4096)
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    async def expect(self, request: bytes, reply: bytes | None) -> None:
        """Assert the driver sent exactly `request`; answer `reply` (None: stay silent)."""
        got = await self.read_exactly(len(request))
        assert got.hex(" ") == request.hex(" ")
        if reply is not None:
            self.write(reply)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


@contextlib.asynccontextmanager
async def pty_device() -> AsyncIterator[PtyDevice]:
    device = PtyDevice()
    try:
        yield device
    finally:
        device.close()


class MbapDevice:
    """A Modbus TCP device the test owns: requests checked byte by byte on the latest
    connection; `drop()` closes it, and the next `expect` waits for a reconnection."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self._current: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.connections = 0
        self.port = 0

    async def start(self) -> None:
        def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            self._accepted.put_nowait((reader, writer))

        self._server = await asyncio.start_server(accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def expect(self, unit: int, pdu: bytes, reply_pdu: bytes | None) -> int:
        """Assert the next request carries `pdu` for `unit` (MBAP checked); answer with
        `reply_pdu` under the same transaction id. Returns the transaction id."""
        if self._current is None:
            self._current = await asyncio.wait_for(self._accepted.get(), 3)
        reader, writer = self._current
        header = await asyncio.wait_for(reader.readexactly(7), 3)
        tid, proto, length, got_unit = struct.unpack(">HHHB", header)
        body = await reader.readexactly(length - 1)
        assert (proto, length, got_unit) == (0, len(pdu) + 1, unit)
        assert body.hex(" ") == pdu.hex(" ")
        if reply_pdu is not None:
            writer.write(struct.pack(">HHHB", tid, 0, len(reply_pdu) + 1, unit) + reply_pdu)
            await writer.drain()
        return tid

    async def drop(self) -> None:
        """Close the client's connection (as a device restarting would)."""
        if self._current is not None:
            self._current[1].close()
            self._current = None

    async def close(self) -> None:
        await self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


class SimTime:
    """Simulated seconds for a device model's physics, advanced by the test."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t
