"""Modbus RTU: a late reply costs one request, never the line.

Modbus over Serial Line V1.02 §2.4.1 (master state diagram): a reply that comes after the
response time-out, or that does not answer the request (another unit, function code or size),
is an error for the master. RTU frames carry no transaction id, and pymodbus 3.16.1
(transaction/transaction.py, framer/base.py) matches a reply by unit only, so before this a
late reply was taken for the next request to that unit, and every later one got its
predecessor's reply. Frames below are byte-exact per Modbus Application Protocol V1.1b3
§6.3 (FC03) with CRC-16 per Serial Line §2.5.1.2.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from drv_wire import PtyDevice, SimTime, fc03, fc03_reply, pty_device, rtu

from drivers.address import parse_address
from drivers.errors import DeviceTimeout, FrameError
from drivers.registry import open_device
from drivers.transport.bus_registry import BusRegistry
from drivers.transport.modbus_bus import ModbusLink
from simulators.devices import build
from simulators.servers.modbus_rtu import ModbusRtuServer

STATUS, AUTO_MANUAL = 75, 273  # Eurotherm 3216 StAt and A-M (HA028651 §15.5)
SENSOR_BREAK = 0x0020


def kiln_link(dev: PtyDevice, retries: int) -> ModbusLink:
    """Unit 1 on the test's pty at 19200 baud, 0.2 s time-out."""
    url = f"modbus-rtu://{dev.path}?baud=19200&unit=1&timeout=0.2&retries={retries}"
    return BusRegistry().open_link(parse_address(url), "kiln1")


async def test_a_late_reply_is_dropped_not_taken_for_the_next_request() -> None:
    """The issue's mechanism: the status read times out; its reply (sensor break set) comes
    after the timeout, while the driver asks the auto/manual register next."""
    async with pty_device() as dev:
        link = kiln_link(dev, retries=0)
        first = asyncio.create_task(link.read_holding(STATUS, 1))
        await dev.expect(fc03(1, STATUS, 1), None)  # the unit is slow to answer
        with pytest.raises(DeviceTimeout):
            await first
        # The status reply (sensor break set) leaves the unit 0.1 s after the timeout; the
        # unit answers the next request only after it (one request at a time).
        late_sent = asyncio.Event()

        def send_late() -> None:
            dev.write(fc03_reply(1, [SENSOR_BREAK]))
            late_sent.set()

        asyncio.get_running_loop().call_later(0.1, send_late)
        second = asyncio.create_task(link.read_holding(AUTO_MANUAL, 1))
        await dev.expect(fc03(1, AUTO_MANUAL, 1), None)
        await late_sent.wait()
        dev.write(fc03_reply(1, [0]))  # auto
        assert await second == [0]
        assert link.bus.late is not None and link.bus.late.dropped == 1
        assert link.bus.late.owes(1) == 0
        link.close()


async def test_a_late_reply_during_another_units_request_is_counted_off() -> None:
    """Unit 1's late reply arrives while unit 2 is being asked: unit 2 gets its own reply,
    and unit 1's next request goes out at once, as nothing is owed any more."""
    async with pty_device() as dev:
        buses = BusRegistry()
        url = f"modbus-rtu://{dev.path}?baud=19200&timeout=0.2&retries=0"
        one = buses.open_link(parse_address(url + "&unit=1"), "kiln1")
        two = buses.open_link(parse_address(url + "&unit=2"), "nickel_heater")
        task = asyncio.create_task(one.read_holding(STATUS, 1))
        await dev.expect(fc03(1, STATUS, 1), None)
        with pytest.raises(DeviceTimeout):
            await task
        task = asyncio.create_task(two.read_holding(STATUS, 1))
        await dev.expect(fc03(2, STATUS, 1), fc03_reply(1, [SENSOR_BREAK]))
        # Unit 2's reply follows on the wire a few ms later (its turnaround).
        asyncio.get_running_loop().call_later(0.01, dev.write, fc03_reply(2, [0]))
        assert await task == [0]
        assert one.bus.late is not None and one.bus.late.owes(1) == 0
        started = time.monotonic()
        task = asyncio.create_task(one.read_holding(AUTO_MANUAL, 1))
        await dev.expect(fc03(1, AUTO_MANUAL, 1), fc03_reply(1, [1]))
        assert await task == [1]
        assert time.monotonic() - started < 0.5  # no wait for a reply already dropped
        one.close()
        two.close()


async def test_a_reply_of_another_size_or_function_is_a_frame_error_and_retried() -> None:
    async with pty_device() as dev:
        link = kiln_link(dev, retries=1)
        task = asyncio.create_task(link.read_holding(1, 2))
        await dev.expect(fc03(1, 1, 2), fc03_reply(1, [7]))  # one register, not two
        await dev.expect(fc03(1, 1, 2), fc03_reply(1, [8500, 1]))  # the retry
        assert await task == [8500, 1]
        task = asyncio.create_task(link.read_holding(1, 1))
        await dev.expect(fc03(1, 1, 1), rtu(1, 0x04, 2, b"\x00\x07"))  # an FC04 reply
        await dev.expect(fc03(1, 1, 1), fc03_reply(1, [8500]))
        assert await task == [8500]
        assert link.health.errors == 0  # each cost one try, not the call
        link.close()


async def test_a_mismatch_on_every_try_is_a_frame_error_naming_it() -> None:
    async with pty_device() as dev:
        link = kiln_link(dev, retries=0)
        task = asyncio.create_task(link.read_holding(1, 2))
        await dev.expect(fc03(1, 1, 2), fc03_reply(1, [7]))
        with pytest.raises(FrameError, match="asked 2 registers at 1, got 1"):
            await task
        link.close()


async def test_one_slow_spell_costs_its_requests_and_no_reading_is_wrong() -> None:
    """On the simulated line: kiln1 answers 0.6 s late for a spell (`sim-ctl wire kiln1
    slow`), then promptly again. Every reading the driver returns is the device's truth (no
    false sensor break, no false manual), the slow spell costs only the requests made
    during it, and the line is clean right after."""
    clock = SimTime()
    kiln = build("eurotherm3216", unit=1, time_fn=clock)
    heater = build("eurotherm3216", unit=2, time_fn=clock)
    server = ModbusRtuServer({1: kiln, 2: heater}, baud=19200, turnaround_s=0.002)
    await server.start()
    try:
        url = server.url(1) + "&timeout=0.25&retries=1"
        driver = open_device("kiln1", "eurotherm3216", url)
        other = open_device("nickel_heater", "eurotherm3216", server.url(2) + "&timeout=0.25")
        await driver.set_setpoint(0.0)  # type: ignore[union-attr]
        failures = 0
        readings = []
        kiln.wire.extra_delay_s = 0.6
        spell_end = time.monotonic() + 1.0
        while time.monotonic() < spell_end:
            try:
                readings.append(await driver.read())  # type: ignore[union-attr]
                assert await driver.link.read_holding(AUTO_MANUAL, 1) == [0]  # type: ignore[union-attr]
            except DeviceTimeout:
                failures += 1
            assert not (await other.read()).sensor_break  # type: ignore[union-attr]
        kiln.wire.clear()
        for _ in range(5):  # right after the spell: every read answers, and answers right
            readings.append(await driver.read())  # type: ignore[union-attr]
            assert await driver.link.read_holding(AUTO_MANUAL, 1) == [0]  # type: ignore[union-attr]
        assert failures >= 1
        assert all(not r.sensor_break and not r.manual for r in readings)
        assert all(abs(r.pv_c - readings[-1].pv_c) < 5.0 for r in readings)
        await driver.close()
        await other.close()
    finally:
        await server.close()


async def test_a_request_repeated_to_a_dead_unit_never_starves_a_different_one() -> None:
    """The safe-keeper's kind of traffic: one write repeated back to back to a unit that
    is dead. Each of its timeouts owes a reply, and a repeat of the same request may go out
    while it is owed; before, each repeat renewed the owed horizon, so a different request
    (the plant watch's status read) waited for ever and stopped the watch. Now requests to
    a unit take turns: the read waits at most the write in flight and one horizon, goes out
    (FC03 per Modbus Application Protocol V1.1b3 §6.3, byte-exact) and times out itself."""
    async with pty_device() as dev:
        link = kiln_link(dev, retries=0)  # 0.2 s time-out
        rm_sp = 26  # Eurotherm 3216 Rm.SP (HA028651 §15.5): what safe() writes first
        stop = asyncio.Event()

        async def keeper() -> None:
            while not stop.is_set():
                with pytest.raises(DeviceTimeout):
                    await link.write_register(rm_sp, 0)
                await asyncio.sleep(0.05)  # its retry gap: 4 s of service time at x60 is 67 ms

        retrying = asyncio.create_task(keeper())
        await asyncio.sleep(0.5)  # the keeper is retrying: a reply of it is owed now
        assert link.bus.late is not None and link.bus.late.owes(1) >= 1
        start = time.monotonic()
        with pytest.raises(DeviceTimeout):
            async with asyncio.timeout(5.0):  # before: never
                await link.read_holding(STATUS, 1)
        waited = time.monotonic() - start
        stop.set()
        await retrying
        # the write in flight (0.2 s), its horizon (1.5 s), the read's own time-out (0.2 s)
        assert waited < 0.2 + 1.5 + 0.2 + 0.5
        sent = b""
        with contextlib.suppress(TimeoutError):
            while True:
                sent += await dev.read_exactly(1, timeout_s=0.05)
        assert fc03(1, STATUS, 1) in sent
        link.close()
