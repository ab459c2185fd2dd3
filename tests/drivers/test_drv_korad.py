"""Korad KA3005P: exact unterminated ASCII on a real pty; replies framed by length or by
the idle gap; every set is followed by a query because the supply never acknowledges."""

from __future__ import annotations

import asyncio

import pytest
from drv_wire import PtyDevice, pty_device

from drivers.errors import DeviceTimeout, FrameError, WriteNotConfirmed
from drivers.protocols import RegulationMode
from drivers.registry import open_device, probe


async def expect(dev: PtyDevice, command: bytes, reply: bytes | None) -> None:
    await dev.expect(command, reply)


def open_korad(dev: PtyDevice, settle_s: float = 0.0):  # type: ignore[no-untyped-def]
    return open_device(
        "gold", "korad_ka3005p", f"serial://{dev.path}?baud=9600&timeout=0.3", settle_s=settle_s
    )


async def test_read_sends_each_query_without_terminator() -> None:
    async with pty_device() as dev:
        psu = open_korad(dev)
        task = asyncio.create_task(psu.read())
        await expect(dev, b"VOUT1?", b"02.31")
        await expect(dev, b"IOUT1?", b"0.250")
        await expect(dev, b"VSET1?", b"05.00")
        await expect(dev, b"ISET1?", b"0.250")
        await expect(dev, b"STATUS?", bytes([0b0100_0000]))  # output on, bit0 = 0: CC
        r = await task
        assert (r.volts, r.amps, r.volts_setpoint, r.amps_setpoint) == (2.31, 0.25, 5.0, 0.25)
        assert r.output_on and r.mode is RegulationMode.CC
        await psu.close()


async def test_set_current_waits_then_queries_back() -> None:
    async with pty_device() as dev:
        psu = open_korad(dev, settle_s=0.05)  # the manual's ~50 ms after a set
        task = asyncio.create_task(psu.set_current(1.25))
        await expect(dev, b"ISET1:1.250", None)
        await expect(dev, b"ISET1?", b"1.250")
        await task
        task = asyncio.create_task(psu.set_voltage_limit(12.5))
        await expect(dev, b"VSET1:12.50", None)
        await expect(dev, b"VSET1?", b"12.40")
        with pytest.raises(WriteNotConfirmed, match=r"12\.4"):
            await task
        await psu.close()


async def test_output_on_confirmed_by_status_byte() -> None:
    async with pty_device() as dev:
        psu = open_korad(dev)
        task = asyncio.create_task(psu.enable())
        await expect(dev, b"OUT1", None)
        await expect(dev, b"STATUS?", bytes([0x41]))
        await task
        task = asyncio.create_task(psu.safe())
        await expect(dev, b"OUT0", None)
        await expect(dev, b"STATUS?", bytes([0x01]))
        await expect(dev, b"ISET1:0.000", None)
        await expect(dev, b"ISET1?", b"0.000")
        await task
        await psu.close()


async def test_silent_supply_is_a_timeout() -> None:
    async with pty_device() as dev:
        psu = open_korad(dev)
        with pytest.raises(DeviceTimeout, match="VOUT1"):
            await psu.read()
        await psu.close()


async def test_probe_identifies_by_idn_framed_by_idle_gap() -> None:
    async with pty_device() as dev:
        task = asyncio.create_task(probe(f"serial://{dev.path}?timeout=0.5"))
        await expect(dev, b"*IDN?", b"KORAD KA3005P V5.5 SN:03412345")
        assert await task == "korad_ka3005p (KORAD KA3005P V5.5 SN:03412345)"


async def test_a_reply_paused_midway_is_waited_for_not_cut_short() -> None:
    """A slow supply pauses longer than the idle gap inside a reply of known length: the
    driver waits for all of it (cut at the pause, "0.250" A would read as "0." = 0 A)."""
    async with pty_device() as dev:
        psu = open_korad(dev)
        task = asyncio.create_task(psu.read())
        await expect(dev, b"VOUT1?", b"02.31")
        await expect(dev, b"IOUT1?", b"0.")
        await asyncio.sleep(0.1)  # the device's pause on the wire (> the 30 ms idle gap)
        dev.write(b"250")
        await expect(dev, b"VSET1?", b"05.00")
        await expect(dev, b"ISET1?", b"0.250")
        await expect(dev, b"STATUS?", bytes([0b0100_0000]))
        r = await task
        assert (r.volts, r.amps) == (2.31, 0.25)
        await psu.close()


async def test_a_truncated_reply_is_a_frame_error_not_a_number() -> None:
    async with pty_device() as dev:
        psu = open_korad(dev)
        task = asyncio.create_task(psu.read())
        await expect(dev, b"VOUT1?", b"12.")  # then silence
        with pytest.raises(FrameError, match="VOUT1"):
            await task
        await psu.close()


async def test_a_cancelled_request_keeps_the_line_until_its_exchange_ends() -> None:
    """A read cancelled mid-exchange (the run's task cancelled) while its worker thread
    still waits on the port: the safe() that follows must not share the line with it."""
    async with pty_device() as dev:
        psu = open_korad(dev)
        task = asyncio.create_task(psu.read())
        await expect(dev, b"VOUT1?", None)  # the supply is slow to answer
        task.cancel()
        off = asyncio.create_task(psu.disable())
        await expect(dev, b"OUT0", None)
        await expect(dev, b"STATUS?", bytes([0]))  # output off
        await off  # confirmed: the status byte went to it, not to the cancelled read
        with pytest.raises(asyncio.CancelledError):
            await task
        await psu.close()


# -- pacing, stray bytes and reply formats (issue 7, item 6) -------------------------------
# Sources: sigrok libsigrok src/hardware/korad-kaxxxxp/protocol.c (DEVICE_PROCESSING_TIME_MS
# 80 between requests; "Read the sixth byte from ISET? BUG workaround"; status byte bits);
# py-korad-serial koradserial.py (sleep(0.1) before each send; ISET? "returns a 6th
# character of previous output"; Status: bits 2-3 tracking, 00 independent).


class FakeTime:
    """The port's clock and sleep: sleeping advances the clock and is recorded."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_every_command_waits_80_ms_after_the_previous_exchange() -> None:
    from drivers.address import parse_address
    from drivers.korad import KoradKA3005P
    from drivers.transport.ascii_serial import AsciiSerialPort

    async with pty_device() as dev:
        clock = FakeTime()
        port = AsciiSerialPort(
            parse_address(f"serial://{dev.path}?timeout=0.3"), "gold",
            time_fn=clock, sleep=clock.sleep,
        )  # fmt: skip
        psu = KoradKA3005P("gold", port)
        task = asyncio.create_task(psu.set_current(1.25))
        await expect(dev, b"ISET1:1.250", None)
        await expect(dev, b"ISET1?", b"1.250")
        await task
        # The clock stands still during exchanges: each wait is the whole 80 ms.
        assert clock.slept == [pytest.approx(0.08)]
        task = asyncio.create_task(psu.read())
        for command, reply in ((b"VOUT1?", b"02.31"), (b"IOUT1?", b"0.250"),
                               (b"VSET1?", b"05.00"), (b"ISET1?", b"1.250"),
                               (b"STATUS?", bytes([0x40]))):  # fmt: skip
            await expect(dev, command, reply)
        await task
        assert clock.slept == [pytest.approx(0.08)] * 6
        await psu.close()


@pytest.mark.parametrize(
    "command, reply",
    [
        (b"IOUT1?", b"12.50"),  # a volts reply where amps were asked
        (b"VOUT1?", b"1.250"),  # an amps reply where volts were asked
        (b"VOUT1?", b"0.25\x00"),
    ],
)
async def test_a_reply_in_another_querys_format_is_a_frame_error(
    command: bytes, reply: bytes
) -> None:
    async with pty_device() as dev:
        psu = open_korad(dev)
        task = asyncio.create_task(psu.read())
        if command == b"IOUT1?":
            await expect(dev, b"VOUT1?", b"02.31")
        await expect(dev, command, reply)
        with pytest.raises(FrameError, match=command.decode().replace("?", r"\?")):
            await task
        await psu.close()


@pytest.mark.parametrize("byte", [b".", b"4", b"\x0c"])
async def test_a_status_byte_with_tracking_bits_is_refused(byte: bytes) -> None:
    """Bits 2-3 are the tracking mode of two-channel models: 00 on the single-channel
    KA3005P. A stray '.' or digit taken for the status would read as output off/CC."""
    async with pty_device() as dev:
        psu = open_korad(dev)
        task = asyncio.create_task(psu.disable())
        await expect(dev, b"OUT0", None)
        await expect(dev, b"STATUS?", byte)
        with pytest.raises(FrameError, match="STATUS"):
            await task
        await psu.close()


async def test_the_driver_keeps_pace_with_a_strict_simulated_supply() -> None:
    """The simulated KA3005P drops commands sent within 50 ms of its last reply and sends
    a stray byte after ISET1?. Unpaced, the driver lost STATUS? and took the stray '0'
    (0x30: output off) for the status byte while the output was on."""
    from simulators.korad import KoradKA3005P as SimKorad
    from simulators.servers.ascii_pty import AsciiPtyServer

    server = AsciiPtyServer(SimKorad(lambda: 0.0))
    await server.start()
    try:
        psu = open_device("gold", "korad_ka3005p", server.url + "&timeout=0.3")
        await psu.set_voltage_limit(3.0)
        await psu.set_current(0.5)
        await psu.enable()
        for _ in range(2):
            r = await psu.read()
            assert r.output_on and (r.volts_setpoint, r.amps_setpoint) == (3.0, 0.5)
        await psu.safe()
        assert not (await psu.read()).output_on
        assert server.dropped == 0 and psu.health.errors == 0  # type: ignore[union-attr]
        await psu.close()
    finally:
        await server.close()
