"""Simulated Omron E5CC (two-byte mode) and the direct-kiln I/O module."""

from __future__ import annotations

import pytest
from sim_fake_time import FakeTime

from simulators.device import SlaveException
from simulators.devices import build

OP_CMD, PV, STATUS, INTERNAL_SP, MV = 0x0000, 0x2000, 0x2001, 0x2002, 0x2004
SP, STATUS_LOW, STATUS_HIGH, DECIMAL_POINT = 0x2103, 0x2406, 0x2407, 0x2410
# H175 §5-2: status bits 16-31 are read at 0x2407 (two-byte mode), bit n at n - 16.
RAM_WRITE_MODE, RAM_UNSAVED, STOP, COMMS_WRITING, MANUAL = (
    1 << (b - 16) for b in (20, 21, 24, 25, 26)
)


def code(exc: pytest.ExceptionInfo[SlaveException]) -> int:
    return exc.value.code


def test_omron_refuses_writes_with_operation_error_until_comms_writing_on(
    clock: FakeTime,
) -> None:
    """H175 §4-1-3: a write while Communications Writing is OFF answers 04 (operation
    error), not 03; §5-2: status bit 25 (0x2407 b9) shows communications writing ON."""
    dev = build("omron_e5cc", unit=3, time_fn=clock, tc_noise_c=0.0)
    assert dev.read_holding(STATUS_HIGH, 1)[0] & COMMS_WRITING == 0
    for address, value in ((SP, 790), (OP_CMD, 0x0101), (OP_CMD, 0x0401), (OP_CMD, 0x0901)):
        with pytest.raises(SlaveException) as err:
            dev.write_register(address, value)
        assert code(err) == 4
    with pytest.raises(SlaveException) as err:
        dev.write_register(SP, 20000)  # out of range: 03 comes first (detection priority)
    assert code(err) == 3
    dev.write_register(OP_CMD, 0x0001)  # code 00 data 01: comms writing ON
    dev.write_register(SP, 790)
    assert dev.read_holding(SP, 1) == [790]
    assert dev.read_holding(STATUS_HIGH, 1) == [COMMS_WRITING]
    dev.panel(comms_writing=False)  # the adjustment-level parameter, at the panel
    with pytest.raises(SlaveException) as err:
        dev.write_register(SP, 800)
    assert code(err) == 4


@pytest.mark.parametrize("decimals", [0, 1])
def test_omron_decimal_point_monitor_and_scaled_temperatures(
    clock: FakeTime, decimals: int
) -> None:
    """0x2410 decimal point monitor (0..3); PV and SP carry that many decimals."""
    dev = build("omron_e5cc", unit=1, time_fn=clock, tc_noise_c=0.0, decimals=decimals)
    assert dev.read_holding(DECIMAL_POINT, 1) == [decimals]
    assert dev.read_holding(PV, 1) == [20 * 10**decimals]  # a cold kiln, 20 °C
    dev.write_register(OP_CMD, 0x0001)
    dev.write_register(SP, 61 * 10**decimals)
    assert dev.read_holding(SP, 1) == [61 * 10**decimals]
    with pytest.raises(ValueError, match="decimals must be one of"):
        build("omron_e5cc", unit=1, time_fn=clock, decimals=2)


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
    assert dev.read_holding(STATUS_LOW, 1) == [status]  # the same low half at 0x2406


def test_omron_ram_write_mode_spares_the_non_volatile_memory(clock: FakeTime) -> None:
    """H175 §4-4-3 command 04 (write mode: 00 backup, 01 RAM) and 05 (save RAM data):
    in backup mode every setpoint write goes to non-volatile memory too."""
    dev = build("omron_e5cc", unit=1, time_fn=clock, tc_noise_c=0.0)
    dev.write_register(OP_CMD, 0x0001)
    for sp in range(100, 110):
        dev.write_register(SP, sp)
    assert dev.nv_writes == 10  # type: ignore[attr-defined]
    dev.write_register(OP_CMD, 0x0401)  # RAM write mode
    for sp in range(110, 1110):
        dev.write_register(SP, sp)
    assert dev.nv_writes == 10  # type: ignore[attr-defined]
    assert dev.read_holding(STATUS_HIGH, 1) == [COMMS_WRITING | RAM_WRITE_MODE | RAM_UNSAVED]
    dev.write_register(OP_CMD, 0x0500)  # save RAM data: once
    assert dev.nv_writes == 11  # type: ignore[attr-defined]
    assert dev.read_holding(STATUS_HIGH, 1) == [COMMS_WRITING | RAM_WRITE_MODE]
    with pytest.raises(SlaveException) as err:
        dev.write_register(OP_CMD, 0x0402)  # related information 02: no such write mode
    assert code(err) == 3


def test_omron_stop_and_input_error(clock: FakeTime) -> None:
    dev = build("omron_e5cc", unit=1, time_fn=clock, tc_noise_c=0.0)
    dev.write_register(OP_CMD, 0x0001)
    dev.write_register(SP, 790)
    clock.advance(10.0)
    dev.write_register(OP_CMD, 0x0101)  # stop
    clock.advance(2.0)
    assert dev.read_holding(MV, 1) == [0]
    assert dev.read_holding(STATUS_HIGH, 1)[0] & STOP
    dev.inject("tc_open")
    assert dev.read_holding(STATUS, 1)[0] & (1 << 6)
    assert dev.read_holding(PV, 1) == [1300]


def test_omron_manual_output_wins_over_stop(clock: FakeTime) -> None:
    """In manual the controller outputs the manual MV: STOP alone leaves it heating;
    automatic (09/00) then STOP takes the heat off."""
    dev = build("omron_e5cc", unit=1, time_fn=clock, tc_noise_c=0.0)
    dev.panel(manual=True, manual_output_pct=100.0)  # type: ignore[attr-defined]
    dev.write_register(OP_CMD, 0x0001)
    dev.write_register(OP_CMD, 0x0101)  # stop
    clock.advance(2.0)
    assert dev.read_holding(MV, 1) == [1000]
    assert dev.read_holding(STATUS_HIGH, 1)[0] & (STOP | MANUAL) == STOP | MANUAL
    dev.write_register(OP_CMD, 0x0900)  # automatic
    clock.advance(2.0)
    assert dev.read_holding(MV, 1) == [0]
    assert dev.read_holding(STATUS_HIGH, 1)[0] & (STOP | MANUAL) == STOP


def test_omron_bad_addresses_and_commands(clock: FakeTime) -> None:
    dev = build("omron_e5cc", unit=1, time_fn=clock)
    for address in (0x0000, 0x2006, 0x2100, 0x1000, 0x2405, 0x240A):
        with pytest.raises(SlaveException) as err:
            dev.read_holding(address, 1)
        assert code(err) == 2
    dev.write_register(OP_CMD, 0x0001)
    for bad in (0x0103, 0x0301, 0x0501, 0x0A00):  # wrong related information / code
        with pytest.raises(SlaveException) as err:
            dev.write_register(OP_CMD, bad)
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


WATCHDOG, FAIL_SAFE, WD_EXPIRED = 20, 21, 1 << 1


def test_io_module_watchdog_drops_the_duty_at_its_timeout(clock: FakeTime) -> None:
    """Off at power-on; once set, writes feed it and reads do not; on expiry the duty takes
    the fail-safe value at the deadline (module clock) and status b1 shows it."""
    dev = build("io_module", unit=1, time_fn=clock, tc_noise_c=0.0)
    assert dev.read_holding(WATCHDOG, 2) == [0, 0]
    dev.write_register(10, 1000)
    clock.advance(3600.0)
    assert dev.read_holding(10, 1) == [1000]  # no watchdog set: the duty stays
    dev.write_register(FAIL_SAFE, 50)  # 5 %
    dev.write_register(WATCHDOG, 30)  # 3.0 s
    last_write = clock.t
    for _ in range(5):
        clock.advance(0.5)
        assert dev.read_holding(1, 1) == [0]  # reads do not feed it...
    clock.advance(0.49)
    assert dev.read_holding(10, 1) == [1000]  # ...and it has not expired yet
    clock.advance(0.02)
    assert dev.read_holding(1, 1) == [WD_EXPIRED] and dev.read_holding(10, 1) == [50]
    assert dev.expired_at == last_write + 3.0  # type: ignore[attr-defined]
    assert dev.kiln.power_frac == 0.05  # type: ignore[attr-defined]
    dev.write_register(10, 400)  # the host is back: its write clears the flag
    assert dev.read_holding(1, 1) == [0] and dev.read_holding(10, 1) == [400]
    clock.advance(2.9)
    dev.write_register(10, 400)  # fed
    clock.advance(2.9)
    assert dev.read_holding(10, 1) == [400]
    for register, bad in ((WATCHDOG, 6001), (FAIL_SAFE, 1001)):
        with pytest.raises(SlaveException) as err:
            dev.write_register(register, bad)
        assert code(err) == 3
