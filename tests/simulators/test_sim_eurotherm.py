"""Simulated Eurotherm 3216: register encodings (HA028651), own PID with SP rate limit,
remote setpoint, status bits for every fault, exceptions."""

from __future__ import annotations

import struct

import pytest
from sim_fake_time import FakeTime

from simulators.device import SlaveException
from simulators.devices import build
from simulators.devices.eurotherm3216 import Eurotherm3216
from simulators.physics import KilnParams

PV, TG_SP, MAN_OP, WRK_OP, WKG_SP, RM_SP, SP_RAT, STAT = 1, 2, 3, 4, 5, 26, 35, 75
A1, A_M, AC_ALL, L_R = 13, 273, 274, 276
B_ALARM1, B_MANUAL, B_SENSOR_BREAK, B_OVER_RANGE, B_REMOTE_FAIL = 1, 16, 32, 1 << 10, 1 << 14


def signed(word: int) -> int:
    return word - 0x10000 if word & 0x8000 else word


def read(dev: Eurotherm3216, address: int) -> int:
    return dev.read_holding(address, 1)[0]


def read_float(dev: Eurotherm3216, address: int) -> float:
    hi, lo = dev.read_holding(0x8000 + 2 * address, 2)
    value: float = struct.unpack(">f", struct.pack(">HH", hi, lo))[0]
    return value


@pytest.fixture
def quiet(clock: FakeTime) -> Eurotherm3216:
    dev = build("eurotherm3216", unit=1, time_fn=clock, tc_noise_c=0.0)
    assert isinstance(dev, Eurotherm3216)
    return dev


def test_850_degrees_reads_8500_and_float_region_is_big_endian(quiet: Eurotherm3216) -> None:
    quiet.write_register(TG_SP, 8500)
    assert read(quiet, TG_SP) == 8500
    assert quiet.read_holding(0x8000 + 2 * TG_SP, 2) == [0x4454, 0x8000]  # 850.0f
    assert read_float(quiet, TG_SP) == 850.0
    assert read(quiet, PV) == 200  # 20.0 °C ambient
    assert read_float(quiet, PV) == pytest.approx(20.0)


def test_negative_values_are_signed_int16(quiet: Eurotherm3216) -> None:
    quiet.write_register(TG_SP, (-105) & 0xFFFF)
    assert signed(read(quiet, TG_SP)) == -105
    assert read_float(quiet, TG_SP) == pytest.approx(-10.5)


def test_float_region_accepts_fc16_pairs(quiet: Eurotherm3216) -> None:
    hi, lo = struct.unpack(">HH", struct.pack(">f", 123.4))
    quiet.write_registers(0x8000 + 2 * TG_SP, [hi, lo])
    assert read(quiet, TG_SP) == 1234
    with pytest.raises(SlaveException) as err:
        quiet.write_register(0x8000 + 2 * TG_SP, hi)
    assert err.value.code == 3


def test_reaches_and_holds_remote_setpoint_at_its_rate_limit(clock: FakeTime) -> None:
    dev = Eurotherm3216(1, time_fn=clock, seed=7)
    dev.write_register(SP_RAT, 50)  # 5.0 °C/min = 300 °C/h
    dev.write_register(L_R, 1)
    ramp_errors: list[float] = []
    hold: list[tuple[float, float]] = []
    for second in range(0, 4 * 3600, 5):
        clock.advance(5.0)
        dev.write_register(RM_SP, 7900)  # streamed, as kilnctl does
        wsp = signed(read(dev, WKG_SP)) / 10
        pv = signed(read(dev, PV)) / 10
        if second == 600:
            assert wsp == pytest.approx(20.0 + 5.0 * 10, abs=0.6)
        if 900 < second < 9000:
            ramp_errors.append(pv - wsp)
        if second > 3 * 3600:
            hold.append((pv, read(dev, WRK_OP) / 10))
        assert not read(dev, STAT) & B_REMOTE_FAIL
    assert max(abs(e) for e in ramp_errors) < 3.0
    assert all(abs(pv - 790.0) < 2.0 for pv, _ in hold)
    mean_output = sum(op for _, op in hold) / len(hold)
    assert 40.0 <= mean_output <= 60.0


def test_remote_setpoint_fail_after_silence_clears_on_write(
    quiet: Eurotherm3216, clock: FakeTime
) -> None:
    quiet.write_register(L_R, 1)
    quiet.write_register(RM_SP, 1000)
    clock.advance(9.0)
    assert not read(quiet, STAT) & B_REMOTE_FAIL
    clock.advance(2.0)
    assert read(quiet, STAT) & B_REMOTE_FAIL
    quiet.write_register(RM_SP, 1000)
    assert not read(quiet, STAT) & B_REMOTE_FAIL
    quiet.write_register(L_R, 0)
    clock.advance(60.0)
    assert not read(quiet, STAT) & B_REMOTE_FAIL


def test_sensor_break_sets_b5_pv_at_range_limit_output_zero(
    quiet: Eurotherm3216, clock: FakeTime
) -> None:
    quiet.write_register(TG_SP, 7900)
    clock.advance(60.0)
    assert read(quiet, WRK_OP) == 1000
    quiet.inject("tc_open")
    clock.advance(2.0)
    assert read(quiet, STAT) & B_SENSOR_BREAK
    assert read(quiet, PV) == 13720
    assert read(quiet, WRK_OP) == 0
    assert quiet.faults == {"tc_open"}
    quiet.clear("tc_open")
    clock.advance(2.0)
    assert not read(quiet, STAT) & B_SENSOR_BREAK


def test_manual_mode_sets_b4_and_drives_the_manual_output(
    quiet: Eurotherm3216, clock: FakeTime
) -> None:
    quiet.write_register(A_M, 1)
    quiet.write_register(MAN_OP, 250)
    clock.advance(2.0)
    assert read(quiet, STAT) & B_MANUAL
    assert read(quiet, WRK_OP) == 250
    assert read(quiet, MAN_OP) == 250


def test_alarm1_latches_until_acknowledged(quiet: Eurotherm3216) -> None:
    quiet.write_register(A1, 100)  # 10.0 °C: the 20 °C kiln is above it
    assert read(quiet, STAT) & B_ALARM1
    quiet.write_register(A1, 5000)
    assert read(quiet, STAT) & B_ALARM1  # latched
    quiet.write_register(AC_ALL, 1)
    assert not read(quiet, STAT) & B_ALARM1


def test_over_range_sets_b10(clock: FakeTime) -> None:
    dev = Eurotherm3216(
        1, time_fn=clock, params=KilnParams(tc_noise_c=0.0, initial_c=150.0), range_hi_c=100.0
    )
    assert read(dev, STAT) & B_OVER_RANGE
    assert read(dev, PV) == 1000


def test_stuck_relay_heats_with_working_output_zero(quiet: Eurotherm3216, clock: FakeTime) -> None:
    quiet.inject("stuck_relay")
    clock.advance(1200.0)
    assert read(quiet, WRK_OP) == 0
    assert signed(read(quiet, PV)) > 3000


def test_element_failure_full_output_no_rise(quiet: Eurotherm3216, clock: FakeTime) -> None:
    quiet.inject("element_failure")
    quiet.write_register(TG_SP, 7900)
    clock.advance(1200.0)
    assert read(quiet, WRK_OP) == 1000
    assert read(quiet, PV) == 200


def test_door_open_loses_heat(clock: FakeTime) -> None:
    dev = Eurotherm3216(1, time_fn=clock, params=KilnParams(tc_noise_c=0.0, initial_c=790.0))
    dev.set_door(True)
    clock.advance(60.0)
    assert signed(read(dev, PV)) < 7700  # thermocouple lag: the chamber fell further


@pytest.mark.parametrize("address", [0, 7, 27, 100, 275, 0x8000 + 2 * 7, 0x8000 + 2 * 300])
def test_addresses_the_device_lacks_answer_exception_2(quiet: Eurotherm3216, address: int) -> None:
    with pytest.raises(SlaveException) as err:
        quiet.read_holding(address, 1)
    assert err.value.code == 2


def test_bad_writes_answer_exception_2_or_3(quiet: Eurotherm3216) -> None:
    for address, value, code in (
        (7, 0, 2),
        (PV, 100, 3),
        (STAT, 0, 3),
        (TG_SP, 20000, 3),
        (MAN_OP, 1200, 3),
        (L_R, 2, 3),
    ):
        with pytest.raises(SlaveException) as err:
            quiet.write_register(address, value)
        assert err.value.code == code, (address, value)


def test_block_read_covers_pv_to_working_setpoint(quiet: Eurotherm3216) -> None:
    quiet.write_register(TG_SP, 4000)
    assert quiet.read_holding(PV, 5)[1] == 4000
