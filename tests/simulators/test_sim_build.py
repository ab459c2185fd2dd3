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
    allowed = (("tc_open", "element_failure", "stuck_relay") if kind in KILN_KINDS
               else ("open_circuit", "over_temperature"))
    for fault in allowed:
        dev.inject(fault)  # type: ignore[attr-defined]
    assert dev.faults == set(allowed)  # type: ignore[attr-defined]
    dev.clear(allowed[0])  # type: ignore[attr-defined]
    assert dev.faults == set(allowed[1:])  # type: ignore[attr-defined]
    dev.clear()  # type: ignore[attr-defined]
    assert dev.faults == set()  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=", ".join(sorted(allowed))):
        dev.inject("gremlins")  # type: ignore[attr-defined]
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
