"""Modbus bus: exact MBAP/RTU bytes, typed errors, timing of a dead device, shared lines,
health figures, reconnect. Real sockets and real ptys; the test plays the device."""

from __future__ import annotations

import asyncio
import struct
import time

import pytest
from drv_wire import MbapDevice, PtyDevice, exception_reply, fc03, fc03_reply, fc06, pty_device

from drivers.address import parse_address
from drivers.errors import (
    DeviceTimeout,
    Disconnected,
    FrameError,
    ModbusExceptionError,
    WriteNotConfirmed,
)
from drivers.transport.bus_registry import BusRegistry


@pytest.fixture
async def tcp_device():  # type: ignore[no-untyped-def]
    device = MbapDevice()
    await device.start()
    yield device
    await device.close()


async def test_tcp_read_sends_mbap_fc03_and_decodes_reply(tcp_device: MbapDevice) -> None:
    buses = BusRegistry()
    link = buses.open_link(parse_address(f"modbus-tcp://127.0.0.1:{tcp_device.port}?unit=5"), "k")
    task = asyncio.create_task(link.read_holding(0x2000, 3))
    await tcp_device.expect(5, bytes.fromhex("03 2000 0003"), bytes.fromhex("03 06 0001 0002 FFFF"))
    assert await task == [1, 2, 0xFFFF]
    assert link.health.requests == 1 and link.health.errors == 0
    assert link.health.last_latency_s is not None
    link.close()


async def test_exception_reply_is_typed_with_its_code(tcp_device: MbapDevice) -> None:
    link = BusRegistry().open_link(
        parse_address(f"modbus-tcp://127.0.0.1:{tcp_device.port}?unit=1"), "rect"
    )
    task = asyncio.create_task(link.read_holding(99, 1))
    await tcp_device.expect(1, bytes.fromhex("03 0063 0001"), bytes.fromhex("83 02"))
    with pytest.raises(ModbusExceptionError) as info:
        await task
    assert info.value.code == 2
    assert "rect" in str(info.value) and str(tcp_device.port) in str(info.value)
    assert "illegal data address" in str(info.value)
    assert link.health.errors == 1 and not link.health.ok
    link.close()


async def test_dead_tcp_device_reported_within_a_second(tcp_device: MbapDevice) -> None:
    url = f"modbus-tcp://127.0.0.1:{tcp_device.port}?unit=1"
    link = BusRegistry().open_link(parse_address(url), "kiln1")
    start = time.monotonic()
    task = asyncio.create_task(link.read_holding(1, 1))
    await tcp_device.expect(1, bytes.fromhex("03 0001 0001"), None)  # first try: silence
    with pytest.raises(DeviceTimeout, match="kiln1"):
        await task
    assert time.monotonic() - start < 1.2
    assert link.health.last_error is not None and "no response" in link.health.last_error
    link.close()


async def test_nobody_listening_is_disconnected_then_backs_off(tcp_device: MbapDevice) -> None:
    port = tcp_device.port
    await tcp_device.close()
    link = BusRegistry().open_link(parse_address(f"modbus-tcp://127.0.0.1:{port}"), "gone")
    with pytest.raises(Disconnected, match="cannot connect"):
        await link.read_holding(0, 1)
    # Within the backoff window no connect is attempted: the answer is immediate.
    with pytest.raises(Disconnected, match="next reconnect attempt"):
        await link.read_holding(0, 1)
    link.close()


async def test_dropped_connection_is_reported_then_reconnected(tcp_device: MbapDevice) -> None:
    link = BusRegistry().open_link(
        parse_address(f"modbus-tcp://127.0.0.1:{tcp_device.port}?unit=1&retries=0"), "k"
    )
    task = asyncio.create_task(link.read_holding(1, 1))
    await tcp_device.expect(1, bytes.fromhex("03 0001 0001"), bytes.fromhex("03 02 0007"))
    assert await task == [7]
    await tcp_device.drop()
    for _ in range(100):  # until the client has seen the FIN (no request needed)
        if not link.bus.connected:
            break
        await asyncio.sleep(0.01)
    assert not link.bus.connected
    # The next request reconnects (first attempt after a drop is immediate).
    task = asyncio.create_task(link.read_holding(1, 1))
    await tcp_device.expect(1, bytes.fromhex("03 0001 0001"), bytes.fromhex("03 02 0008"))
    assert await task == [8]
    assert tcp_device.connections == 2
    link.close()


async def test_write_echo_mismatch_is_not_confirmed(tcp_device: MbapDevice) -> None:
    link = BusRegistry().open_link(
        parse_address(f"modbus-tcp://127.0.0.1:{tcp_device.port}?unit=1"), "k"
    )
    task = asyncio.create_task(link.write_register(26, 500))
    await tcp_device.expect(1, bytes.fromhex("06 001A 01F4"), bytes.fromhex("06 001A 01F3"))
    with pytest.raises(WriteNotConfirmed, match="echo"):
        await task
    link.close()


async def test_rtu_exact_bytes_and_two_units_share_one_bus() -> None:
    async with pty_device() as dev:
        buses = BusRegistry()
        one = buses.open_link(parse_address(f"modbus-rtu://{dev.path}?baud=9600&unit=1"), "a")
        two = buses.open_link(parse_address(f"modbus-rtu://{dev.path}?baud=9600&unit=2"), "b")
        assert one.bus is two.bus
        # Both ask at once; the bus serialises them: unit 1's request, its reply, then unit 2.
        t1 = asyncio.create_task(one.read_holding(1, 2))
        t2 = asyncio.create_task(two.read_holding(1, 2))
        await dev.expect(fc03(1, 1, 2), fc03_reply(1, [100, 200]))
        await dev.expect(fc03(2, 1, 2), fc03_reply(2, [300, 400]))
        assert await t1 == [100, 200]
        assert await t2 == [300, 400]
        one.close()
        assert buses.bus_for(one.bus.line) is two.bus
        two.close()
        assert buses.bus_for(two.bus.line) is None


async def test_rtu_bad_crc_is_a_frame_error_and_the_bus_recovers() -> None:
    async with pty_device() as dev:
        link = BusRegistry().open_link(
            parse_address(f"modbus-rtu://{dev.path}?unit=1&timeout=0.2&retries=0"), "k"
        )
        task = asyncio.create_task(link.read_holding(75, 1))
        good = fc03_reply(1, [0x20])
        await dev.expect(fc03(1, 75, 1), good[:-1] + bytes([good[-1] ^ 0xFF]))
        with pytest.raises(FrameError, match="CRC"):
            await task
        task = asyncio.create_task(link.read_holding(75, 1))
        await dev.expect(fc03(1, 75, 1), good)
        assert await task == [0x20]
        assert link.health.ok and link.health.errors == 1
        link.close()


async def test_rtu_retry_after_silence_then_answer() -> None:
    async with pty_device() as dev:
        link = BusRegistry().open_link(
            parse_address(f"modbus-rtu://{dev.path}?unit=3&timeout=0.2&retries=1"), "k"
        )
        task = asyncio.create_task(link.write_register(0, 1))
        await dev.expect(fc06(3, 0, 1), None)
        await dev.expect(fc06(3, 0, 1), fc06(3, 0, 1))
        await task
        assert link.health.errors == 0 and link.health.requests == 1
        link.close()


async def test_rtu_exception_reply() -> None:
    async with pty_device() as dev:
        link = BusRegistry().open_link(parse_address(f"modbus-rtu://{dev.path}?unit=1"), "k")
        task = asyncio.create_task(link.read_holding(0x9000, 1))
        await dev.expect(fc03(1, 0x9000, 1), exception_reply(1, 3, 2))
        with pytest.raises(ModbusExceptionError) as info:
            await task
        assert info.value.code == 2
        link.close()


async def test_missing_serial_port_is_disconnected() -> None:
    link = BusRegistry().open_link(parse_address("modbus-rtu:///dev/does-not-exist?unit=1"), "k")
    with pytest.raises(Disconnected, match="/dev/does-not-exist"):
        await link.read_holding(0, 1)
    link.close()


def test_wire_helper_crc_matches_the_spec_example() -> None:
    # Modbus over Serial Line v1.02 example: 02 07 -> CRC 0x1241 sent as 41 12.
    from drv_wire import rtu

    assert rtu(0x02, 0x07)[-2:] == bytes([0x41, 0x12])
    assert struct.unpack(">H", fc03(1, 0, 1)[-2:])[0] == 0x840A


def test_pty_helper_is_raw() -> None:
    dev = PtyDevice()
    try:
        assert dev.path.startswith("/dev/")
    finally:
        dev.close()


async def test_rtu_line_keeps_its_quiet_gap_between_transactions() -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    frozen = BusRegistry(time_fn=lambda: 100.0, sleep=record)  # no time passes at all
    async with pty_device() as dev:
        link = frozen.open_link(parse_address(f"modbus-rtu://{dev.path}?unit=1&gap_ms=20"), "k")
        for value in (1, 2):
            task = asyncio.create_task(link.read_holding(0, 1))
            await dev.expect(fc03(1, 0, 1), fc03_reply(1, [value]))
            assert await task == [value]
        assert waits == [pytest.approx(0.020)]  # before the second request only
        link.close()


def test_default_rtu_gap_is_three_and_a_half_characters_but_at_least_2_ms() -> None:
    slow = BusRegistry().open_link(parse_address("modbus-rtu:///dev/x?baud=9600"), "a")
    fast = BusRegistry().open_link(parse_address("modbus-rtu:///dev/x?baud=115200"), "b")
    tcp = BusRegistry().open_link(parse_address("modbus-tcp://h:1"), "c")
    assert slow.bus.gap_s == pytest.approx(3.5 * 11 / 9600)
    assert fast.bus.gap_s == 0.002
    assert tcp.bus.gap_s == 0.0
