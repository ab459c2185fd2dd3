"""Modbus RTU server on a pseudo-terminal: several units on one line, paced like the wire.

Framing: a request ends when its function code's length is reached (and its CRC holds)
or, for unknown function codes, at the inter-frame gap. The gap is max(3.5 characters,
10 ms) rather than the spec's 1.75 ms, because a pty hands bytes over in bursts at the
scheduler's whim and a tighter gap would cut frames in two under load. Bytes that make no
valid frame (garbage, truncated frames, bad CRCs) are discarded one at a time until a
valid frame starts: the server resynchronises and never answers them, as a real slave.

Pacing: a pty ignores baud, so the server waits as a real line would: the request's own
line time, then the device turnaround (default 5 ms) plus any "slow" fault delay, then the
reply's line time; the whole reply is written when its last byte would have arrived. The
line is half-duplex: replies go out one after another. Time per FC03 transaction for N
registers is (8 + 5 + 2N) x 11 / baud + turnaround.

Unit 0 is broadcast: writes go to every unit, nobody answers. Unknown units: silence.
"""

from __future__ import annotations

import asyncio
import contextlib
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

MAX_BUFFER = 1024  # more than any request; beyond it the oldest bytes are surely garbage
MIN_FRAME_GAP_S = 0.010
BROADCAST = 0


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
        self.frame_gap_s = max(line_time_s(3.5, baud), MIN_FRAME_GAP_S)
        self._link = link
        self._rng = random.Random(seed)
        self._port: PtyPort | None = None
        self._buffer = bytearray()
        self._last_byte_at = 0.0
        self._gap_timer: asyncio.TimerHandle | None = None
        self._replies: asyncio.Queue[_Reply] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None

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
        now = asyncio.get_running_loop().time()
        if self._buffer and now - self._last_byte_at >= self.frame_gap_s:
            self._extract_frames(at_gap=True)  # a silent gap ended whatever came before
        self._last_byte_at = now
        self._buffer += data
        if len(self._buffer) > MAX_BUFFER:
            del self._buffer[: len(self._buffer) - MAX_BUFFER]
        self._extract_frames(at_gap=False)
        if self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None
        if self._buffer:
            self._gap_timer = asyncio.get_running_loop().call_later(
                self.frame_gap_s, self._extract_frames, True
            )

    def _extract_frames(self, at_gap: bool) -> None:
        """Take complete valid frames off the buffer; at a gap, nothing more is coming."""
        buf = self._buffer
        while buf:
            length = rtu_request_length(bytes(buf[:11]))
            if length is None or len(buf) < length:
                if not at_gap:
                    return  # wait for more bytes or for the gap
                if length is None and crc_ok(bytes(buf)):
                    frame = bytes(buf)  # an unknown function code, delimited by the gap
                    buf.clear()
                    self._dispatch(frame)
                    return
                del buf[0]
                continue
            frame = bytes(buf[:length])
            if crc_ok(frame):
                del buf[:length]
                self._dispatch(frame)
            else:
                del buf[0]  # not a frame here: resynchronise on the next byte

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
        start = request_end + self.turnaround_s + out.delay_s
        self._replies.put_nowait(_Reply(out.data, start))

    # -- sending -----------------------------------------------------------------------

    async def _send_replies(self) -> None:
        loop = asyncio.get_running_loop()
        line_free_at = 0.0
        while True:
            reply = await self._replies.get()
            start = max(reply.earliest_start, line_free_at)
            line_free_at = start + line_time_s(len(reply.data), self.baud)
            wait_s = line_free_at - loop.time()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            assert self._port is not None
            await self._port.write(reply.data)
