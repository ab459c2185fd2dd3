"""The unterminated-ASCII server on a real pty: queries, sets, busy time, garbage."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from srv_helpers import PtyClient, TinyAsciiSupply

from simulators.servers.ascii_pty import AsciiPtyServer

GAP_S = 0.06
"""A master's pause between commands: more than the unit's 50 ms deaf time."""


async def paced(client: PtyClient, command: bytes, reply_len: int, timeout_s: float = 2.0) -> bytes:
    """Send `command` after the pause a real master keeps (the master's timing on the wire)."""
    await asyncio.sleep(GAP_S)
    return await client.transact(command, reply_len, timeout_s)


@pytest.fixture
async def supply() -> AsyncIterator[tuple[AsciiPtyServer, PtyClient]]:
    server = AsciiPtyServer(TinyAsciiSupply())
    await server.start()
    client = PtyClient(server.path)
    yield server, client
    client.close()
    await server.close()


async def test_idn_and_a_set_then_query_round_trip(
    supply: tuple[AsciiPtyServer, PtyClient],
) -> None:
    server, client = supply
    idn = b"KORAD KA3005P V5.5 SN:00000001"
    assert await client.transact(b"*IDN?", len(idn)) == idn
    assert server.url == f"serial://{server.path}?baud=9600"
    # The set and the query in one write: the unit takes the set and drops the query, as
    # real units drop commands sent too quickly (sigrok korad-kaxxxxp: 80 ms between them).
    assert await paced(client, b"VSET1:12.50VSET1?", 5, timeout_s=0.2) == b""
    assert server.dropped == len(b"VSET1?")
    assert await paced(client, b"VSET1?", 5) == b"12.50"
    # A query 20 ms after the previous reply: the unit is still deaf, nothing comes back.
    await asyncio.sleep(0.02)
    assert await client.transact(b"VSET1?", 5, timeout_s=0.2) == b""
    assert await paced(client, b"VSET1?", 5) == b"12.50"


async def test_a_trailing_set_ends_by_idle_time(supply: tuple[AsciiPtyServer, PtyClient]) -> None:
    _, client = supply
    assert await client.transact(b"VSET1:03.30", 1, timeout_s=0.1) == b""
    assert await paced(client, b"VSET1?", 5) == b"03.30"


async def test_garbage_is_silent_and_faults_apply(
    supply: tuple[AsciiPtyServer, PtyClient],
) -> None:
    server, client = supply
    assert await client.transact(bytes(range(256)), 1, timeout_s=0.1) == b""
    assert await paced(client, b"VSET1?", 5) == b"00.00"
    server.wire.no_response = True
    assert await paced(client, b"VSET1?", 5, timeout_s=0.2) == b""
    server.wire.clear()
    server.wire.garbage = True
    assert await paced(client, b"VSET1?", 5) != b"00.00"
    server.wire.clear()
    assert await paced(client, b"VSET1?", 5) == b"00.00"


async def test_replies_are_paced_at_9600_baud(supply: tuple[AsciiPtyServer, PtyClient]) -> None:
    _, client = supply
    t0 = time.monotonic()
    reply = await client.transact(b"*IDN?", 30)
    assert len(reply) == 30
    assert time.monotonic() - t0 >= 30 * 10 / 9600  # at least 10 bits per character
