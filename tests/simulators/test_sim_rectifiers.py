"""Simulated Riden RD60xx (per-model scaling) and the map-file generic rectifier."""

from __future__ import annotations

import tomllib

import pytest
from sim_fake_time import FakeTime

from simulators.device import SlaveException
from simulators.devices import build
from simulators.devices.generic_rectifier import MAP_PATH

# model, id, volts scale, amps scale
MODELS = [
    ("RD6006", 60062, 100, 1000),
    ("RD6006P", 60065, 1000, 10000),
    ("RD6012", 60121, 100, 100),
    ("RD6018", 60181, 100, 100),
]


def u32(hi: int, lo: int) -> int:
    return (hi << 16) | lo


def resistance_at_20c(r25: float) -> float:
    """Bath resistance of the default cell at the 20 °C room (1.5 %/°C conductivity)."""
    return r25 / (1 + 0.015 * (20 - 25))


R_SMALL = resistance_at_20c(0.5)
R_TANK = resistance_at_20c(0.09)


@pytest.mark.parametrize(("model", "model_id", "v_scale", "i_scale"), MODELS)
def test_riden_model_id_and_scaling(
    clock: FakeTime, model: str, model_id: int, v_scale: int, i_scale: int
) -> None:
    dev = build("riden", unit=1, time_fn=clock, model=model, noise_frac=0.0)
    assert dev.read_holding(0, 1) == [model_id]
    dev.write_register(8, 12 * v_scale)  # 12 V limit
    dev.write_register(9, round(1.5 * i_scale))  # 1.5 A
    dev.write_register(18, 1)
    clock.advance(3600.0)
    regs = dev.read_holding(0, 42)
    assert regs[8] == 12 * v_scale
    assert regs[9] == round(1.5 * i_scale)
    assert regs[11] == round(1.5 * i_scale)
    assert regs[10] / v_scale == pytest.approx(1.8 + 1.5 * R_SMALL, abs=0.01)  # E0 + I·R
    assert regs[17] == 1  # CC
    assert regs[18] == 1
    assert regs[14] == 65 * v_scale
    assert u32(regs[38], regs[39]) == pytest.approx(1500, abs=1)  # 1.5 Ah ×1000
    assert u32(regs[40], regs[41]) == pytest.approx(1.5 * (1.8 + 1.5 * R_SMALL) * 1000, abs=2)


def test_riden_goes_cv_at_the_voltage_limit(clock: FakeTime) -> None:
    dev = build("riden", unit=1, time_fn=clock, model="RD6012", noise_frac=0.0)
    dev.write_register(8, 300)  # 3.00 V
    dev.write_register(9, 1000)  # 10.00 A: needs 6.8 V
    dev.write_register(18, 1)
    regs = dev.read_holding(8, 10)
    assert regs[17 - 8] == 0  # CV
    assert regs[10 - 8] == 300
    assert regs[11 - 8] == round((3.0 - 1.8) / R_SMALL * 100)


def test_riden_faults(clock: FakeTime) -> None:
    dev = build("riden", unit=1, time_fn=clock, model="RD6006", noise_frac=0.0)
    dev.write_register(8, 1000)
    dev.write_register(9, 2000)
    dev.write_register(18, 1)
    dev.inject("open_circuit")
    regs = dev.read_holding(0, 19)
    assert (regs[10], regs[11], regs[17]) == (1000, 0, 0)  # voltage up to the limit, no current
    dev.clear("open_circuit")
    dev.inject("over_temperature")
    regs = dev.read_holding(0, 19)
    assert regs[18] == 0 and regs[11] == 0
    assert (regs[4], regs[5]) == (0, 85)
    dev.write_register(18, 1)
    assert dev.read_holding(18, 1) == [0]  # still tripped
    dev.clear("over_temperature")
    dev.write_register(18, 1)
    assert dev.read_holding(18, 1) == [1]
    with pytest.raises(ValueError, match="open_circuit, over_temperature"):
        dev.inject("tc_open")


def test_riden_ocp_trips_the_output_off_and_shows_2_in_register_16(clock: FakeTime) -> None:
    dev = build("riden", unit=1, time_fn=clock, model="RD6006", noise_frac=0.0)
    assert dev.read_holding(82, 2) == [6200, 6200]  # defaults: 62 V, 6.2 A (never trip)
    dev.write_register(8, 1200)  # 12 V
    dev.write_register(9, 2000)  # 2 A
    dev.write_register(83, 1500)  # OCP 1.5 A
    assert dev.read_holding(83, 1) == [1500]
    dev.write_register(18, 1)
    regs = dev.read_holding(0, 19)
    assert (regs[16], regs[18], regs[11]) == (2, 0, 0)
    clock.advance(600.0)
    assert dev.read_holding(38, 2) == [0, 0]  # no amp-hours while tripped
    dev.write_register(18, 1)
    assert dev.read_holding(16, 3) == [2, 0, 0]  # the cause remains: trips again
    dev.write_register(9, 1000)  # 1 A, under the level
    dev.write_register(18, 1)
    regs = dev.read_holding(0, 19)
    assert (regs[16], regs[18], regs[11]) == (0, 1, 1000)


def test_riden_ovp_trips_when_the_voltage_reaches_the_level(clock: FakeTime) -> None:
    dev = build("riden", unit=1, time_fn=clock, model="RD6012", noise_frac=0.0)
    dev.write_register(82, 1000)  # OVP 10 V
    dev.write_register(8, 1200)  # 12 V limit
    dev.write_register(9, 100)  # 1 A: CC at ~2.3 V
    dev.write_register(18, 1)
    assert dev.read_holding(16, 3) == [0, 1, 1]
    dev.inject("open_circuit")  # no current: the voltage rises to 12 V, past the OVP level
    regs = dev.read_holding(0, 19)
    assert (regs[16], regs[18], regs[10]) == (1, 0, 0)
    dev.write_register(82, 1300)  # OVP above the limit: the open rack no longer trips it
    dev.write_register(18, 1)
    assert dev.read_holding(16, 3) == [0, 0, 1]  # CV at 12 V, on


def test_riden_exceptions(clock: FakeTime) -> None:
    dev = build("riden", unit=1, time_fn=clock, model="RD6006")
    with pytest.raises(SlaveException) as err:
        dev.read_holding(120, 1)  # M9 OCP at 119 is the last (Baldanos registers.md)
    assert err.value.code == 2
    with pytest.raises(SlaveException) as err:
        dev.write_register(9, 7000)  # 7 A on a 6 A model
    assert err.value.code == 3
    with pytest.raises(SlaveException) as err:
        dev.write_register(10, 0)
    assert err.value.code == 3
    for address, value in ((82, 6201), (83, 6201)):  # OVP > 62 V, OCP > 6.2 A
        with pytest.raises(SlaveException) as err:
            dev.write_register(address, value)
        assert err.value.code == 3
    with pytest.raises(ValueError, match="RD6012"):
        build("riden", unit=1, time_fn=clock, model="RD9999")


GENERIC = {
    "status": 0,
    "warnings": 1,
    "alarms": 2,
    "volts": 3,
    "amps": 4,
    "time": 5,
    "ah": 7,
    "i_set": 10,
    "v_lim": 11,
    "enable": 12,
}


def test_generic_map_file_matches_the_agreed_layout() -> None:
    with MAP_PATH.open("rb") as f:
        data = tomllib.load(f)
    regs = data["registers"]
    assert {name: spec["address"] for name, spec in regs.items()} == {
        "status": 0,
        "warnings": 1,
        "alarms": 2,
        "volts": 3,
        "amps": 4,
        "process_time_s": 5,
        "amp_hours": 7,
        "current_setpoint": 10,
        "voltage_limit": 11,
        "output_enable": 12,
    }
    assert regs["status"]["bits"] == {"output_on": 0, "cc": 1, "fault": 2, "over_temperature": 3}


def test_generic_rectifier_encodings_and_counters(clock: FakeTime) -> None:
    dev = build("generic_rectifier", unit=1, time_fn=clock, noise_frac=0.0)
    dev.write_register(GENERIC["i_set"], 360)  # 36.0 A
    dev.write_register(GENERIC["v_lim"], 1200)  # 12.00 V
    dev.write_register(GENERIC["enable"], 1)
    clock.advance(70_000.0)  # past 65535 s: the 32-bit high word is used
    words = dev.read_holding(0, 9)
    assert words[0] == 0b0011  # output on, CC
    assert words[4] == 360
    assert words[3] == round((1.8 + 36 * R_TANK) * 100)
    assert u32(words[5], words[6]) == 70_000
    assert u32(words[7], words[8]) == pytest.approx(36 * 70_000 / 3600 * 100, abs=1)
    assert dev.read_holding(10, 3) == [360, 1200, 1]


def test_generic_rectifier_cv_and_faults(clock: FakeTime) -> None:
    dev = build("generic_rectifier", unit=1, time_fn=clock, noise_frac=0.0)
    dev.write_register(GENERIC["i_set"], 1000)  # 100 A needs 1.8 + 100 × R > 5 V
    dev.write_register(GENERIC["v_lim"], 500)
    dev.write_register(GENERIC["enable"], 1)
    status, warnings, alarms, volts, _ = dev.read_holding(0, 5)
    assert (status, warnings, alarms, volts) == (0b0001, 1, 0, 500)
    dev.inject("over_temperature")
    status, _, alarms, volts, amps = dev.read_holding(0, 5)
    assert (status, alarms, volts, amps) == (0b1100, 1, 0, 0)


def test_generic_rectifier_exceptions(clock: FakeTime) -> None:
    dev = build("generic_rectifier", unit=1, time_fn=clock)
    for address in (9, 13, 200):
        with pytest.raises(SlaveException) as err:
            dev.read_holding(address, 1)
        assert err.value.code == 2
    for address, value in ((3, 0), (GENERIC["i_set"], 1001), (GENERIC["enable"], 2), (6, 0)):
        with pytest.raises(SlaveException) as err:
            dev.write_register(address, value)
        assert err.value.code == 3, address
