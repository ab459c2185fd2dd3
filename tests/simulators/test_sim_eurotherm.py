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
from simulators.timebase import ScaledTime

PV, TG_SP, MAN_OP, WRK_OP, WKG_SP, RM_SP, SP_RAT, STAT = 1, 2, 3, 4, 5, 26, 35, 75
A1, A_M, AC_ALL, L_R = 13, 273, 274, 276
CTRL_A, TI, TD, SP_SEL, SP1, SP2, LOC_T, ERROR = 7, 8, 9, 15, 24, 25, 27, 39
SP_HI, SP_LO, RAMP_U = 111, 112, 531
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


def test_remote_setpoint_timeout_falls_back_to_the_local_setpoint_and_flags_b14(
    quiet: Eurotherm3216, clock: FakeTime
) -> None:
    """Remote SP not refreshed within its timeout (5 s; third-party summaries of HA028651,
    unverified on hardware): the unit regulates to its local setpoint (TG.SP) and sets StAt
    b14 "Remote (comms) SP Fail" (HA028651 §15.5, address 75). Failed on the old simulator,
    which waited 10 s and kept regulating to the stale remote value."""
    quiet.write_register(TG_SP, 200)  # local setpoint 20.0 °C
    quiet.write_register(L_R, 1)
    quiet.write_register(RM_SP, 5000)  # remote 500.0 °C
    clock.advance(4.5)
    assert not read(quiet, STAT) & B_REMOTE_FAIL
    assert read(quiet, WKG_SP) == 5000
    clock.advance(1.0)
    assert read(quiet, STAT) & B_REMOTE_FAIL
    assert read(quiet, WKG_SP) == 200  # back on the local setpoint
    assert read(quiet, L_R) == 1  # the selection itself is unchanged
    quiet.write_register(RM_SP, 5000)  # a fresh write resumes the remote setpoint
    assert not read(quiet, STAT) & B_REMOTE_FAIL
    assert read(quiet, WKG_SP) == 5000
    quiet.write_register(L_R, 0)
    clock.advance(60.0)
    assert not read(quiet, STAT) & B_REMOTE_FAIL


def test_fallback_happens_at_the_timeout_even_when_read_much_later(clock: FakeTime) -> None:
    dev = Eurotherm3216(1, time_fn=clock, tc_noise_c=0.0)
    dev.write_register(L_R, 1)
    dev.write_register(RM_SP, 8000)
    clock.advance(600.0)  # nobody looked for ten minutes: the kiln cooled on TG.SP all along
    assert read(dev, STAT) & B_REMOTE_FAIL
    assert signed(read(dev, PV)) < 300


@pytest.mark.parametrize("decimals, pv_word", [(0, 20), (1, 200), (2, 2000)])
def test_integer_registers_follow_the_configured_decimal_point(
    clock: FakeTime, decimals: int, pv_word: int
) -> None:
    """HA028651: integer registers carry the display resolution; the IEEE region does not."""
    dev = Eurotherm3216(1, time_fn=clock, tc_noise_c=0.0, decimals=decimals)
    assert read(dev, PV) == pv_word
    assert read_float(dev, PV) == pytest.approx(20.0)
    dev.write_register(L_R, 1)
    dev.write_register(RM_SP, 1234)  # the frame 01 06 00 1A 04 D2
    assert read_float(dev, RM_SP) == pytest.approx(1234 / 10**decimals)


def test_setpoints_outside_sp_lo_sp_hi_are_refused_not_clamped(clock: FakeTime) -> None:
    dev = Eurotherm3216(1, time_fn=clock, tc_noise_c=0.0, sp_lo_c=50.0, sp_hi_c=1000.0)
    assert (read(dev, SP_HI), read(dev, SP_LO)) == (10000, 500)
    for address in (RM_SP, TG_SP, SP1, SP2):
        for word in (0, 10010):
            with pytest.raises(SlaveException) as err:
                dev.write_register(address, word)
            assert err.value.code == 3
    dev.write_register(RM_SP, 500)  # SP.LO itself is allowed
    with pytest.raises(SlaveException):
        dev.write_register(SP_LO, 10010)  # SP.LO above SP.HI


def test_manual_registers_beyond_the_readings_block(quiet: Eurotherm3216) -> None:
    """HA028651 §15.5: CTRL.A 7, SP1 24, SP2 25 and SP.SEL 15 (TG.SP is the selected one);
    error 39 = PV - SP and RAMP.U 531 (0 min, 1 h, 2 s) as the minimalmodbus 3200 driver
    reads them; SP.HI/SP.LO 111/112."""
    quiet.write_register(SP1, 3000)
    quiet.write_register(SP2, 4500)
    assert read(quiet, TG_SP) == 3000
    quiet.write_register(SP_SEL, 1)
    assert read(quiet, TG_SP) == 4500
    assert read(quiet, CTRL_A) == 0  # reverse acting: heating
    assert signed(read(quiet, ERROR)) == 200 - 4500
    assert read(quiet, RAMP_U) == 0
    assert (read(quiet, SP_HI), signed(read(quiet, SP_LO))) == (13720, -2000)
    # A block read across them works: the gaps answer an undefined value (0 here).
    block = quiet.read_holding(1, 40)
    assert (block[SP1 - 1], block[SP2 - 1], block[LOC_T - 1]) == (3000, 4500, 0)
    assert quiet.read_holding(SP_HI, 2) == [13720, (-2000) & 0xFFFF]


def test_local_trim_adds_to_the_remote_setpoint(quiet: Eurotherm3216) -> None:
    quiet.write_register(L_R, 1)
    quiet.write_register(LOC_T, 50)
    quiet.write_register(RM_SP, 4000)
    assert read(quiet, WKG_SP) == 4050


def test_time_parameters_are_milliseconds_in_the_ieee_region(quiet: Eurotherm3216) -> None:
    """Time parameters: whole seconds in the integer region, a 32-bit integer number of ms
    at 0x8000 + 2*addr (Series 2000 handbook HA026230 §7.5; minimalmodbus eurotherm3200.py
    read_time). Failed on the old simulator, which sent Ti as an IEEE float."""
    quiet.write_register(TI, 360)
    assert read(quiet, TI) == 360
    assert quiet.read_holding(0x8000 + 2 * TI, 2) == [0x0005, 0x7E40]  # 360000 ms
    quiet.write_registers(0x8000 + 2 * TD, [0x0000, 0xEA60])  # 60000 ms
    assert read(quiet, TD) == 60


def test_sp_rate_follows_ramp_units(quiet: Eurotherm3216, clock: FakeTime) -> None:
    quiet.write_register(RAMP_U, 1)  # per hour
    quiet.write_register(SP_RAT, 3600)  # 360.0 °C/h
    quiet.write_register(TG_SP, 5000)
    clock.advance(600.0)
    assert read(quiet, WKG_SP) == pytest.approx(200 + 600, abs=6)  # 60 °C in 10 min


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


def test_over_range_b10_needs_more_than_5_percent_of_span(clock: FakeTime) -> None:
    """HA028651 §15.5 StAt B10 "PV Over-range (by > 5% of span)": range -200..100 °C has a
    300 °C span, so 110 °C is above the range but not over-range; 120 °C is."""
    for initial_c, flagged in ((110.0, False), (120.0, True)):
        dev = Eurotherm3216(
            1, time_fn=clock, params=KilnParams(tc_noise_c=0.0, initial_c=initial_c),
            range_hi_c=100.0,
        )  # fmt: skip
        assert bool(read(dev, STAT) & B_OVER_RANGE) is flagged
        assert read(dev, PV) == 1000  # PV itself is clamped to the range


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


@pytest.mark.parametrize("address", [0, 10, 28, 100, 275, 0x8000 + 2 * 10, 0x8000 + 2 * 300])
def test_addresses_the_device_lacks_answer_exception_2(quiet: Eurotherm3216, address: int) -> None:
    with pytest.raises(SlaveException) as err:
        quiet.read_holding(address, 1)
    assert err.value.code == 2


def test_bad_writes_answer_exception_2_or_3(quiet: Eurotherm3216) -> None:
    for address, value, code in (
        (10, 0, 2),
        (ERROR, 0, 3),
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


@pytest.mark.parametrize("kind", ["eurotherm3216", "io_module"])
def test_comms_timeouts_count_real_time_on_a_sped_up_plant(kind: str) -> None:
    """`kilnctl sim --speed 60`: the unit's comms watchdog (the 3216's remote-setpoint
    timeout, 5 s; the I/O module's output watchdog, 5.0 s as the shipped map arms it)
    runs on its own clock against its line, which is not sped up. Before, it counted
    simulated time: 5 s was 83 ms of real time, less than one cycle of a loaded RS-485
    bus, and the demo raised remote_sp_fallback at random. Now 4.9 s of real time
    without a write is no fallback (294 s of plant time), 5.1 s is."""
    real = FakeTime(0.0)
    plant_time = ScaledTime(60.0, real=real)
    dev = build(kind, unit=1, time_fn=plant_time, tc_noise_c=0.0)
    if isinstance(dev, Eurotherm3216):
        dev.write_register(TG_SP, 200)
        dev.write_register(L_R, 1)
        dev.write_register(RM_SP, 5000)  # the last keep-alive

        def timed_out() -> bool:
            return bool(read(dev, STAT) & B_REMOTE_FAIL)
    else:
        dev.write_register(20, 50)  # watchdog 5.0 s
        dev.write_register(10, 600)  # duty 60 %: the last write

        def timed_out() -> bool:
            return bool(dev.read_holding(1, 1)[0] & 2)  # status b1: watchdog expired

    written = plant_time()
    real.advance(4.9)
    assert not timed_out()
    real.advance(0.2)
    assert timed_out()
    assert plant_time() - written == pytest.approx(5.1 * 60.0)
