"""Riden RD60xx: model detection and per-model scaling, byte-exact on a real pty."""

from __future__ import annotations

import asyncio

import pytest
from drv_wire import PtyDevice, fc03, fc03_reply, fc06, pty_device

from drivers.errors import ConfigError, WriteNotConfirmed
from drivers.protocols import RegulationMode
from drivers.registry import open_device


def open_riden(dev: PtyDevice):  # type: ignore[no-untyped-def]
    url = f"modbus-rtu://{dev.path}?baud=115200&unit=1&timeout=0.3&retries=0"
    return open_device("nickel", "riden", url)


def block(
    v_set: int, i_set: int, v_out: int, i_out: int, prot: int, cc: int, out: int, ah_milli: int
) -> list[int]:
    words = [0] * 32  # registers 8..39
    words[0:4] = [v_set, i_set, v_out, i_out]
    words[16 - 8], words[17 - 8], words[18 - 8] = prot, cc, out
    words[38 - 8], words[39 - 8] = ah_milli >> 16, ah_milli & 0xFFFF
    return words


@pytest.mark.parametrize(
    "model_id, raw_v, raw_i, volts, amps",
    [
        (60062, 1234, 2500, 12.34, 2.5),  # RD6006: V/100, I/1000
        (60065, 12340, 25000, 12.34, 2.5),  # RD6006P: V/1000, I/10000
        (60121, 1234, 250, 12.34, 2.5),  # RD6012: V/100, I/100
        (60181, 1234, 250, 12.34, 2.5),  # RD6018: V/100, I/100
    ],
)
async def test_model_id_picks_the_scaling(
    model_id: int, raw_v: int, raw_i: int, volts: float, amps: float
) -> None:
    async with pty_device() as dev:
        psu = open_riden(dev)
        task = asyncio.create_task(psu.read())
        await dev.expect(fc03(1, 0, 1), fc03_reply(1, [model_id]))
        await dev.expect(
            fc03(1, 8, 32), fc03_reply(1, block(raw_v, raw_i, raw_v, raw_i, 0, 1, 1, 70000))
        )
        r = await task
        assert (r.volts, r.amps, r.volts_setpoint, r.amps_setpoint) == (volts, amps, volts, amps)
        assert r.mode is RegulationMode.CC and r.output_on
        assert r.amp_hours == 70.0
        await psu.close()


async def test_protection_status_and_cv() -> None:
    async with pty_device() as dev:
        psu = open_riden(dev)
        task = asyncio.create_task(psu.read())
        await dev.expect(fc03(1, 0, 1), fc03_reply(1, [60121]))
        await dev.expect(fc03(1, 8, 32), fc03_reply(1, block(0, 0, 0, 0, 2, 0, 0, 0)))
        r = await task
        assert r.over_current_trip and not r.over_voltage_trip
        assert r.mode is RegulationMode.CV and not r.output_on
        await psu.close()


async def test_unknown_model_is_refused_by_name() -> None:
    async with pty_device() as dev:
        psu = open_riden(dev)
        task = asyncio.create_task(psu.read())
        await dev.expect(fc03(1, 0, 1), fc03_reply(1, [12345]))
        with pytest.raises(ConfigError, match="unknown Riden model id 12345"):
            await task
        await psu.close()


async def test_a_supply_of_unknown_model_is_still_made_safe() -> None:
    """safe() needs no scaling (output off, current 0): it works before the model id was
    read, and for a model this driver does not know."""
    async with pty_device() as dev:
        psu = open_riden(dev)
        task = asyncio.create_task(psu.safe())
        await dev.expect(fc06(1, 18, 0), fc06(1, 18, 0))
        await dev.expect(fc03(1, 18, 1), fc03_reply(1, [0]))
        await dev.expect(fc06(1, 9, 0), fc06(1, 9, 0))
        await dev.expect(fc03(1, 9, 1), fc03_reply(1, [0]))
        await task
        await psu.close()


async def test_set_current_and_enable_are_read_back() -> None:
    async with pty_device() as dev:
        psu = open_riden(dev)
        task = asyncio.create_task(psu.set_current(1.5))
        await dev.expect(fc03(1, 0, 1), fc03_reply(1, [60062]))
        await dev.expect(fc06(1, 9, 1500), fc06(1, 9, 1500))
        await dev.expect(fc03(1, 9, 1), fc03_reply(1, [1500]))
        await task
        task = asyncio.create_task(psu.enable())
        await dev.expect(fc06(1, 18, 1), fc06(1, 18, 1))
        await dev.expect(fc03(1, 18, 1), fc03_reply(1, [0]))  # output refused to come on
        with pytest.raises(WriteNotConfirmed, match="output"):
            await task
        await psu.close()


async def test_safe_turns_output_off_then_current_to_zero() -> None:
    async with pty_device() as dev:
        url = f"modbus-rtu://{dev.path}?unit=1&timeout=0.3&retries=0"
        psu = open_device("gold", "riden", url, model_id=60181)
        task = asyncio.create_task(psu.safe())
        await dev.expect(fc06(1, 18, 0), fc06(1, 18, 0))
        await dev.expect(fc03(1, 18, 1), fc03_reply(1, [0]))
        await dev.expect(fc06(1, 9, 0), fc06(1, 9, 0))
        await dev.expect(fc03(1, 9, 1), fc03_reply(1, [0]))
        await task
        await psu.close()
