"""Riden RD60xx family: every model by its id, byte-exact on a real pty, and the driver
against the simulated supply of each model over the simulator's RTU pty.

Source of ids and scaling: the community register maps — Baldanos/rd6006 (registers.md,
rd6006/rd6006.py: RD6006 I ÷1000; `id // 10` gives 6012, 6018, 6024 with I ÷100) and
ShayBox/Riden (riden/riden.py: 60060-60064 RD6006, 60065 RD6006P V ÷1000 I ÷10000,
60120-60124 RD6012, 60125-60129 RD6012P V ÷1000 with I ÷10000 when register 20 = 0 (6 A
range) or ÷1000 when 1 (12 A range) — PR #8 "Support for RD6012p"; 60180-60189 RD6018;
RD6024 from 60241, added in commit "Add RD6024").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from drv_wire import PtyDevice, SimTime, fc03, fc03_reply, fc06, pty_device

from drivers.errors import ConfigError, ModbusExceptionError, WriteNotConfirmed
from drivers.registry import open_device
from drivers.riden import model_for_id
from simulators.devices import build
from simulators.servers.modbus_rtu import ModbusRtuServer


def open_riden(dev: PtyDevice):  # type: ignore[no-untyped-def]
    url = f"modbus-rtu://{dev.path}?baud=115200&unit=1&timeout=0.3&retries=0"
    return open_device("gold", "riden", url)


def block(v_set: int, i_set: int, current_range: int = 0) -> list[int]:
    """Registers 8..39 with the setpoints also as outputs, CC, output on, range at 20."""
    words = [0] * 32
    words[0:4] = [v_set, i_set, v_set, i_set]
    words[17 - 8], words[18 - 8], words[20 - 8] = 1, 1, current_range
    return words


@pytest.mark.parametrize(
    "ids, name",
    [
        ((60060, 60064), "RD6006"),
        ((60065, 60065), "RD6006P"),
        ((60120, 60124), "RD6012"),
        ((60125, 60129), "RD6012P"),
        ((60180, 60189), "RD6018"),
        ((60240, 60249), "RD6024"),
    ],
)
def test_every_id_of_the_family_names_its_model(ids: tuple[int, int], name: str) -> None:
    for model_id in range(ids[0], ids[1] + 1):
        assert model_for_id(model_id).name == name


@pytest.mark.parametrize("model_id", [60059, 60067, 60119, 60130, 60190, 60250, 12345])
def test_an_unknown_id_is_refused_by_number(model_id: int) -> None:
    with pytest.raises(ConfigError, match=f"unknown Riden model id {model_id} .*60125-60129"):
        model_for_id(model_id)


def test_an_id_named_by_a_map_without_scaling_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"60066 is an RK6006.*not supported"):
        model_for_id(60066)


async def test_rd6012p_set_current_2a_on_its_6a_range_writes_20000() -> None:
    """The issue's example: an RD6012P (60125) taken for an RD6012 wrote 200 for 2.0 A —
    0.02 A at the P's ÷10000 — and the read-back of 200 "confirmed" it."""
    async with pty_device() as dev:
        psu = open_riden(dev)
        task = asyncio.create_task(psu.set_current(2.0))
        await dev.expect(fc03(1, 0, 1), fc03_reply(1, [60125]))
        await dev.expect(fc03(1, 20, 1), fc03_reply(1, [0]))  # 6 A range: ÷10000
        await dev.expect(fc06(1, 9, 20000), fc06(1, 9, 20000))
        await dev.expect(fc03(1, 9, 1), fc03_reply(1, [20000]))
        await task
        task = asyncio.create_task(psu.set_current(8.0))  # the 12 A range now: ÷1000
        await dev.expect(fc03(1, 20, 1), fc03_reply(1, [1]))
        await dev.expect(fc06(1, 9, 8000), fc06(1, 9, 8000))
        await dev.expect(fc03(1, 9, 1), fc03_reply(1, [8000]))
        await task
        await psu.close()


async def test_rd6012p_8a_does_not_fit_its_6a_range() -> None:
    async with pty_device() as dev:
        psu = open_riden(dev)
        task = asyncio.create_task(psu.set_current(8.0))
        await dev.expect(fc03(1, 0, 1), fc03_reply(1, [60127]))
        await dev.expect(fc03(1, 20, 1), fc03_reply(1, [0]))
        with pytest.raises(WriteNotConfirmed, match=r"8 A is beyond .*÷10000"):
            await task
        await psu.close()


@pytest.mark.parametrize(
    "model_id, current_range, raw_v, raw_i",
    [
        (60125, 0, 12340, 25000),  # RD6012P, 6 A range: V ÷1000, I ÷10000
        (60129, 1, 12340, 2500),  # RD6012P, 12 A range: V ÷1000, I ÷1000
        (60060, 0, 1234, 2500),  # RD6006: I ÷1000
        (60241, 0, 1234, 250),  # RD6024: I ÷100
    ],
)
async def test_readings_use_the_range_read_in_the_same_request(
    model_id: int, current_range: int, raw_v: int, raw_i: int
) -> None:
    async with pty_device() as dev:
        psu = open_riden(dev)
        task = asyncio.create_task(psu.read())
        await dev.expect(fc03(1, 0, 1), fc03_reply(1, [model_id]))
        await dev.expect(fc03(1, 8, 32), fc03_reply(1, block(raw_v, raw_i, current_range)))
        r = await task
        assert (r.volts, r.amps, r.volts_setpoint, r.amps_setpoint) == (12.34, 2.5, 12.34, 2.5)
        await psu.close()


# -- the driver against the simulated supply of each model, over the RTU pty ----------------


@pytest.fixture
async def supplies() -> AsyncIterator[tuple[ModbusRtuServer, SimTime]]:
    clock = SimTime()
    models = ("RD6006", "RD6006P", "RD6012", "RD6012P", "RD6018", "RD6024")
    slaves = {i: build("riden", unit=i, time_fn=clock, model=m) for i, m in enumerate(models, 1)}
    server = ModbusRtuServer(slaves, baud=115200, turnaround_s=0.001)
    await server.start()
    yield server, clock
    await server.close()


@pytest.mark.parametrize("unit, name", [(1, "RD6006"), (2, "RD6006P"), (3, "RD6012"),
                                        (4, "RD6012P"), (5, "RD6018"), (6, "RD6024")])  # fmt: skip
async def test_each_simulated_model_holds_what_the_driver_sets(
    supplies: tuple[ModbusRtuServer, SimTime], unit: int, name: str
) -> None:
    server, clock = supplies
    psu = open_device("gold", "riden", server.url(unit) + "&timeout=0.3")
    assert (await psu.identify()).name == name  # type: ignore[union-attr]
    await psu.set_voltage_limit(6.0)
    await psu.set_current(2.0)
    await psu.enable()
    clock.t += 60.0
    r = await psu.read()
    cell = server.slaves[unit].cell  # type: ignore[attr-defined]
    assert cell.current_setpoint_a == pytest.approx(2.0)  # the supply's own idea, in amps
    assert r.amps_setpoint == pytest.approx(2.0) and r.volts_setpoint == pytest.approx(6.0)
    assert r.amps == pytest.approx(2.0, abs=0.1)  # CC at 2 A, with the cell's noise
    assert r.amp_hours == pytest.approx(cell.amp_hours, abs=0.002)
    await psu.safe()
    await psu.close()


async def test_the_simulated_rd6012p_switches_range_and_the_driver_follows(
    supplies: tuple[ModbusRtuServer, SimTime],
) -> None:
    server, _ = supplies
    psu = open_device("gold", "riden", server.url(4) + "&timeout=0.3")
    with pytest.raises(WriteNotConfirmed, match="beyond"):
        await psu.set_current(8.0)  # the 6 A range at power-up
    await psu.link.write_register(20, 1)  # type: ignore[union-attr]  # front panel: 12 A range
    await psu.set_current(8.0)
    assert server.slaves[4].cell.current_setpoint_a == pytest.approx(8.0)  # type: ignore[attr-defined]
    assert (await psu.read()).amps_setpoint == pytest.approx(8.0)
    with pytest.raises(ModbusExceptionError, match="code 3"):
        await psu.set_current(12.5)  # beyond the RD6012P's 12 A: illegal data value
    await psu.close()
