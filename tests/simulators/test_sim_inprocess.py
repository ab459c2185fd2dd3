"""In-process devices for dry runs: structural fit to the drivers' Protocols, behaviour,
determinism on a virtual clock (per-call cost: bench/bench_sim_inprocess.py)."""

from __future__ import annotations

import dataclasses

import pytest
from sim_fake_time import FakeTime

from drivers.protocols import (
    Rectifier,
    RectifierReading,
    RegulationMode,
    TemperatureController,
    TemperatureReading,
)
from simulators.inprocess import (
    SimBathHeater,
    SimKilnController,
    SimRectifier,
    SimRectifierReading,
    SimTemperatureReading,
)
from simulators.physics import KilnParams, PlatingCell


def field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def test_readings_have_exactly_the_protocol_fields() -> None:
    assert field_names(SimTemperatureReading) == field_names(TemperatureReading)
    assert field_names(SimRectifierReading) == field_names(RectifierReading)


def test_devices_satisfy_the_protocols_structurally(clock: FakeTime) -> None:
    assert isinstance(SimKilnController("kiln1", clock), TemperatureController)
    assert isinstance(SimBathHeater("heater", clock), TemperatureController)
    assert isinstance(SimRectifier("rect", clock), Rectifier)


async def test_kiln_follows_setpoint_and_direct_output(clock: FakeTime) -> None:
    kiln = SimKilnController("kiln1", clock, seed=1)
    await kiln.set_setpoint(500.0)
    clock.advance(2 * 3600.0)
    reading = await kiln.read()
    assert reading.pv_c == pytest.approx(500.0, abs=1.5)
    assert reading.sp_c == 500.0 and not reading.manual
    await kiln.set_output(0.0)
    clock.advance(600.0)
    reading = await kiln.read()
    assert reading.manual and reading.output_pct == 0.0
    assert reading.pv_c < 480.0
    await kiln.set_setpoint(500.0)
    assert not (await kiln.read()).manual


async def test_kiln_faults_and_safe(clock: FakeTime) -> None:
    kiln = SimKilnController("kiln1", clock, params=KilnParams(tc_noise_c=0.0))
    await kiln.set_setpoint(790.0)
    clock.advance(60.0)
    kiln.inject("tc_open")
    clock.advance(2.0)
    reading = await kiln.read()
    assert reading.sensor_break and reading.output_pct == 0.0
    kiln.clear()
    kiln.inject("stuck_relay")
    await kiln.safe()
    clock.advance(600.0)
    reading = await kiln.read()
    assert reading.output_pct == 0.0 and reading.pv_c > 100.0
    assert kiln.faults == {"stuck_relay"}
    kiln.set_door(True)
    await kiln.close()


async def test_rectifier_reads_like_a_rectifier_reading(clock: FakeTime) -> None:
    rect = SimRectifier("nickel", clock)
    await rect.set_voltage_limit(12.0)
    await rect.set_current(36.0)
    await rect.enable()
    clock.advance(3600.0)
    reading = await rect.read()
    assert reading.mode == RegulationMode.CC
    assert reading.output_on and reading.amps == pytest.approx(36.0, rel=0.01)
    assert reading.amp_hours == pytest.approx(36.0)
    assert (reading.volts_setpoint, reading.amps_setpoint) == (12.0, 36.0)
    rect.inject("over_temperature")
    reading = await rect.read()
    assert reading.over_temperature and reading.fault and not reading.output_on
    await rect.safe()
    assert (await rect.read()).amps_setpoint == 0.0
    await rect.close()


async def test_rectifier_protection_trips_show_in_the_reading(clock: FakeTime) -> None:
    rect = SimRectifier("nickel", clock)
    await rect.set_current(36.0)
    rect.cell.set_protection(ocp_a=30.0)
    await rect.enable()
    reading = await rect.read()
    assert reading.over_current_trip and not reading.output_on and reading.amps == 0.0
    rect.cell.set_protection(ovp_v=3.0)
    await rect.enable()  # CC at 36 A needs ~5 V: over the 3 V level
    reading = await rect.read()
    assert reading.over_voltage_trip and not reading.over_current_trip
    assert not reading.output_on


async def test_heater_and_rectifier_share_one_tank(clock: FakeTime) -> None:
    cell = PlatingCell(time_fn=clock)
    heater = SimBathHeater("heater", clock, cell=cell)
    rect = SimRectifier("rect", clock, cell=cell)
    await heater.set_setpoint(58.0)
    clock.advance(3 * 3600.0)
    assert (await heater.read()).pv_c == pytest.approx(58.0, abs=0.5)
    assert rect.cell.bath.chamber_c == pytest.approx(58.0, abs=1.0)


async def run_firing(seed: int, ticks: int) -> list[SimTemperatureReading]:
    clock = FakeTime(0.0)
    kiln = SimKilnController("kiln1", clock, seed=seed)
    out = []
    for tick in range(ticks):
        clock.t = float(tick)
        await kiln.set_setpoint(min(790.0, 20.0 + tick * 300.0 / 3600.0))
        out.append(await kiln.read())
    return out


async def test_same_seed_same_run() -> None:
    assert await run_firing(4, 2000) == await run_firing(4, 2000)
    assert await run_firing(4, 2000) != await run_firing(5, 2000)


async def test_ten_hour_firing_at_1s_ticks_reaches_its_soak() -> None:
    # its cost a control period is bench_sim_inprocess's figure (a timed assertion here
    # failed on a loaded machine)
    readings = await run_firing(0, 36_000)
    assert readings[-1].pv_c == pytest.approx(790.0, abs=2.0)
