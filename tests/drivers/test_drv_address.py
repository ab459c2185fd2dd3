"""Device URL parsing: every accepted form, and clear errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.address import parse_address
from drivers.errors import ConfigError


def test_modbus_tcp_with_unit() -> None:
    a = parse_address("modbus-tcp://10.0.0.5:5020?unit=3")
    assert (a.scheme, a.host, a.port, a.unit) == ("modbus-tcp", "10.0.0.5", 5020, 3)
    assert a.line == "modbus-tcp://10.0.0.5:5020"


def test_modbus_tcp_default_port_and_unit() -> None:
    a = parse_address("modbus-tcp://plc.local")
    assert (a.port, a.unit) == (502, 1)


def test_modbus_rtu_device_path_and_line_settings() -> None:
    a = parse_address("modbus-rtu:///dev/ttyUSB0?baud=19200&parity=e&stopbits=2&unit=7")
    assert (a.device, a.baud, a.parity, a.stopbits, a.unit) == ("/dev/ttyUSB0", 19200, "E", 2, 7)


def test_two_units_on_one_line_share_the_line_key() -> None:
    one = parse_address("modbus-rtu:///dev/ttyUSB0?baud=19200&unit=1")
    two = parse_address("modbus-rtu:///dev/ttyUSB0?baud=19200&unit=2")
    assert one.line == two.line
    assert one.unit != two.unit


@pytest.mark.parametrize(
    "url, device",
    [
        ("modbus-rtu:socket://127.0.0.1:7000?unit=2", "socket://127.0.0.1:7000"),
        ("modbus-rtu:rfc2217://gw.local:4001?baud=9600", "rfc2217://gw.local:4001"),
        ("serial:socket://127.0.0.1:7001", "socket://127.0.0.1:7001"),
    ],
)
def test_pyserial_urls_pass_through(url: str, device: str) -> None:
    assert parse_address(url).device == device


def test_serial_ascii_and_transport_tuning() -> None:
    a = parse_address("serial:///dev/ttyUSB2?baud=9600&timeout=0.25&retries=2&gap_ms=5")
    assert (a.scheme, a.device, a.baud) == ("serial", "/dev/ttyUSB2", 9600)
    assert (a.timeout_s, a.retries, a.gap_s) == (0.25, 2, 0.005)
    assert not a.is_modbus


@pytest.mark.parametrize(
    "url, says",
    [
        ("http://x", "allowed: modbus-tcp, modbus-rtu, serial"),
        ("modbus-tcp://h:1?unit=300", "out of range 0..247"),
        ("modbus-tcp://h:1?unit=abc", "not an integer"),
        ("modbus-tcp://h:99999", "bad host or TCP port"),
        ("modbus-tcp://h:1?baud=9600", "unknown option(s) baud"),
        ("modbus-rtu://dev/ttyUSB0", "expected ///dev/PATH"),
        ("modbus-rtu:///dev/x?parity=X", "parity must be N, E or O"),
        ("serial:///dev/x?unit=1", "unknown option(s) unit"),
        ("modbus-rtu:///dev/x?timeout=-1", "must be a finite number >= 0"),
        ("modbus-rtu:///dev/x?timeout=inf", "must be a finite number >= 0"),
        ("modbus-tcp://[", "bad host or TCP port"),
        ("modbus-tcp://user@h:1", "expected modbus-tcp://HOST:PORT"),
        ("modbus-rtu:///", "expected ///dev/PATH"),
        ("modbus-tcp://h:1?unit=1&unit=2", "given twice"),
        # Modbus over Serial Line V1.02 §2.2: 0 is the broadcast address, 1-247 the units.
        ("modbus-rtu:///dev/ttyUSB3?baud=19200&unit=0", "unit=0 is the broadcast address"),
        ("modbus-rtu:///dev/ttyUSB3?unit=00", "use the device's own address, 1..247"),
        ("modbus-rtu:socket://gw:4001?unit=0", "broadcast"),
        ("modbus-rtu:///dev/ttyUSB3?unit=248", "out of range 0..247"),
    ],
)
def test_bad_urls_say_what_is_allowed(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        parse_address(url)
    assert says in str(info.value)
    assert url in str(info.value)


@given(st.text(max_size=80))
def test_any_text_parses_or_gives_a_config_error(text: str) -> None:
    try:
        parse_address(text)
    except ConfigError as exc:
        assert repr(text) in str(exc)


@given(
    scheme=st.sampled_from(["modbus-tcp://h:1", "modbus-rtu:///dev/x", "serial:///dev/x"]),
    query=st.text(st.characters(codec="ascii"), max_size=40),
)
def test_any_query_parses_or_gives_a_config_error(scheme: str, query: str) -> None:
    url = f"{scheme}?{query}"
    try:
        parse_address(url)
    except ConfigError as exc:
        assert repr(url) in str(exc)


def test_a_plant_config_with_unit_0_on_a_serial_line_fails_validate(tmp_path: Path) -> None:
    """The issue's example passed `kilnctl validate`, and its writes changed another tank's
    rectifier: unit 0 is executed by every unit on the line (Serial Line V1.02 §2.2)."""
    from kilnctl.plant import PlantConfigError, load_plant

    path = tmp_path / "kilnctl.toml"
    path.write_text(
        '[devices.tank3]\ndriver = "riden"\n'
        'url = "modbus-rtu:///dev/ttyUSB3?baud=19200&unit=0"\n'
    )
    with pytest.raises(PlantConfigError) as info:
        load_plant(path)
    assert f"{path}:3: devices.tank3.url:" in str(info.value)
    assert "unit=0 is the broadcast address" in str(info.value)
