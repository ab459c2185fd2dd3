"""Helpers for the protocol-server tests: a register-bank slave and pty/TCP byte clients."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import struct

from simulators.device import ModbusSlave, SlaveException


class FrozenTime:
    """Simulated time that moves only when the test says so (`now`, seconds)."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RegisterBank(ModbusSlave):
    """A plain device: `size` holding registers, register i starts at `base + i`."""

    def __init__(self, unit: int, size: int = 100, base: int = 0) -> None:
        super().__init__(unit)
        self.registers = [(base + i) & 0xFFFF for i in range(size)]

    def read_holding(self, address: int, count: int) -> list[int]:
        if address + count > len(self.registers):
            raise SlaveException(2)
        return self.registers[address : address + count]

    def write_register(self, address: int, value: int) -> None:
        if address >= len(self.registers):
            raise SlaveException(2)
        self.registers[address] = value


def crc_bytes(frame: bytes) -> bytes:
    """CRC-16/MODBUS computed bit by bit from the spec (independent of simulators.frames)."""
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return struct.pack("<H", crc)


def rtu(frame_hex: str) -> bytes:
    """An RTU frame from hex (address + PDU) with its CRC appended."""
    frame = bytes.fromhex(frame_hex)
    return frame + crc_bytes(frame)


class PtyClient:
    """The master's end of a serial line: opens the slave path, reads with timeouts."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    async def read(self, n: int, timeout_s: float = 2.0) -> bytes:
        """Up to `n` bytes: returns early when `n` arrived, else what came before timeout."""
        loop = asyncio.get_running_loop()
        got = bytearray()
        done: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            try:
                got.extend(os.read(self.fd, n - len(got)))
            except BlockingIOError:
                return
            if len(got) >= n and not done.done():
                done.set_result(None)

        loop.add_reader(self.fd, readable)
        try:
            await asyncio.wait_for(done, timeout_s)
        except TimeoutError:
            pass
        finally:
            loop.remove_reader(self.fd)
        return bytes(got)

    async def transact(self, request: bytes, reply_len: int, timeout_s: float = 2.0) -> bytes:
        self.write(request)
        return await self.read(reply_len, timeout_s)

    def close(self) -> None:
        os.close(self.fd)


class TcpClient:
    """A raw Modbus TCP client over a real socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int) -> TcpClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def transact(self, request: bytes, reply_len: int, timeout_s: float = 2.0) -> bytes:
        self.writer.write(request)
        await self.writer.drain()
        return await asyncio.wait_for(self.reader.readexactly(reply_len), timeout_s)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


class FaultyBank(RegisterBank):
    """A register bank with the device-fault interface of the simulated devices."""

    FAULTS = ("tc_open", "element_failure")

    def __init__(self, unit: int) -> None:
        super().__init__(unit)
        self.faults: set[str] = set()
        self.door_open = False

    def inject(self, fault: str) -> None:
        if fault not in self.FAULTS:
            raise ValueError(f"unknown fault {fault!r}; allowed: {', '.join(self.FAULTS)}")
        self.faults.add(fault)

    def clear(self, fault: str | None = None) -> None:
        if fault is None:
            self.faults.clear()
        else:
            self.faults.discard(fault)

    def set_door(self, is_open: bool) -> None:
        self.door_open = is_open


class TinyAsciiSupply:
    """A stand-in unterminated-ASCII supply: queries end at "?", sets end by idle time."""

    def __init__(self) -> None:
        self.volts = 0.0

    def split(self, buffer: bytes) -> tuple[list[bytes], bytes]:
        """A command ends after "?" or where the next command starts."""
        commands = []
        while True:
            next_starts = [buffer.find(p, 1) for p in (b"*IDN?", b"VSET1")]
            query_end = buffer.find(b"?") + 1
            ends = [i for i in [*next_starts, query_end] if i > 0]
            if not ends:
                return commands, buffer
            commands.append(buffer[: min(ends)])
            buffer = buffer[min(ends) :]

    def trailer(self, command: bytes) -> bytes:
        return b""

    def handle(self, command: bytes) -> bytes | None:
        if command == b"*IDN?":
            return b"KORAD KA3005P V5.5 SN:00000001"
        if command.startswith(b"VSET1:"):
            self.volts = float(command[6:])
            return None
        if command == b"VSET1?":
            return f"{self.volts:05.2f}".encode()
        return None


async def run_mbpoll(binary: str, *args: str) -> tuple[int, dict[int, str], str]:
    """Run Debian's mbpoll once with `args` (mode, target, options, values to write);
    (exit code, register -> value read, everything it printed)."""
    proc = await asyncio.create_subprocess_exec(
        binary, "-1", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 20)
    text = out.decode()
    values = {int(reg): value for reg, value in re.findall(r"^\[(\d+)\]:\s+(\S+)", text, re.M)}
    return proc.returncode or 0, values, text
