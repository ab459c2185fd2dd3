"""`simulators.devices.build`: every kind, parameters, the common fault interface."""

from __future__ import annotations

import pytest
from sim_fake_time import FakeTime

from simulators.device import ModbusSlave, SlaveException
from simulators.devices import KINDS, build

KILN_KINDS = ("eurotherm3216", "omron_e5cc", "io_module")
RECTIFIER_KINDS = ("riden", "generic_rectifier")


def test_kinds_are_the_five_devices() -> None:
    assert set(KINDS) == set(KILN_KINDS + RECTIFIER_KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_builds_and_has_the_fault_interface(clock: FakeTime, kind: str) -> None:
    dev = build(kind, unit=7, time_fn=clock, seed=3)
    assert isinstance(dev, ModbusSlave) and dev.unit == 7
    allowed = (
        ("tc_open", "element_failure", "stuck_relay")
        if kind in KILN_KINDS
        else ("open_circuit", "over_temperature", "output_stuck")
    )
    for fault in allowed:
        dev.inject(fault)
    assert dev.faults == set(allowed)
    dev.clear(allowed[0])
    assert dev.faults == set(allowed[1:])
    dev.clear()
    assert dev.faults == set()
    with pytest.raises(ValueError, match=", ".join(sorted(allowed))):
        dev.inject("gremlins")
    with pytest.raises(SlaveException) as err:
        dev.read_holding(0x7000, 1)
    assert err.value.code == 2


def test_unknown_kind_and_parameter(clock: FakeTime) -> None:
    with pytest.raises(ValueError, match="eurotherm3216"):
        build("watlow", unit=1, time_fn=clock)
    with pytest.raises(TypeError):
        build("eurotherm3216", unit=1, time_fn=clock, colour="red")


def test_physics_fields_pass_through(clock: FakeTime) -> None:
    empty = build("io_module", unit=1, time_fn=clock, tc_noise_c=0.0)
    loaded = build("io_module", unit=1, time_fn=clock, tc_noise_c=0.0, load_mass_kg=5.0)
    for dev in (empty, loaded):
        dev.write_register(10, 1000)
    clock.advance(1200.0)
    assert loaded.read_holding(0, 1)[0] < empty.read_holding(0, 1)[0] - 200


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_register_trace(kind: str) -> None:
    def trace(seed: int) -> list[list[int]]:
        clock = FakeTime()
        dev = build(kind, unit=1, time_fn=clock, seed=seed)
        if kind == "io_module":
            dev.write_register(10, 700)
        elif kind == "riden":
            dev.write_registers(8, [1200, 1500])
            dev.write_register(18, 1)
        elif kind == "generic_rectifier":
            dev.write_registers(10, [200, 1200, 1])
        elif kind == "eurotherm3216":
            dev.write_register(2, 5000)
        else:
            dev.write_register(0x0000, 0x0001)
            dev.write_register(0x2103, 500)
        out = []
        for _ in range(50):
            clock.advance(3.0)
            address = 0x2000 if kind == "omron_e5cc" else 1 if kind == "eurotherm3216" else 0
            out.append(dev.read_holding(address, {"riden": 12, "io_module": 2}.get(kind, 5)))
        return out

    assert trace(11) == trace(11)
    assert trace(11) != trace(12)
