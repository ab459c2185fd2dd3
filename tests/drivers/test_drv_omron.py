"""Omron E5CC: byte-exact frames (manual H175, two-byte mode) on a real pty."""

from __future__ import annotations

import asyncio

import pytest
from drv_wire import PtyDevice, fc03, fc03_reply, fc06, pty_device

from drivers.errors import ConfigError
from drivers.registry import open_device

UNIT = 3


def open_e5cc(dev: PtyDevice):  # type: ignore[no-untyped-def]
    url = f"modbus-rtu://{dev.path}?baud=9600&unit={UNIT}&timeout=0.3&retries=0"
    return open_device("tank1", "omron_e5cc", url)


async def test_read_pv_status_internal_sp_and_mv_in_one_request() -> None:
    async with pty_device() as dev:
        ctl = open_e5cc(dev)
        task = asyncio.create_task(ctl.read())
        # 0x2000 PV, 0x2001 status, 0x2002 internal SP, 0x2003, 0x2004 MV ×10
        await dev.expect(fc03(UNIT, 0x2000, 5), fc03_reply(UNIT, [0xFFFB, 0, 60, 0, 455]))
        await dev.expect(fc03(UNIT, 0x2406, 1), fc03_reply(UNIT, [1 << 14]))  # status 2
        reading = await task
        assert (reading.pv_c, reading.sp_c, reading.output_pct) == (-5.0, 60.0, 45.5)
        assert not (reading.sensor_break or reading.manual)
        await ctl.close()


async def test_input_error_and_alarm_bits() -> None:
    async with pty_device() as dev:
        ctl = open_e5cc(dev)
        task = asyncio.create_task(ctl.read())
        await dev.expect(
            fc03(UNIT, 0x2000, 5), fc03_reply(UNIT, [0, (1 << 6) | (1 << 12), 0, 0, 0])
        )
        await dev.expect(fc03(UNIT, 0x2406, 1), fc03_reply(UNIT, [1 << 10]))  # manual
        reading = await task
        assert reading.sensor_break and reading.alarm and reading.manual
        await ctl.close()


async def test_setpoint_sends_comms_writing_on_first() -> None:
    async with pty_device() as dev:
        ctl = open_e5cc(dev)
        task = asyncio.create_task(ctl.set_setpoint(55))
        await dev.expect(fc06(UNIT, 0x0000, 0x0001), fc06(UNIT, 0x0000, 0x0001))
        await dev.expect(fc06(UNIT, 0x2103, 55), fc06(UNIT, 0x2103, 55))
        await dev.expect(fc03(UNIT, 0x2103, 1), fc03_reply(UNIT, [55]))
        await task
        task = asyncio.create_task(ctl.set_setpoint(56))
        await dev.expect(fc06(UNIT, 0x2103, 56), fc06(UNIT, 0x2103, 56))
        await dev.expect(fc03(UNIT, 0x2103, 1), fc03_reply(UNIT, [56]))
        await task
        await ctl.close()


async def test_direct_output_is_refused_as_a_config_problem() -> None:
    ctl = open_device("tank1", "omron_e5cc", "modbus-tcp://127.0.0.1:1")
    with pytest.raises(ConfigError, match='mode = "setpoint"'):
        await ctl.set_output(10.0)
