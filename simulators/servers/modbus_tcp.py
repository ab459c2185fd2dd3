"""Modbus TCP server for simulated devices: several unit ids on one port, wire faults.

Unknown unit ids are answered with exception 0x0B "gateway target device failed to
respond", as a TCP-to-RTU gateway does, so a client learns at once that nobody is there
instead of waiting for its timeout (`unknown_unit="silence"` imitates a plain device that
ignores them). Unit 0 and 255 address the device itself when the port serves only one
(the Modbus TCP spec's convention for devices reached directly over TCP).

TCP has no CRC, so the "crc" wire fault sends the reply with a damaged MBAP header
(protocol id 0xFFFF), which a client must reject as a framing error. Bytes that cannot
start a Modbus TCP frame close the connection, as real servers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import struct
from collections.abc import Mapping
from typing import Literal

from simulators.device import ModbusSlave
from simulators.frames import (
    GATEWAY_TARGET_FAILED,
    MBAP_HEADER_LEN,
    build_mbap,
    exception_pdu,
    handle_pdu,
    parse_mbap,
)
from simulators.servers.wire_faults import apply_wire_faults

log = logging.getLogger(__name__)

UnknownUnit = Literal["gateway", "silence"]
_DAMAGED_PROTOCOL_ID = 0xFFFF


class ModbusTcpServer:
    """Serve `slaves` (unit id -> device) on host:port; port 0 picks a free one."""

    def __init__(
        self,
        slaves: Mapping[int, ModbusSlave],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        unknown_unit: UnknownUnit = "gateway",
        seed: int = 0,
    ) -> None:
        self.slaves = dict(slaves)
        self.host = host
        self._requested_port = port
        self.unknown_unit = unknown_unit
        self._rng = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self) -> None:
        """Bind and start accepting connections."""
        self._server = await asyncio.start_server(
            self._serve_connection, self.host, self._requested_port
        )

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.sockets[0].getsockname()[1])

    def url(self, unit: int) -> str:
        """The device address of `unit` in kilnctl's URL form."""
        return f"modbus-tcp://{self.host}:{self.port}?unit={unit}"

    async def close(self) -> None:
        """Stop listening and drop every open connection."""
        if self._server is not None:
            self._server.close()
        for writer in self._connections.values():
            writer.close()  # the handler sees end of stream and returns
        if self._connections:
            # a handler sleeping out a "slow" fault does not see it: cancel what is left
            _, pending = await asyncio.wait(list(self._connections), timeout=1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _slave_for(self, unit: int) -> ModbusSlave | None:
        slave = self.slaves.get(unit)
        if slave is None and unit in (0, 255) and len(self.slaves) == 1:
            slave = next(iter(self.slaves.values()))
        return slave

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            while True:
                header = parse_mbap(await reader.readexactly(MBAP_HEADER_LEN))
                pdu = await reader.readexactly(header.length - 1)
                reply = self._answer(header.transaction_id, header.unit, pdu)
                if reply is None:
                    continue
                data, delay_s = reply
                if delay_s > 0:
                    await asyncio.sleep(delay_s)
                writer.write(data)
                await writer.drain()
        except ValueError as exc:
            log.info("closing Modbus TCP connection: %s", exc)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away, or close() ended the connection
        except asyncio.CancelledError:
            # Ending normally: Python 3.11's stream callback logs a cancelled handler task
            # as an error. This task is the top of its connection: nothing above waits.
            pass
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _answer(self, transaction_id: int, unit: int, pdu: bytes) -> tuple[bytes, float] | None:
        slave = self._slave_for(unit)
        if slave is None:
            if self.unknown_unit == "silence" or not pdu:
                return None
            refusal = exception_pdu(pdu[0], GATEWAY_TARGET_FAILED)
            return build_mbap(transaction_id, unit, refusal), 0.0
        if slave.wire.no_response:
            return None  # the request never reaches the device
        reply_pdu = handle_pdu(slave, pdu)
        frame = build_mbap(transaction_id, unit, reply_pdu)
        damaged = frame[:2] + struct.pack(">H", _DAMAGED_PROTOCOL_ID) + frame[4:]
        out = apply_wire_faults(slave.wire, frame, self._rng, damage=damaged)
        return None if out is None else (out.data, out.delay_s)
