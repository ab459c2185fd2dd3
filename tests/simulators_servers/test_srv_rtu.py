"""Modbus RTU server on a real pty: byte-exact frames, a shared line, resync, faults, pacing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from srv_helpers import PtyClient, RegisterBank, rtu

from simulators.servers.modbus_rtu import ModbusRtuServer

FAST_BAUD = 921600  # keeps the paced tests quick where the pacing itself is not the point


@pytest.fixture
async def line() -> AsyncIterator[tuple[ModbusRtuServer, PtyClient]]:
    server = ModbusRtuServer(
        {1: RegisterBank(1), 2: RegisterBank(2, base=1000)}, baud=FAST_BAUD, turnaround_s=0.0
    )
    await server.start()
    client = PtyClient(server.path)
    yield server, client
    client.close()
    await server.close()


async def test_fc03_fc06_fc16_byte_exact(line: tuple[ModbusRtuServer, PtyClient]) -> None:
    _, client = line
    # The spec's own example: unit 1 reads 10 registers from 0.
    reply = await client.transact(bytes.fromhex("01030000000ac5cd"), 25)
    assert reply == rtu("010314" + "".join(f"{i:04x}" for i in range(10)))
    request = rtu("0106000b1234")
    assert await client.transact(request, 8) == request  # FC06 echoes
    reply = await client.transact(rtu("011000200002" "04" "beef0042"), 8)
    assert reply == rtu("011000200002")
    reply = await client.transact(rtu("0103000b0001"), 7)
    assert reply == rtu("0103021234")
    reply = await client.transact(rtu("010300200002"), 9)
    assert reply == rtu("010304beef0042")
    assert await client.transact(rtu("010300630002"), 5) == rtu("018302")
    assert await client.transact(rtu("010100000001"), 5) == rtu("018101")


async def test_two_units_on_one_line_and_unknown_unit_is_silent(
    line: tuple[ModbusRtuServer, PtyClient],
) -> None:
    _, client = line
    assert await client.transact(rtu("010300050001"), 7) == rtu("0103020005")
    assert await client.transact(rtu("020300050001"), 7) == rtu("02030203ed")
    assert await client.transact(rtu("070300050001"), 7, timeout_s=0.2) == b""
    assert await client.transact(rtu("020300050001"), 7) == rtu("02030203ed")


async def test_broadcast_writes_every_unit_without_reply(
    line: tuple[ModbusRtuServer, PtyClient],
) -> None:
    server, client = line
    assert await client.transact(rtu("000600070063"), 8, timeout_s=0.2) == b""
    assert [s.read_holding(7, 1) for s in server.slaves.values()] == [[0x63], [0x63]]


@pytest.mark.parametrize(
    "junk",
    [
        bytes(range(256)) * 2,  # garbage
        bytes.fromhex("0103000000"),  # truncated request
        bytes.fromhex("01030000000ac5ce"),  # bad CRC
        rtu("01100000007b") + b"\xf6",  # FC16 announcing 246 bytes that never come
        b"\xff" * 2000,  # more than any buffer
    ],
)
async def test_bad_input_is_ignored_and_the_server_keeps_answering(
    line: tuple[ModbusRtuServer, PtyClient], junk: bytes
) -> None:
    server, client = line
    assert await client.transact(junk, 1, timeout_s=0.1) == b""
    assert await client.transact(rtu("010300050001"), 7) == rtu("0103020005")
    # Junk immediately followed by a request, in one write, is one frame (no silence
    # between them: Serial Line V1.02 §2.5.1.1) and a bad one: discarded, not answered.
    assert await client.transact(junk + rtu("020300050001"), 7, timeout_s=0.1) == b""
    assert server.discarded == 2
    assert await client.transact(rtu("020300050001"), 7) == rtu("02030203ed")


async def test_a_silence_inside_a_frame_makes_two_fragments_both_discarded() -> None:
    """Serial Line V1.02 §2.5.1.1: a silence of more than 3.5 characters (1.75 ms fixed
    above 19200 baud) ends a frame. A request paused 5 ms in the middle is two fragments."""
    server = ModbusRtuServer({1: RegisterBank(1)}, baud=115200, turnaround_s=0.0)
    await server.start()
    client = PtyClient(server.path)
    try:
        request = rtu("010300050001")
        client.write(request[:4])
        await asyncio.sleep(0.005)  # the master's pause on the wire: > 1.75 ms
        assert await client.transact(request[4:], 7, timeout_s=0.1) == b""
        assert server.discarded == 2
        assert await client.transact(request, 7) == rtu("0103020005")
    finally:
        client.close()
        await server.close()


async def test_two_requests_back_to_back_are_one_bad_frame(
    line: tuple[ModbusRtuServer, PtyClient],
) -> None:
    """With no 3.5-character silence between them, two requests are one frame whose CRC
    fails (Serial Line §2.5.1.1): neither is answered, and neither write is done."""
    server, client = line
    both = rtu("010300050001") + rtu("0106000b1234")
    assert await client.transact(both, 7, timeout_s=0.1) == b""
    assert server.slaves[1].read_holding(0x0B, 1) == [0x0B]


async def test_a_slow_unit_does_not_hold_up_the_replies_of_a_prompt_one(
    line: tuple[ModbusRtuServer, PtyClient],
) -> None:
    """A late reply goes on the line when it is ready, not ahead of a unit that answered in
    time; each reply still keeps the turnaround after its own request."""
    server, client = line
    server.slaves[1].wire.extra_delay_s = 0.3
    client.write(rtu("010300050001"))
    assert await client.read(7, timeout_s=0.05) == b""  # unit 1 is thinking
    t0 = time.monotonic()
    assert await client.transact(rtu("020300050001"), 7) == rtu("02030203ed")
    assert time.monotonic() - t0 < 0.2
    assert await client.read(7) == rtu("0103020005")  # then the late one


@pytest.mark.parametrize(
    "request_hex, reply_hex",
    [
        # Modbus Application Protocol V1.1b3 §7 (and the FC03/FC16 state diagrams, §6.3,
        # §6.12): unsupported function -> 01, address out of the device -> 02,
        # quantity or byte count out of range -> 03.
        ("012b0e0100", "01ab01"),  # FC43 read device id: not supported here
        ("010300630002", "018302"),  # registers 99..100 of a 100-register device
        ("010300000000", "018303"),  # quantity 0
        ("01030000007e", "018303"),  # quantity 126 > 125
        ("011000000002" "02" "0001", "019003"),  # byte count 2 for 2 registers
        ("01100063000204" "00010002", "019002"),  # registers 99..100
    ],
)
async def test_exception_codes_per_the_application_protocol(
    line: tuple[ModbusRtuServer, PtyClient], request_hex: str, reply_hex: str
) -> None:
    _, client = line
    assert await client.transact(rtu(request_hex), 5) == rtu(reply_hex)


async def test_wire_faults(line: tuple[ModbusRtuServer, PtyClient]) -> None:
    server, client = line
    bank = server.slaves[1]
    request, good = rtu("010300050001"), rtu("0103020005")

    bank.wire.no_response = True
    assert await client.transact(request, 7, timeout_s=0.2) == b""
    bank.wire.clear()

    bank.wire.corrupt_crc = True
    damaged = await client.transact(request, 7)
    assert damaged[:5] == good[:5] and damaged[5:] != good[5:]
    bank.wire.clear()

    bank.wire.garbage = True
    assert await client.transact(request, 7) != good
    bank.wire.clear()

    bank.wire.extra_delay_s = 0.2
    t0 = time.monotonic()
    assert await client.transact(request, 7) == good
    assert time.monotonic() - t0 >= 0.2
    bank.wire.clear()
    assert await client.transact(request, 7) == good
    # The other unit on the line was never affected.
    assert await client.transact(rtu("020300050001"), 7) == rtu("02030203ed")


async def test_pacing_at_19200_baud_takes_at_least_the_line_time() -> None:
    server = ModbusRtuServer({1: RegisterBank(1)}, baud=19200)
    await server.start()
    client = PtyClient(server.path)
    try:
        request = bytes.fromhex("01030000000ac5cd")
        line_time_s = (8 + 25) * 11 / 19200  # request + reply, 11 bits per character
        for _ in range(5):
            t0 = time.monotonic()
            reply = await client.transact(request, 25)
            elapsed = time.monotonic() - t0
            assert len(reply) == 25
            assert elapsed >= line_time_s + 0.005  # plus the default 5 ms turnaround
    finally:
        client.close()
        await server.close()


async def test_symlink_path(tmp_path: Path) -> None:
    link = tmp_path / "ttySIM0"
    server = ModbusRtuServer({1: RegisterBank(1)}, link=link)
    await server.start()
    assert server.path == str(link) and link.is_symlink()
    assert server.url(1) == f"modbus-rtu://{link}?baud=19200&unit=1"
    client = PtyClient(server.path)
    assert await client.transact(rtu("010300050001"), 7) == rtu("0103020005")
    client.close()
    await server.close()
    assert not link.exists()


async def test_mbpoll_reads_over_the_pty(
    require_binary: Callable[[str], str],
) -> None:
    mbpoll = require_binary("mbpoll")
    bank = RegisterBank(3)
    bank.registers[10:12] = [0x4454, 0x8000]  # 850.0 as float32, high word first
    server = ModbusRtuServer({3: bank, 4: RegisterBank(4)}, baud=19200)
    await server.start()
    try:
        async def poll(*args: str) -> str:
            proc = await asyncio.create_subprocess_exec(
                mbpoll, "-m", "rtu", "-b", "19200", "-P", "none", "-a", "3", "-0", "-1",
                "-o", "2", *args, server.path,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await asyncio.wait_for(proc.communicate(), 20)
            assert proc.returncode == 0, (out + err).decode()
            return out.decode()

        text = await poll("-r", "2", "-c", "3", "-t", "4")
        assert "[2]: \t2" in text and "[3]: \t3" in text and "[4]: \t4" in text
        text = await poll("-r", "10", "-c", "2", "-t", "4:hex")
        assert "[10]: \t0x4454" in text and "[11]: \t0x8000" in text
        text = await poll("-r", "10", "-t", "4:float", "-B")
        assert "[10]: \t850" in text
    finally:
        await server.close()
