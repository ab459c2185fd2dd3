"""Kiln thermal model: docs/process.md calibration targets, lag, door, faults, determinism."""

from __future__ import annotations

import statistics

import pytest
from sim_fake_time import FakeTime

from simulators.physics import ControlLoop, KilnModel, KilnParams

QUIET = KilnParams(tc_noise_c=0.0)


def _time_to(model: KilnModel, clock: FakeTime, done: object, limit_s: float) -> float:
    start = clock.t
    while clock.t - start < limit_s:
        clock.advance(10.0)
        model.sync()
        if callable(done) and done():
            return clock.t - start
    raise AssertionError("target not reached")


def test_heats_20_to_790_in_30_to_60_minutes_at_full_power(clock: FakeTime) -> None:
    kiln = KilnModel(QUIET, clock)
    kiln.set_power(1.0)
    seconds = _time_to(kiln, clock, lambda: kiln.chamber_c >= 790.0, 3 * 3600)
    assert 30 * 60 <= seconds <= 60 * 60


def test_tops_out_between_1000_and_1050_at_full_power(clock: FakeTime) -> None:
    kiln = KilnModel(QUIET, clock)
    kiln.set_power(1.0)
    clock.advance(20 * 3600)
    kiln.sync()
    assert 1000.0 <= kiln.chamber_c <= 1050.0


def test_cools_790_to_500_in_about_an_hour_door_shut(clock: FakeTime) -> None:
    kiln = KilnModel(KilnParams(tc_noise_c=0.0, initial_c=790.0), clock)
    seconds = _time_to(kiln, clock, lambda: kiln.chamber_c <= 500.0, 3 * 3600)
    assert 45 * 60 <= seconds <= 75 * 60


def test_holds_790_at_40_to_60_percent_output(clock: FakeTime) -> None:
    kiln = KilnModel(KilnParams(initial_c=20.0), clock, seed=3)
    loop = ControlLoop(kiln, clock)
    loop.set_target(790.0)
    clock.advance(3 * 3600)
    loop.sync()
    outputs, temps = [], []
    for _ in range(1800):
        clock.advance(1.0)
        loop.sync()
        outputs.append(loop.output_pct)
        temps.append(kiln.measured_c())
    assert 40.0 <= statistics.mean(outputs) <= 60.0
    assert abs(statistics.mean(t for t in temps if t is not None) - 790.0) < 0.5


def test_thermocouple_lags_the_chamber_by_tens_of_seconds(clock: FakeTime) -> None:
    kiln = KilnModel(QUIET, clock)
    kiln.set_power(1.0)
    clock.advance(600.0)
    kiln.sync()
    before = kiln.chamber_c
    clock.advance(1.0)
    kiln.sync()
    rate = kiln.chamber_c - before
    lag_s = (kiln.chamber_c - kiln.tc_c) / rate
    assert 10.0 <= lag_s <= 60.0


def test_loaded_pins_add_heat_capacity(clock: FakeTime) -> None:
    empty = KilnModel(QUIET, clock)
    loaded = KilnModel(KilnParams(tc_noise_c=0.0, load_mass_kg=3.0), clock)
    for kiln in (empty, loaded):
        kiln.set_power(1.0)
    clock.advance(1800.0)
    empty.sync()
    loaded.sync()
    assert loaded.chamber_c < empty.chamber_c - 20.0


def test_door_open_for_a_minute_drops_50_to_150_degrees(clock: FakeTime) -> None:
    kiln = KilnModel(KilnParams(tc_noise_c=0.0, initial_c=790.0), clock)
    kiln.set_power(0.48)
    kiln.set_door(True)
    clock.advance(60.0)
    kiln.set_door(False)
    assert 50.0 <= 790.0 - kiln.chamber_c <= 150.0


def test_door_opened_to_load_pv_drops_50_to_150_and_recovers_in_1_to_3_minutes(
    clock: FakeTime,
) -> None:
    kiln = KilnModel(KilnParams(tc_noise_c=0.0, initial_c=790.0), clock)
    loop = ControlLoop(kiln, clock)
    loop.set_target(790.0)
    clock.advance(3600.0)
    loop.sync()
    readings: list[float] = []

    def run(seconds: int) -> None:
        for _ in range(seconds):
            clock.advance(1.0)
            pv = loop.pv_c()
            assert pv is not None
            readings.append(pv)

    kiln.set_door(True)
    run(60)
    kiln.set_door(False)
    shut_at = len(readings)
    run(600)
    assert 50.0 <= 790.0 - min(readings) <= 150.0
    lowest = readings.index(min(readings))
    back = next(i for i in range(lowest, len(readings)) if readings[i] >= 785.0)
    recovered_s = back + 1 - shut_at
    assert 60 <= recovered_s <= 180
    assert max(readings[shut_at:]) < 795.0
    assert abs(readings[-1] - 790.0) < 0.5


def test_a_one_node_plant_has_no_brick_mass(clock: FakeTime) -> None:
    one = KilnParams(tc_noise_c=0.0, hot_face_heat_capacity_j_per_k=5800.0)
    kiln = KilnModel(one, clock)
    kiln.set_power(1.0)
    clock.advance(600.0)
    kiln.sync()
    assert kiln.mass_c == kiln.chamber_c > 100.0
    with pytest.raises(ValueError, match="hot_face"):
        KilnParams(hot_face_heat_capacity_j_per_k=6000.0)


def test_element_failure_gives_no_heat(clock: FakeTime) -> None:
    kiln = KilnModel(QUIET, clock)
    kiln.inject("element_failure")
    kiln.set_power(1.0)
    clock.advance(3600.0)
    kiln.sync()
    assert kiln.chamber_c == pytest.approx(20.0)
    assert kiln.heater_power_w == 0.0


def test_stuck_relay_heats_at_zero_output(clock: FakeTime) -> None:
    kiln = KilnModel(QUIET, clock)
    kiln.inject("stuck_relay")
    kiln.set_power(0.0)
    clock.advance(1800.0)
    kiln.sync()
    assert kiln.chamber_c > 400.0
    kiln.clear("stuck_relay")
    assert kiln.heater_power_w == 0.0


def test_open_thermocouple_reads_nothing(clock: FakeTime) -> None:
    kiln = KilnModel(QUIET, clock)
    kiln.inject("tc_open")
    assert kiln.measured_c() is None
    assert kiln.tc_open
    kiln.clear()
    assert kiln.measured_c() == pytest.approx(20.0)


def test_unknown_fault_names_the_allowed_ones(clock: FakeTime) -> None:
    kiln = KilnModel(QUIET, clock)
    with pytest.raises(ValueError, match="element_failure, stuck_relay, tc_open"):
        kiln.inject("melted")


def test_same_seed_same_readings_different_seed_different(clock: FakeTime) -> None:
    def run(seed: int) -> list[float | None]:
        local = FakeTime()
        kiln = KilnModel(KilnParams(), local, seed=seed)
        kiln.set_power(0.7)
        readings = []
        for _ in range(100):
            local.advance(7.5)
            kiln.sync()
            readings.append(kiln.measured_c())
        return readings

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_one_long_jump_matches_many_small_steps() -> None:
    jump_clock, step_clock = FakeTime(), FakeTime()
    jump = KilnModel(QUIET, jump_clock)
    steps = KilnModel(QUIET, step_clock)
    for kiln in (jump, steps):
        kiln.set_power(1.0)
    jump_clock.advance(3600.0)
    jump.sync()
    for _ in range(3600 * 4):
        step_clock.advance(0.25)
        steps.sync()
    assert jump.chamber_c == pytest.approx(steps.chamber_c, abs=0.5)
