"""Simulated Omron E5CC (two-byte mode) and the direct-kiln I/O module."""

from __future__ import annotations

import pytest
from sim_fake_time import FakeTime

from simulators.device import SlaveException
from simulators.devices import build

OP_CMD, PV, STATUS, INTERNAL_SP, MV = 0x0000, 0x2000, 0x2001, 0x2002, 0x2004
SP, STATUS2 = 0x2103, 0x2406


def code(exc: pytest.ExceptionInfo[SlaveException]) -> int:
    return exc.value.code


def test_omron_refuses_setpoint_until_comms_writing_enabled(clock: FakeTime) -> None:
    dev = build("omron_e5cc", unit=3, time_fn=clock, tc_noise_c=0.0)
    with pytest.raises(SlaveException) as err:
        dev.write_register(SP, 790)
    assert code(err) == 3
    dev.write_register(OP_CMD, 0x0001)  # code 00 data 01: comms writing ON
    dev.write_register(SP, 790)
    assert dev.read_holding(SP, 1) == [790]
    assert dev.read_holding(STATUS2, 1)[0] & (1 << 14)


def test_omron_pv_mv_and_internal_setpoint(clock: FakeTime) -> None:
    dev = build(
        "omron_e5cc", unit=1, time_fn=clock, tc_noise_c=0.0, decimals=1, sp_ramp_c_per_min=10.0
    )
    dev.write_register(OP_CMD, 0x0001)
    dev.write_register(SP, 7900)
    clock.advance(60.0)
    pv, status, isp, _, mv, _ = dev.read_holding(PV, 6)
    assert isp == pytest.approx(200 + 100, abs=2)  # 20.0 °C + 10 °C/min × 1 min
    assert pv > 200
    assert 0 < mv <= 1000
    assert status & (1 << 8)  # heating output on


def test_omron_stop_and_input_error(clock: FakeTime) -> None:
    dev = build("omron_e5cc", unit=1, time_fn=clock, tc_noise_c=0.0)
    dev.write_register(OP_CMD, 0x0001)
    dev.write_register(SP, 790)
    clock.advance(10.0)
    dev.write_register(OP_CMD, 0x0101)  # stop
    clock.advance(2.0)
    assert dev.read_holding(MV, 1) == [0]
    assert dev.read_holding(STATUS2, 1)[0] & (1 << 8)
    dev.inject("tc_open")
    assert dev.read_holding(STATUS, 1)[0] & (1 << 6)
    assert dev.read_holding(PV, 1) == [1300]


def test_omron_bad_addresses_and_commands(clock: FakeTime) -> None:
    dev = build("omron_e5cc", unit=1, time_fn=clock)
    for address in (0x0000, 0x2006, 0x2100, 0x1000):
        with pytest.raises(SlaveException) as err:
            dev.read_holding(address, 1)
        assert code(err) == 2
    with pytest.raises(SlaveException) as err:
        dev.write_register(OP_CMD, 0x0101)  # run/stop before comms writing
    assert code(err) == 3
    with pytest.raises(SlaveException) as err:
        dev.write_register(PV, 0)
    assert code(err) == 3


def test_io_module_duty_heats_and_open_tc_shows(clock: FakeTime) -> None:
    dev = build("io_module", unit=1, time_fn=clock, tc_noise_c=0.0)
    assert dev.read_holding(0, 2) == [200, 0]
    dev.write_register(10, 1000)
    assert dev.read_holding(10, 1) == [1000]
    clock.advance(600.0)
    assert dev.read_holding(0, 1)[0] > 1500
    dev.inject("tc_open")
    assert dev.read_holding(0, 2) == [0x7FFF, 1]
    with pytest.raises(SlaveException) as err:
        dev.write_register(10, 1001)
    assert code(err) == 3
    with pytest.raises(SlaveException) as err:
        dev.read_holding(2, 1)
    assert code(err) == 2


def test_io_module_stuck_relay_heats_at_zero_duty(clock: FakeTime) -> None:
    dev = build("io_module", unit=1, time_fn=clock, tc_noise_c=0.0)
    dev.inject("stuck_relay")
    clock.advance(600.0)
    assert dev.read_holding(10, 1) == [0]
    assert dev.read_holding(0, 1)[0] > 1500
