"""Eurotherm 3216: byte-exact frames from manual HA028651 §15.5 on a real pty."""

from __future__ import annotations

import asyncio

import pytest
from drv_wire import (
    PtyDevice,
    exception_reply,
    fc03,
    fc03_reply,
    fc06,
    float_words,
    pty_device,
)

from drivers.errors import WriteNotConfirmed
from drivers.protocols import TemperatureController
from drivers.registry import open_device

UNIT = 1


def floats(*values: float) -> list[int]:
    return [w for v in values for w in float_words(v)]


async def answer_read(dev: PtyDevice, pv: float, wrk_op: float, wkg_sp: float, stat: int) -> None:
    # Float region 0x8000 + 2*addr for addr 1..5: PV.IN, TG.SP, MAN.OP, WRK.OP, WKG.SP.
    await dev.expect(fc03(UNIT, 0x8002, 10), fc03_reply(UNIT, floats(pv, 0, 0, wrk_op, wkg_sp)))
    await dev.expect(fc03(UNIT, 75, 1), fc03_reply(UNIT, [stat]))


def open_kiln(dev: PtyDevice) -> TemperatureController:
    url = f"modbus-rtu://{dev.path}?baud=9600&unit={UNIT}&timeout=0.3&retries=0"
    kiln = open_device("kiln1", "eurotherm3216", url, decimals=1)
    assert isinstance(kiln, TemperatureController)
    return kiln  # type: ignore[return-value]


async def test_read_uses_full_resolution_floats_and_status_word() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.read())
        await answer_read(dev, 851.25, 37.5, 850.0, 0)
        reading = await task
        assert (reading.pv_c, reading.sp_c, reading.output_pct) == (851.25, 850.0, 37.5)
        assert not (reading.sensor_break or reading.alarm or reading.manual)
        await kiln.close()


@pytest.mark.parametrize(
    "stat, flag",
    [
        (1 << 5, "sensor_break"),
        (1 << 4, "manual"),
        (1 << 10, "over_range"),
        (1 << 14, "remote_sp_fail"),
        (1 << 0, "alarm"),
        (1 << 3, "alarm"),
    ],
)
async def test_status_bits(stat: int, flag: str) -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.read())
        await answer_read(dev, 20.0, 0.0, 20.0, stat)
        reading = await task
        flags = {
            f
            for f in ("sensor_break", "manual", "over_range", "remote_sp_fail", "alarm")
            if getattr(reading, f)
        }
        assert flags == {flag}
        await kiln.close()


async def test_setpoint_selects_remote_when_local_then_streams_rm_sp_never_tg_sp() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.set_setpoint(512.3))
        # L-R (276) is read first: local (0), so it is written 1, echo, read back
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [0]))
        await dev.expect(fc06(UNIT, 276, 1), fc06(UNIT, 276, 1))
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        # Rm.SP (26) = 5123 with one decimal, echo, read back
        await dev.expect(fc06(UNIT, 26, 5123), fc06(UNIT, 26, 5123))
        await dev.expect(fc03(UNIT, 26, 1), fc03_reply(UNIT, [5123]))
        await task
        # L-R still remote: not written again (no EEPROM wear), only Rm.SP
        task = asyncio.create_task(kiln.set_setpoint(515.0))
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        await dev.expect(fc06(UNIT, 26, 5150), fc06(UNIT, 26, 5150))
        await dev.expect(fc03(UNIT, 26, 1), fc03_reply(UNIT, [5150]))
        await task
        await kiln.close()


async def test_remote_setpoint_reasserted_after_panel_switch_or_power_cycle() -> None:
    """Someone switched the controller to local at its panel (or it was power-cycled):
    the next setpoint write selects remote again instead of writing an unused Rm.SP."""
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.set_setpoint(500.0))
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        await dev.expect(fc06(UNIT, 26, 5000), fc06(UNIT, 26, 5000))
        await dev.expect(fc03(UNIT, 26, 1), fc03_reply(UNIT, [5000]))
        await task
        task = asyncio.create_task(kiln.set_setpoint(501.0))
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [0]))  # local now
        await dev.expect(fc06(UNIT, 276, 1), fc06(UNIT, 276, 1))
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        await dev.expect(fc06(UNIT, 26, 5010), fc06(UNIT, 26, 5010))
        await dev.expect(fc03(UNIT, 26, 1), fc03_reply(UNIT, [5010]))
        await task
        await kiln.close()


async def test_setpoint_read_back_mismatch_is_not_confirmed() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.set_setpoint(100.0))
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [0]))
        await dev.expect(fc06(UNIT, 276, 1), fc06(UNIT, 276, 1))
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        await dev.expect(fc06(UNIT, 26, 1000), fc06(UNIT, 26, 1000))
        await dev.expect(fc03(UNIT, 26, 1), fc03_reply(UNIT, [900]))
        with pytest.raises(WriteNotConfirmed, match=r"Rm\.SP"):
            await task
        await kiln.close()


async def test_acknowledge_alarms_writes_ac_all() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.acknowledge_alarms())  # type: ignore[attr-defined]
        await dev.expect(fc06(UNIT, 274, 1), fc06(UNIT, 274, 1))  # AC.ALL
        await task
        await kiln.close()


async def test_safe_sets_remote_setpoint_to_zero() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.safe())
        await dev.expect(fc03(UNIT, 273, 1), fc03_reply(UNIT, [0]))  # A-M: auto
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [0]))  # L-R: local
        await dev.expect(fc06(UNIT, 276, 1), fc06(UNIT, 276, 1))
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        await dev.expect(fc06(UNIT, 26, 0), fc06(UNIT, 26, 0))
        await dev.expect(fc03(UNIT, 26, 1), fc03_reply(UNIT, [0]))
        await task
        await kiln.close()


async def test_safe_when_put_in_manual_at_the_panel_zeroes_the_output_first() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.safe())
        await dev.expect(fc03(UNIT, 273, 1), fc03_reply(UNIT, [1]))  # A-M: manual
        await dev.expect(fc06(UNIT, 3, 0), fc06(UNIT, 3, 0))  # MAN.OP 0 at once
        await dev.expect(fc03(UNIT, 3, 1), fc03_reply(UNIT, [0]))
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        await dev.expect(fc06(UNIT, 273, 0), fc06(UNIT, 273, 0))  # back to auto
        await dev.expect(fc03(UNIT, 273, 1), fc03_reply(UNIT, [0]))
        await dev.expect(fc06(UNIT, 26, 0), fc06(UNIT, 26, 0))
        await dev.expect(fc03(UNIT, 26, 1), fc03_reply(UNIT, [0]))
        await task
        await kiln.close()


async def test_safe_goes_on_when_the_unit_has_no_auto_manual_register() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.safe())
        await dev.expect(fc03(UNIT, 273, 1), exception_reply(UNIT, 0x03, 2))
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        await dev.expect(fc06(UNIT, 26, 0), fc06(UNIT, 26, 0))
        await dev.expect(fc03(UNIT, 26, 1), fc03_reply(UNIT, [0]))
        await task
        await kiln.close()


async def test_safe_on_a_dead_line_raises_every_time() -> None:
    from drivers.errors import DeviceTimeout

    async with pty_device() as dev:
        kiln = open_kiln(dev)
        with pytest.raises(DeviceTimeout):
            await kiln.safe()
        with pytest.raises(DeviceTimeout):
            await kiln.safe()  # every failure is reported: the caller retries
        await kiln.close()
