"""Driver registry: names from the plant config, option checks, shared buses."""

from __future__ import annotations

import pytest

from drivers.errors import ConfigError
from drivers.protocols import Rectifier, TemperatureController
from drivers.registry import DRIVERS, open_device
from drivers.transport.bus_registry import BusRegistry

TEMPERATURE = ("eurotherm3216", "omron_e5cc", "direct_kiln")
RECTIFIERS = ("riden", "generic_rectifier")


def test_known_names() -> None:
    assert set(DRIVERS) == {
        "eurotherm3216", "omron_e5cc", "riden", "korad_ka3005p", "generic_rectifier",
        "direct_kiln", "contactor",
    }  # fmt: skip


@pytest.mark.parametrize("driver", TEMPERATURE + RECTIFIERS)
def test_each_modbus_driver_satisfies_its_protocol(driver: str) -> None:
    # Opening sends nothing, so this needs no device (and no running event loop).
    device = open_device("d", driver, "modbus-tcp://127.0.0.1:1?unit=1", buses=BusRegistry())
    protocol = TemperatureController if driver in TEMPERATURE else Rectifier
    assert isinstance(device, protocol)


def test_korad_satisfies_rectifier() -> None:
    assert isinstance(open_device("g", "korad_ka3005p", "serial:///dev/null"), Rectifier)


def test_unknown_driver_lists_known_ones() -> None:
    known = "unknown driver 'watlow' \\(known: contactor, direct_kiln, "
    with pytest.raises(ConfigError, match=known):
        open_device("k", "watlow", "modbus-tcp://h:1")


def test_unknown_option_is_refused_with_the_allowed_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown option\(s\) decimal \(allowed: decimals, lr_check_s\)"
    ):
        open_device("k", "eurotherm3216", "modbus-tcp://h:1", decimal=1)


def test_wrong_transport_for_the_driver() -> None:
    with pytest.raises(ConfigError, match="needs a serial: URL"):
        open_device("g", "korad_ka3005p", "modbus-tcp://h:1")
    with pytest.raises(ConfigError, match="needs a modbus-tcp: or modbus-rtu: URL"):
        open_device("k", "eurotherm3216", "serial:///dev/ttyUSB0")


def test_devices_on_one_line_share_a_bus_until_closed() -> None:
    buses = BusRegistry()
    a = open_device("a", "eurotherm3216", "modbus-rtu:///dev/ttyUSB9?unit=1", buses=buses)
    b = open_device("b", "eurotherm3216", "modbus-rtu:///dev/ttyUSB9?unit=2", buses=buses)
    c = open_device("c", "riden", "modbus-rtu:///dev/ttyUSB8?unit=1", buses=buses)
    assert a.link.bus is b.link.bus  # type: ignore[union-attr]
    assert c.link.bus is not a.link.bus  # type: ignore[union-attr]
    assert buses.bus_for("modbus-rtu:/dev/ttyUSB9") is a.link.bus  # type: ignore[union-attr]
