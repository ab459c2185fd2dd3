"""Modbus TCP server over real sockets: byte-exact replies, units, garbage, wire faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from srv_helpers import RegisterBank, TcpClient

from simulators.servers.modbus_tcp import ModbusTcpServer


@pytest.fixture
async def server() -> AsyncIterator[ModbusTcpServer]:
    srv = ModbusTcpServer({1: RegisterBank(1), 2: RegisterBank(2, base=1000)})
    await srv.start()
    yield srv
    await srv.close()


async def test_fc03_fc06_fc16_byte_exact(server: ModbusTcpServer) -> None:
    client = await TcpClient.connect(server.port)
    # FC03 unit 1, address 2, 3 registers: MBAP tid 0x0001, proto 0, length 6, unit 1.
    reply = await client.transact(bytes.fromhex("000100000006010300020003"), 15)
    assert reply == bytes.fromhex("000100000009010306000200030004")
    # FC06 unit 2 register 4 := 0x1234: the reply echoes the request.
    request = bytes.fromhex("00020000000602060004" + "1234")
    assert await client.transact(request, 12) == request
    # FC16 unit 2 registers 10..11 := 0xBEEF, 0x0042: the reply is address + count.
    request = bytes.fromhex("0003" "0000" "000b" "02" "10" "000a" "0002" "04" "beef" "0042")
    assert await client.transact(request, 12) == bytes.fromhex("000300000006021000" "0a0002")
    # Read back unit 2 registers 3..5: 1003 (0x03EB), the written 0x1234, 1005 (0x03ED).
    reply = await client.transact(bytes.fromhex("000400000006020300030003"), 15)
    assert reply == bytes.fromhex("000400000009020306" "03eb" "1234" "03ed")
    reply = await client.transact(bytes.fromhex("000500000006020300090003"), 15)
    assert reply == bytes.fromhex("000500000009020306" "03f1" "beef" "0042")
    await client.close()


async def test_exceptions_and_unknown_unit(server: ModbusTcpServer) -> None:
    client = await TcpClient.connect(server.port)
    # Address past the bank: exception 2.
    reply = await client.transact(bytes.fromhex("000500000006010300630002"), 9)
    assert reply == bytes.fromhex("000500000003018302")
    # FC01 (coils) is not supported: exception 1.
    reply = await client.transact(bytes.fromhex("000600000006010100000001"), 9)
    assert reply == bytes.fromhex("000600000003018101")
    # Unit 9 is not there: a gateway's "target device failed to respond".
    reply = await client.transact(bytes.fromhex("000700000006090300000001"), 9)
    assert reply == bytes.fromhex("00070000000309830b")
    await client.close()


async def test_garbage_closes_the_connection_and_the_server_keeps_answering(
    server: ModbusTcpServer,
) -> None:
    bad = await TcpClient.connect(server.port)
    bad.writer.write(b"GET / HTTP/1.0\r\n\r\n")
    await bad.writer.drain()
    assert await asyncio.wait_for(bad.reader.read(), 2) == b""  # closed by the server
    await bad.close()
    truncated = await TcpClient.connect(server.port)
    truncated.writer.write(bytes.fromhex("0001000000060103"))  # half a frame, then gone
    await truncated.close()
    client = await TcpClient.connect(server.port)
    reply = await client.transact(bytes.fromhex("000100000006010300000001"), 11)
    assert reply == bytes.fromhex("00010000000501030200" + "00")
    await client.close()


async def test_wire_faults(server: ModbusTcpServer) -> None:
    bank = server.slaves[1]
    client = await TcpClient.connect(server.port)
    request = bytes.fromhex("000100000006010300010001")
    good = bytes.fromhex("0001000000050103020001")

    bank.wire.no_response = True
    with pytest.raises(TimeoutError):
        await client.transact(request, 11, timeout_s=0.3)
    bank.wire.clear()
    await client.close()

    client = await TcpClient.connect(server.port)
    bank.wire.corrupt_crc = True
    damaged = await client.transact(request, 11)
    assert damaged[2:4] == b"\xff\xff" and damaged[4:] == good[4:]
    bank.wire.clear()

    bank.wire.garbage = True
    assert await client.transact(request, 11) != good
    bank.wire.clear()

    bank.wire.extra_delay_s = 0.2
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert await client.transact(request, 11) == good
    assert loop.time() - t0 >= 0.2
    bank.wire.clear()
    assert await client.transact(request, 11) == good
    await client.close()


async def test_mbpoll_reads_holding_registers(
    server: ModbusTcpServer, require_binary: Callable[[str], str]
) -> None:
    mbpoll = require_binary("mbpoll")
    proc = await asyncio.create_subprocess_exec(
        mbpoll, "-m", "tcp", "-p", str(server.port), "-a", "2", "-0", "-r", "5", "-c", "3",
        "-t", "4", "-1", "-o", "2", "127.0.0.1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    assert "[5]: \t1005" in text and "[6]: \t1006" in text and "[7]: \t1007" in text
