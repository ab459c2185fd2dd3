"""Plating cell physics: CC -> CV, amp-hours = ∫I dt, faults, bath temperature."""

from __future__ import annotations

import pytest
from sim_fake_time import FakeTime

from simulators.inprocess import SimBathHeater
from simulators.physics import PlatingCell, PlatingParams

FLAT = PlatingParams(noise_frac=0.0, resistance_temp_coeff_per_c=0.0)
"""Temperature-independent resistance (0.09 Ω), no ripple: hand-computable."""


def test_cc_while_needed_voltage_is_under_the_limit_then_cv(clock: FakeTime) -> None:
    cell = PlatingCell(FLAT, clock)
    cell.set_voltage_limit(6.0)
    cell.enable()
    cell.set_current(36.0)  # needs 1.8 + 36 × 0.09 = 5.04 V
    op = cell.read()
    assert (op.mode, op.amps, op.volts) == ("CC", 36.0, pytest.approx(5.04))
    cell.set_current(60.0)  # would need 7.2 V
    op = cell.read()
    assert op.mode == "CV"
    assert op.volts == 6.0
    assert op.amps == pytest.approx((6.0 - 1.8) / 0.09)
    cell.set_voltage_limit(1.0)  # under the decomposition voltage: no current
    assert cell.read().amps == 0.0


def test_amp_hours_integrate_current_over_time(clock: FakeTime) -> None:
    cell = PlatingCell(FLAT, clock)
    cell.enable()
    cell.set_current(36.0)
    clock.advance(600.0)  # 6 Ah
    cell.set_current(12.0)
    clock.advance(1800.5)  # 6.001667 Ah
    cell.disable()
    clock.advance(3600.0)  # off: nothing
    cell.sync()
    assert cell.amp_hours == pytest.approx(6.0 + 12.0 * 1800.5 / 3600, rel=1e-9)
    assert cell.on_time_s == pytest.approx(2400.5)
    assert cell.watt_hours == pytest.approx(
        36 * (1.8 + 36 * 0.09) / 6 + 12 * (1.8 + 12 * 0.09) * 1800.5 / 3600
    )


def test_open_circuit_voltage_rises_to_the_limit_with_no_current(clock: FakeTime) -> None:
    cell = PlatingCell(FLAT, clock)
    cell.set_voltage_limit(12.0)
    cell.set_current(36.0)
    cell.enable()
    cell.inject("open_circuit")
    op = cell.read()
    assert (op.volts, op.amps, op.mode) == (12.0, 0.0, "CV")
    clock.advance(3600.0)
    cell.sync()
    assert cell.amp_hours == 0.0


def test_over_temperature_trips_the_output_until_cleared_and_reenabled(clock: FakeTime) -> None:
    cell = PlatingCell(FLAT, clock)
    cell.set_current(10.0)
    cell.enable()
    cell.inject("over_temperature")
    assert not cell.output_on and cell.over_temperature
    assert cell.read().amps == 0.0
    cell.enable()
    assert not cell.output_on
    cell.clear("over_temperature")
    assert not cell.output_on and not cell.over_temperature
    cell.enable()
    assert cell.read().amps == 10.0


def test_ratings_are_enforced(clock: FakeTime) -> None:
    cell = PlatingCell(FLAT, clock)
    with pytest.raises(ValueError, match=r"0\.\.100"):
        cell.set_current(101.0)
    with pytest.raises(ValueError, match=r"0\.\.20"):
        cell.set_voltage_limit(25.0)


async def test_bath_heater_warms_the_bath_and_lowers_its_resistance(clock: FakeTime) -> None:
    cell = PlatingCell(PlatingParams(noise_frac=0.0), clock)
    heater = SimBathHeater("nickel_heater", clock, cell=cell)
    cold = cell.resistance_ohm()
    await heater.set_setpoint(58.0)
    clock.advance(3 * 3600.0)
    reading = await heater.read()
    assert reading.pv_c == pytest.approx(58.0, abs=0.5)
    assert 20.0 <= reading.output_pct <= 50.0  # holds 58 °C at about a third of 3 kW
    cell.sync()
    assert cell.resistance_ohm() < 0.7 * cold


def test_ripple_noise_is_seeded(clock: FakeTime) -> None:
    def volts(seed: int) -> list[float]:
        local = FakeTime()
        cell = PlatingCell(PlatingParams(), local, seed=seed)
        cell.set_current(20.0)
        cell.enable()
        out = []
        for _ in range(20):
            local.advance(1.0)
            out.append(cell.read().volts)
        return out

    assert volts(1) == volts(1)
    assert volts(1) != volts(2)
