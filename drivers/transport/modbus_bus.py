"""One Modbus bus per serial line or TCP endpoint, shared by every device on it.

pymodbus does the framing; this layer adds what process control needs and pymodbus's
defaults lack: short timeouts (a dead device is reported within about a second, not after
pymodbus's ~12 s stall), bounded retries, a quiet gap between transactions, reconnect with
backoff, per-device health, and typed errors instead of library exceptions.

Every reply is checked against its request (unit, function code, register count or write
echo): pymodbus 3.16.1 checks only the unit on RTU, so a stray frame of the same unit would
be taken as the answer. A mismatch is a FrameError and is retried. On a serial line a
timeout leaves a reply owed (late_replies.LateReplies): the next different request to that
unit waits until the late reply has come and been dropped, so one slow reply costs one
request instead of shifting every later reply onto the wrong request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerRTU, FramerType
from pymodbus.pdu import DecodePDU, ModbusPDU

from drivers.address import DeviceAddress
from drivers.errors import (
    DeviceError,
    DeviceTimeout,
    Disconnected,
    FrameError,
    ModbusExceptionError,
    WriteNotConfirmed,
)
from drivers.protocols import DeviceHealth
from drivers.transport.late_replies import LateReplies

# pymodbus logs every timeout at ERROR; with no handler configured Python's last-resort
# handler would print them on the user's terminal. Our typed errors carry the news instead.
logging.getLogger("pymodbus").addHandler(logging.NullHandler())

DEFAULT_TIMEOUT_S = 0.4
DEFAULT_RETRIES = 1
MIN_RTU_GAP_S = 0.002
"""Quiet time between a reply and the next request on a serial line: at least the
3.5-character RTU inter-frame silence, and never under Omron's 2 ms minimum."""


def rtu_gap_s(baud: int) -> float:
    """Default inter-transaction gap of a serial line at `baud` (11 bits per character)."""
    return max(3.5 * 11 / baud, MIN_RTU_GAP_S)


RECONNECT_MIN_S = 0.1
RECONNECT_MAX_S = 5.0
DRAIN_STEP_S = 0.005
"""How often a drain looks whether the owed replies have arrived."""

TimeFn = Callable[[], float]
SleepFn = Callable[[float], Awaitable[None]]
Client = AsyncModbusTcpClient | AsyncModbusSerialClient
ReplyCheck = Callable[[ModbusPDU], str | None]
"""What is wrong with a reply to this request (None: it answers it)."""


class ModbusBus:
    """A Modbus master on one line. Requests are serialised by an asyncio.Lock because a
    line has one master and pymodbus correlates RTU replies by arrival order."""

    def __init__(
        self,
        address: DeviceAddress,
        *,
        time_fn: TimeFn = time.monotonic,
        sleep: SleepFn = asyncio.sleep,
    ) -> None:
        self.line = address.line
        self.timeout_s = address.timeout_s if address.timeout_s is not None else DEFAULT_TIMEOUT_S
        self.retries = address.retries if address.retries is not None else DEFAULT_RETRIES
        default_gap = 0.0 if address.scheme == "modbus-tcp" else rtu_gap_s(address.baud)
        self.gap_s = address.gap_s if address.gap_s is not None else default_gap
        self._time = time_fn
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._turns: dict[int, asyncio.Lock] = {}
        """Per unit: whose turn it is among the requests to it (`_take_line`)."""
        self._last_end = 0.0
        self._rx_seen = False
        self._backoff_s = RECONNECT_MIN_S
        self._next_connect_at = 0.0
        self._address = address
        self.late = LateReplies() if address.scheme == "modbus-rtu" else None
        """Replies owed on a serial line (TCP matches replies by transaction id)."""
        self._awaiting: int | None = None
        """Unit of the request now on the line, until its first frame arrives."""
        # pymodbus clients bind to the running loop when built, so the client is built at
        # the first request; a bus can then be opened outside a loop (e.g. from config).
        self._client: Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.users = 0
        """How many device links hold this bus (the bus registry closes it at zero)."""

    def _build_client(self) -> Client:
        client = self._make_client(self._address)
        # pymodbus drops a TCP connection after a few unanswered requests; a dead unit
        # behind a gateway is not a dead connection, so reconnecting is our decision.
        client.set_max_no_responses(1_000_000)
        if self.late is not None:
            # Every valid RTU frame, of any unit, passes the framer's decode once (pymodbus
            # 3.16.1 framer/base.py handleFrame): the one place that also sees the frames
            # pymodbus then skips (another unit's) or ignores (no request outstanding).
            # ctx.framer is what pymodbus's own register() reaches for custom replies.
            client.ctx.framer = _WatchedRtuFramer(client.ctx.framer.decoder, self._on_frame)
        return client

    def _make_client(self, address: DeviceAddress) -> Client:
        # pymodbus retries and reconnects are off: we do both, bounded, and count them.
        common: dict[str, Any] = {
            "timeout": self.timeout_s,
            "retries": 0,
            "reconnect_delay": 0,
            "trace_packet": self._trace_packet,
        }
        if address.scheme == "modbus-tcp":
            return AsyncModbusTcpClient(address.host, port=address.port, **common)
        return AsyncModbusSerialClient(
            address.device,
            framer=FramerType.RTU,
            baudrate=address.baud,
            bytesize=address.bytesize,
            parity=address.parity,
            stopbits=address.stopbits,
            **common,
        )

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        # Seeing bytes but no valid frame before the timeout means CRC/framing trouble,
        # not silence: that is how a FrameError is told apart from a DeviceTimeout.
        if not sending and data:
            self._rx_seen = True
        return data

    def _on_frame(self, unit: int) -> None:
        """A valid RTU frame from `unit` arrived: the first one from the unit asked now is
        the candidate reply; any other answers nothing asked now (a late reply)."""
        if self._awaiting == unit:
            self._awaiting = None
        elif self.late is not None:
            self.late.arrived(unit)

    async def _take_line(self, unit: int, key: Hashable | None) -> None:
        """Acquire the line for a request to `unit` (release with `_give_line`). First the
        unit's turn, in the order requests to it came (a FIFO lock per unit), then wait out
        the replies the unit still owes to other requests (dropped as they arrive, at most
        until they can no longer come); the line stays free meanwhile for the other units.

        The turn is why a request is never starved: a request repeated back to back to a
        dead unit (the safe-keeper's retries) may go out while its own replies are owed,
        and each of its timeouts renewed the owed horizon, so a different request (the
        plant watch's read) waited for ever. Now it waits one request and one horizon."""
        turn = self._turns.get(unit)
        if turn is None:
            turn = self._turns[unit] = asyncio.Lock()
        await turn.acquire()
        try:
            while True:
                while self.late is not None:
                    wait_s = self.late.must_wait(unit, key, self._time())
                    if wait_s <= 0:
                        break
                    await self._sleep(min(DRAIN_STEP_S, wait_s))
                await self._lock.acquire()
                if self.late is None or self.late.must_wait(unit, key, self._time()) <= 0:
                    return
                self._lock.release()  # another request to this unit timed out meanwhile
        except BaseException:
            turn.release()
            raise

    def _give_line(self, unit: int) -> None:
        """Release what `_take_line` acquired for a request to `unit`."""
        self._lock.release()
        self._turns[unit].release()

    @property
    def connected(self) -> bool:
        """Whether the line is open now."""
        return self._client is not None and self._client.connected

    def close(self) -> None:
        """Close the connection (the bus may be reopened by the next request)."""
        if self._client is not None:
            client, self._client = self._client, None
            # Closing from outside its (already finished) event loop cannot schedule the
            # transport's close callbacks; the connection is gone with that loop anyway.
            with contextlib.suppress(RuntimeError):
                client.close()

    def _follow_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        # A bus kept in the process-wide registry may outlive the event loop that built
        # its client (asyncio.run per CLI command, per test): start afresh on the new one.
        self.close()
        self._lock = asyncio.Lock()
        self._turns = {}
        self._loop = loop

    async def _connect(self, link: ModbusLink) -> Client:
        if self._client is None:
            self._client = self._build_client()
        if self._client.connected:
            return self._client
        now = self._time()
        if now < self._next_connect_at:
            raise Disconnected(
                link.name,
                link.address_text,
                f"not connected; next reconnect attempt in {self._next_connect_at - now:.1f} s",
            )
        if await self._client.connect():
            self._backoff_s = RECONNECT_MIN_S
            self._next_connect_at = 0.0
            return self._client
        self._next_connect_at = self._time() + self._backoff_s
        self._backoff_s = min(self._backoff_s * 2, RECONNECT_MAX_S)
        raise Disconnected(link.name, link.address_text, f"cannot connect to {self.line}")

    async def _wait_gap(self) -> None:
        remaining = self._last_end + self.gap_s - self._time()
        if remaining > 0:
            await self._sleep(remaining)

    def _map_error(self, link: ModbusLink, exc: ModbusException) -> DeviceError:
        if isinstance(exc, ConnectionException) or not self.connected:
            return Disconnected(link.name, link.address_text, f"connection to {self.line} lost")
        if isinstance(exc, ModbusIOException) and "No response" in str(exc):
            if self._rx_seen:
                return FrameError(link.name, link.address_text, "reply failed CRC/framing check")
            return DeviceTimeout(
                link.name, link.address_text, f"no reply within {self.timeout_s:g} s"
            )
        return FrameError(link.name, link.address_text, f"undecodable reply ({exc})")

    async def execute(
        self,
        link: ModbusLink,
        call: Callable[[Client], Awaitable[ModbusPDU]],
        check: ReplyCheck | None = None,
        key: Hashable | None = None,
    ) -> ModbusPDU:
        """Run one request for `link` with retries; return the reply or raise a typed
        DeviceError. `check` says what is wrong with a reply that does not answer this
        request (retried as a FrameError); `key` identifies the request (identical requests
        may take each other's late replies). Exception replies are not retried: the device
        answered."""
        health = link.health
        health.requests += 1
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._follow_loop(loop)
        await self._take_line(link.unit, key)
        try:
            error: DeviceError | None = None
            for _attempt in range(self.retries + 1):
                if self.gap_s:
                    await self._wait_gap()
                self._rx_seen = False
                start = self._time()
                try:
                    client = self._client
                    if client is None or not client.connected:
                        client = await self._connect(link)
                    self._awaiting = link.unit
                    reply = await call(client)
                except Disconnected as exc:
                    error = exc
                    break
                except OSError as exc:  # the port itself failed (USB adapter unplugged)
                    self.close()
                    error = Disconnected(link.name, link.address_text, f"line error: {exc}")
                    break
                except ModbusException as exc:
                    error = self._map_error(link, exc)
                    self._last_end = self._time()
                    if isinstance(error, Disconnected):
                        break
                    if isinstance(error, DeviceTimeout):  # silence: its reply may yet come
                        self._owe(link.unit, key, start)
                    continue
                finally:
                    self._awaiting = None
                self._last_end = self._time()
                mismatch = _reply_mismatch(reply, link.unit, check)
                if mismatch is not None:
                    # Not this request's reply (a late one from before): its own may follow.
                    error = FrameError(link.name, link.address_text, mismatch)
                    self._owe(link.unit, key, start)
                    continue
                if reply.isError():
                    error = ModbusExceptionError(link.name, link.address_text, reply.exception_code)
                    break
                health.succeeded(link.name, link.address_text, self._last_end - start)
                return reply
        finally:
            self._give_line(link.unit)
        assert error is not None
        health.failed(error)
        raise error

    def _owe(self, unit: int, key: Hashable | None, sent_at: float) -> None:
        if self.late is not None:
            self.late.timed_out(unit, key if key is not None else object(), sent_at)


class _WatchedRtuFramer(FramerRTU):
    """pymodbus's RTU framer, telling `on_frame` the unit of every valid frame decoded."""

    def __init__(self, decoder: DecodePDU, on_frame: Callable[[int], None]) -> None:
        super().__init__(decoder)
        self._on_frame = on_frame

    def decode(self, data: bytes) -> tuple[int, int, int, bytes]:
        used, unit, tid, frame = super().decode(data)
        if frame:
            self._on_frame(unit)
        return used, unit, tid, frame


def _reply_mismatch(reply: ModbusPDU, unit: int, check: ReplyCheck | None) -> str | None:
    """Why `reply` does not answer the request to `unit` (None when it does). Units 0 and
    255 address a Modbus TCP device itself, which may answer with either."""
    if unit not in (0, 255) and reply.dev_id != unit:
        return f"reply from unit {reply.dev_id}, asked unit {unit}"
    if check is None:
        return None
    return check(reply)


READ_HOLDING = 0x03
READ_INPUT = 0x04
WRITE_SINGLE = 0x06
WRITE_MULTIPLE = 0x10


def _function_mismatch(reply: ModbusPDU, function: int) -> str | None:
    """A reply answers with the request's function code, or with it + 0x80 (exception)."""
    if reply.function_code in (function, function | 0x80):
        return None
    return f"reply has function code {reply.function_code:#04x}, asked {function:#04x}"


class ModbusLink:
    """One device's view of a shared bus: its unit id, name, health and typed calls."""

    def __init__(
        self,
        bus: ModbusBus,
        address: DeviceAddress,
        name: str,
        release: Callable[[ModbusBus], None] | None = None,
    ) -> None:
        self.bus = bus
        self._release = release
        self.unit = address.unit
        self.name = name
        self.address_text = str(address)
        self.health = DeviceHealth()

    async def read_holding(self, address: int, count: int) -> list[int]:
        """FC03: read `count` holding registers from `address`."""
        return await self._read(READ_HOLDING, address, count)

    async def read_input(self, address: int, count: int) -> list[int]:
        """FC04: read `count` input registers from `address`."""
        return await self._read(READ_INPUT, address, count)

    async def _read(self, function: int, address: int, count: int) -> list[int]:
        def call(c: Client) -> Awaitable[ModbusPDU]:
            if function == READ_HOLDING:
                return c.read_holding_registers(address, count=count, device_id=self.unit)
            return c.read_input_registers(address, count=count, device_id=self.unit)

        def check(reply: ModbusPDU) -> str | None:
            wrong = _function_mismatch(reply, function)
            if wrong is None and not reply.isError() and len(reply.registers) != count:
                wrong = f"asked {count} registers at {address}, got {len(reply.registers)}"
            return wrong

        reply = await self.bus.execute(self, call, check, (function, address, count))
        return list(reply.registers)

    async def write_register(self, address: int, value: int) -> None:
        """FC06: write one register and check the echo (address and value)."""
        reply = await self.bus.execute(
            self,
            lambda c: c.write_register(address, value, device_id=self.unit),
            lambda r: _function_mismatch(r, WRITE_SINGLE),
            (WRITE_SINGLE, address, value),
        )
        echoed = list(reply.registers)
        if reply.address != address or echoed != [value]:
            raise self._not_confirmed(
                f"wrote {value} to register {address}, echo was {echoed} at {reply.address}"
            )

    async def write_registers(self, address: int, values: Sequence[int]) -> None:
        """FC16: write consecutive registers and check the echo (address and count)."""
        words = list(values)
        reply = await self.bus.execute(
            self,
            lambda c: c.write_registers(address, words, device_id=self.unit),
            lambda r: _function_mismatch(r, WRITE_MULTIPLE),
            (WRITE_MULTIPLE, address, tuple(words)),
        )
        if reply.address != address or reply.count != len(words):
            raise self._not_confirmed(
                f"wrote {len(words)} registers at {address}, "
                f"echo said {reply.count} at {reply.address}"
            )

    def _not_confirmed(self, detail: str) -> WriteNotConfirmed:
        error = WriteNotConfirmed(self.name, self.address_text, detail)
        self._note(error)
        return error

    def _note(self, error: DeviceError) -> None:
        self.health.failed(error)

    def close(self) -> None:
        """Drop this device's hold on the bus (the registry closes the bus when unused)."""
        if self._release is not None:
            release, self._release = self._release, None
            release(self.bus)
        else:
            self.bus.close()
