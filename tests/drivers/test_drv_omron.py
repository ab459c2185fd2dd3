"""Omron E5CC: byte-exact frames on a real pty (H175, E5_C Communications Manual, two-byte
mode). Operation commands are FC06 to 0x0000, high byte the command code, low byte its
related information (§4-4-3): 00 communications writing, 01 RUN/STOP, 04 write mode (01
RAM), 09 auto/manual. Status bits 16-31 (§5-2) are read at 0x2407: b20 RAM write mode (b4
there), b24 STOP (b8), b25 communications writing (b9), b26 manual (b10). 0x2410 is the
decimal point monitor."""

from __future__ import annotations

import asyncio
import termios

import pytest
from drv_wire import PtyDevice, exception_reply, fc03, fc03_reply, fc06, pty_device

from drivers.address import parse_address
from drivers.errors import ConfigError, WriteNotConfirmed
from drivers.omron_e5cc import serial_settings
from drivers.registry import open_device

UNIT = 1
STOP_FRAME = bytes.fromhex("010600000101499A")
"""H175 §4-4-3's own example: the Stop command to slave 01, CRC included."""
RAM, STOP, WRITING, MANUAL = 1 << 4, 1 << 8, 1 << 9, 1 << 10  # bits of 0x2407


def open_e5cc(dev: PtyDevice):  # type: ignore[no-untyped-def]
    url = f"modbus-rtu://{dev.path}?baud=9600&parity=N&unit={UNIT}&timeout=0.3&retries=0"
    return open_device("kiln2", "omron_e5cc", url)


async def expect_resolution(dev: PtyDevice, decimals: int) -> None:
    await dev.expect(fc03(UNIT, 0x2410, 1), fc03_reply(UNIT, [decimals]))


@pytest.mark.parametrize(("decimals", "pv_c", "sp_c"), [(0, 203.0, 600.0), (1, 20.3, 60.0)])
async def test_resolution_is_read_from_the_decimal_point_monitor(
    decimals: int, pv_c: float, sp_c: float
) -> None:
    """The same words mean 20.3 °C at one decimal, 203 °C at none: the driver asks the
    controller once (0x2410), then reads PV, status, internal SP, MV in one request."""
    async with pty_device() as dev:
        ctl = open_e5cc(dev)
        task = asyncio.create_task(ctl.read())
        await expect_resolution(dev, decimals)
        await dev.expect(fc03(UNIT, 0x2000, 5), fc03_reply(UNIT, [203, 0, 600, 0, 455]))
        await dev.expect(fc03(UNIT, 0x2407, 1), fc03_reply(UNIT, [WRITING]))
        reading = await task
        assert (reading.pv_c, reading.sp_c, reading.output_pct) == (pv_c, sp_c, 45.5)
        assert not (reading.sensor_break or reading.manual)
        task = asyncio.create_task(ctl.read())  # learnt: no second 0x2410 read
        await dev.expect(fc03(UNIT, 0x2000, 5), fc03_reply(UNIT, [0xFFFB, 0, 0, 0, 0]))
        await dev.expect(fc03(UNIT, 0x2407, 1), fc03_reply(UNIT, [0]))
        assert (await task).pv_c == -5 / 10**decimals
        await ctl.close()


async def test_a_decimals_option_is_refused_naming_the_device() -> None:
    with pytest.raises(ConfigError, match=r"kiln2: remove option 'decimals'.*decimal point"):
        open_device("kiln2", "omron_e5cc", "modbus-tcp://127.0.0.1:1", decimals=0)


async def test_input_error_alarm_and_manual_bits() -> None:
    async with pty_device() as dev:
        ctl = open_e5cc(dev)
        task = asyncio.create_task(ctl.read())
        await expect_resolution(dev, 0)
        await dev.expect(
            fc03(UNIT, 0x2000, 5), fc03_reply(UNIT, [0, (1 << 6) | (1 << 12), 0, 0, 0])
        )
        await dev.expect(fc03(UNIT, 0x2407, 1), fc03_reply(UNIT, [MANUAL]))
        reading = await task
        assert reading.sensor_break and reading.alarm and reading.manual
        await ctl.close()


async def expect_prepare(dev: PtyDevice, status_high: int = WRITING | RAM) -> None:
    """Comms writing ON (00/01), RAM write mode (04/01), RUN (01/00), status read back."""
    for word in (0x0001, 0x0401, 0x0100):
        await dev.expect(fc06(UNIT, 0x0000, word), fc06(UNIT, 0x0000, word))
    await dev.expect(fc03(UNIT, 0x2407, 1), fc03_reply(UNIT, [status_high]))


async def expect_setpoint(dev: PtyDevice, word: int) -> None:
    """FC06 to 0x2103, echoed, then read back."""
    await dev.expect(fc06(UNIT, 0x2103, word), fc06(UNIT, 0x2103, word))
    await dev.expect(fc03(UNIT, 0x2103, 1), fc03_reply(UNIT, [word]))


async def test_setpoint_stream_selects_ram_write_mode_and_confirms_it() -> None:
    async with pty_device() as dev:
        ctl = open_e5cc(dev)
        task = asyncio.create_task(ctl.set_setpoint(55))
        await expect_resolution(dev, 0)
        await expect_prepare(dev)
        await expect_setpoint(dev, 55)
        await task
        task = asyncio.create_task(ctl.set_setpoint(56))  # prepared: just the setpoint
        await expect_setpoint(dev, 56)
        await task
        await ctl.close()


async def test_a_controller_staying_in_backup_write_mode_is_not_streamed_to() -> None:
    async with pty_device() as dev:
        ctl = open_e5cc(dev)
        task = asyncio.create_task(ctl.set_setpoint(55))
        await expect_resolution(dev, 0)
        await expect_prepare(dev, status_high=WRITING)  # b20 still 0: backup mode
        with pytest.raises(WriteNotConfirmed, match=r"RAM write mode.*0x0200"):
            await task
        await ctl.close()


async def test_operation_error_prepares_writing_again_and_retries_once() -> None:
    """Exception 04 (H175 §4-1-3: Communications Writing OFF, e.g. after a power cycle)."""
    async with pty_device() as dev:
        ctl = open_e5cc(dev)
        task = asyncio.create_task(ctl.set_setpoint(55))
        await expect_resolution(dev, 1)
        await expect_prepare(dev)
        await dev.expect(fc06(UNIT, 0x2103, 550), exception_reply(UNIT, 0x06, 4))
        await expect_prepare(dev)
        await expect_setpoint(dev, 550)
        await task
        await ctl.close()


async def expect_safe(dev: PtyDevice, status_high: int) -> None:
    """Comms writing ON, automatic (09/00), SP 0 read back, STOP, status read back."""
    for word in (0x0001, 0x0900):
        await dev.expect(fc06(UNIT, 0x0000, word), fc06(UNIT, 0x0000, word))
    await expect_setpoint(dev, 0)
    await dev.expect(STOP_FRAME, STOP_FRAME)
    await dev.expect(fc03(UNIT, 0x2407, 1), fc03_reply(UNIT, [status_high]))


async def test_safe_leaves_manual_then_stops_and_reads_it_back() -> None:
    assert fc06(UNIT, 0x0000, 0x0101) == STOP_FRAME
    async with pty_device() as dev:
        ctl = open_e5cc(dev)
        task = asyncio.create_task(ctl.safe())  # 0 °C needs no resolution: not read first
        await expect_safe(dev, WRITING | STOP)
        await task
        # Still in manual after all (the panel won): not safe, and said so.
        task = asyncio.create_task(ctl.safe())
        await expect_safe(dev, WRITING | STOP | MANUAL)
        with pytest.raises(WriteNotConfirmed, match="heat off"):
            await task
        await ctl.close()


async def test_no_parity_takes_two_stop_bits_on_the_port() -> None:
    """H175: Modbus needs 8 data bits, 1 stop bit with even/odd parity, 2 without."""
    async with pty_device() as dev:
        ctl = open_e5cc(dev)  # parity=N, stop bits not given
        task = asyncio.create_task(ctl.read())
        await dev.expect(fc03(UNIT, 0x2410, 1), None)
        cflag = termios.tcgetattr(dev.slave)[2]
        assert cflag & termios.CSTOPB and not cflag & termios.PARENB
        assert cflag & termios.CSIZE == termios.CS8
        dev.write(fc03_reply(UNIT, [0]))
        await dev.expect(fc03(UNIT, 0x2000, 5), fc03_reply(UNIT, [20, 0, 20, 0, 0]))
        await dev.expect(fc03(UNIT, 0x2407, 1), fc03_reply(UNIT, [0]))
        assert (await task).pv_c == 20.0
        await ctl.close()


def test_serial_defaults_and_refusals_follow_the_manual() -> None:
    def settings(query: str) -> tuple[str, int, int]:
        address = serial_settings(parse_address(f"modbus-rtu:///dev/ttyS0?{query}"), "kiln2")
        return address.parity, address.stopbits, address.bytesize

    assert settings("unit=1") == ("E", 1, 8)  # factory: even parity
    assert settings("parity=O") == ("O", 1, 8)
    assert settings("parity=N") == ("N", 2, 8)
    with pytest.raises(ConfigError, match=r"kiln2 .*stopbits=2 with parity=N"):
        settings("parity=N&stopbits=1")
    with pytest.raises(ConfigError, match="stopbits=1 with parity=E"):
        settings("stopbits=2")
    with pytest.raises(ConfigError, match="8 data bits"):
        settings("bytesize=7")
    tcp = parse_address("modbus-tcp://127.0.0.1:502?unit=1")
    assert serial_settings(tcp, "kiln2") is tcp


async def test_direct_output_is_refused_as_a_config_problem() -> None:
    ctl = open_device("tank1", "omron_e5cc", "modbus-tcp://127.0.0.1:1")
    with pytest.raises(ConfigError, match='mode = "setpoint"'):
        await ctl.set_output(10.0)
