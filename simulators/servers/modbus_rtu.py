"""Modbus RTU server on a pseudo-terminal: several units on one line, paced like the wire.

Framing is the spec's (Modbus over Serial Line V1.02 §2.5.1.1): a frame is what arrives
between two silences of at least 3.5 characters (1.75 ms fixed above 19200 baud). The
server acts on it only once that silence has passed, and only if it is one whole valid
frame: its length is what its function code says (any length for an unknown function code)
and its CRC holds. So a frame with a silence inside it is two fragments, both discarded;
bytes before a frame (garbage, a truncated frame) make the whole burst one bad frame,
discarded, not skipped over into an answer; two requests sent back to back with no silence
between them are one bad frame too. Nothing is answered that a real unit would not answer.

Pacing: a pty ignores baud, so the server waits as a real line would: the request's own
line time, then the device turnaround (default 5 ms, never less than the 3.5-character
silence that ends the request) plus any "slow" fault delay, then the reply's line time; the
whole reply is written when its last byte would have arrived. The line is half-duplex:
replies go out one at a time, each after a 3.5-character silence, in the order they are
ready (a slow unit's late reply does not hold up a prompt one). Time per FC03 transaction
for N registers is (8 + 5 + 2N) x 11 / baud + turnaround.

Unit 0 is broadcast: writes go to every unit, nobody answers. Unknown units: silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from simulators.device import ModbusSlave
from simulators.frames import (
    WRITE_MULTIPLE,
    WRITE_SINGLE,
    crc16,
    crc_ok,
    handle_pdu,
    rtu_request_length,
    with_crc,
)
from simulators.servers.pty_port import PtyPort, line_time_s
from simulators.servers.wire_faults import apply_wire_faults

MAX_FRAME = 256  # Serial Line §2.5.1: an RTU frame is at most 256 bytes
FAST_BAUD = 19200
FAST_FRAME_GAP_S = 0.00175
"""Serial Line §2.5.1.1: above 19200 baud the 3.5-character silence is fixed at 1.75 ms."""
BROADCAST = 0


def frame_gap_s(baud: int) -> float:
    """The silence that ends an RTU frame at `baud` (t3.5, Serial Line §2.5.1.1)."""
    return FAST_FRAME_GAP_S if baud > FAST_BAUD else line_time_s(3.5, baud)


@dataclass(frozen=True)
class _Reply:
    data: bytes
    earliest_start: float
    """Loop time at which the reply may begin: end of request + turnaround + fault delay."""


class ModbusRtuServer:
    """Serve `slaves` (unit id -> device) on a new pty at `baud`; `path` is where to connect."""

    def __init__(
        self,
        slaves: Mapping[int, ModbusSlave],
        *,
        baud: int = 19200,
        turnaround_s: float = 0.005,
        link: str | Path | None = None,
        seed: int = 0,
    ) -> None:
        if baud <= 0:
            raise ValueError(f"baud must be > 0, got {baud}")
        self.slaves = dict(slaves)
        self.baud = baud
        self.turnaround_s = turnaround_s
        self.frame_gap_s = frame_gap_s(baud)
        self._link = link
        self._rng = random.Random(seed)
        self._port: PtyPort | None = None
        self._buffer = bytearray()
        self._overflow = False
        self._last_byte_at = 0.0
        self._gap_timer: asyncio.TimerHandle | None = None
        self._replies: list[tuple[float, int, _Reply]] = []
        """Replies not yet on the wire, by the time they may start (heap)."""
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self.discarded = 0
        """Frames dropped unanswered: bad CRC or length, fragments, back-to-back bursts."""

    async def start(self) -> None:
        """Create the pty and start serving."""
        self._port = PtyPort(self._link)
        self._port.start_reading(self._on_data)
        self._sender = asyncio.create_task(self._send_replies())

    @property
    def path(self) -> str:
        """The serial device path clients open (the symlink if one was asked for)."""
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port.address

    def url(self, unit: int) -> str:
        """The device address of `unit` in kilnctl's URL form."""
        return f"modbus-rtu://{self.path}?baud={self.baud}&unit={unit}"

    async def close(self) -> None:
        """Stop serving and remove the pty."""
        if self._gap_timer is not None:
            self._gap_timer.cancel()
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
            self._sender = None
        if self._port is not None:
            self._port.close()
            self._port = None

    # -- receiving ---------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._buffer and now - self._last_byte_at >= self.frame_gap_s:
            self._end_frame()  # the silence came (the timer has not run yet)
        self._last_byte_at = now
        self._buffer += data
        if len(self._buffer) > MAX_FRAME:
            self._overflow = True  # no frame is this long: the whole burst is garbage
            del self._buffer[:-MAX_FRAME]
        if self._gap_timer is not None:
            self._gap_timer.cancel()
        self._gap_timer = loop.call_at(now + self.frame_gap_s, self._end_frame)

    def _end_frame(self) -> None:
        """A 3.5-character silence ended the frame: answer it if it is one valid frame."""
        if self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None
        frame = bytes(self._buffer)
        self._buffer.clear()
        overflow, self._overflow = self._overflow, False
        if not frame:
            return
        length = rtu_request_length(frame)
        if overflow or not crc_ok(frame) or (length is not None and length != len(frame)):
            self.discarded += 1
            return
        self._dispatch(frame)

    def _dispatch(self, frame: bytes) -> None:
        unit, pdu = frame[0], frame[1:-2]
        if unit == BROADCAST:
            if pdu[0] in (WRITE_SINGLE, WRITE_MULTIPLE):
                for listener in self.slaves.values():
                    if not listener.wire.no_response:
                        handle_pdu(listener, pdu)
            return
        slave = self.slaves.get(unit)
        if slave is None or slave.wire.no_response:
            return  # nobody of that address on the line, or a deaf device: silence
        reply = with_crc(bytes((unit,)) + handle_pdu(slave, pdu))
        damaged = reply[:-2] + struct.pack("<H", crc16(reply[:-2]) ^ 0xFFFF)
        out = apply_wire_faults(slave.wire, reply, self._rng, damage=damaged)
        if out is None:
            return
        request_end = self._last_byte_at + line_time_s(len(frame), self.baud)
        start = request_end + max(self.turnaround_s, self.frame_gap_s) + out.delay_s
        heapq.heappush(self._replies, (start, next(self._order), _Reply(out.data, start)))
        self._wake.set()

    # -- sending -----------------------------------------------------------------------

    async def _send_replies(self) -> None:
        loop = asyncio.get_running_loop()
        line_free_at = 0.0
        while True:
            if not self._replies:
                self._wake.clear()
                await self._wake.wait()
                continue
            start = max(self._replies[0][0], line_free_at)
            now = loop.time()
            if now < start:
                # Not on the wire yet: a reply that becomes ready sooner may go first.
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), start - now)
                continue
            reply = heapq.heappop(self._replies)[2]
            end = start + line_time_s(len(reply.data), self.baud)
            line_free_at = end + self.frame_gap_s
            if end > now:
                await asyncio.sleep(end - now)
            assert self._port is not None
            await self._port.write(reply.data)
