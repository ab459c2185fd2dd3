"""Generic register-map devices: the shipped rectifier and I/O-module maps, byte-exact over
a real TCP socket (MBAP), and map files with mistakes."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import pytest
from drv_wire import MbapDevice

import simulators.devices
from drivers.errors import ConfigError, WriteNotConfirmed
from drivers.protocols import Rectifier, RegulationMode, TemperatureController
from drivers.register_map import load_map
from drivers.registry import open_device


@pytest.fixture
async def tcp_device():  # type: ignore[no-untyped-def]
    device = MbapDevice()
    await device.start()
    yield device
    await device.close()


def read_pdu(address: int, count: int) -> bytes:
    return struct.pack(">BHH", 3, address, count)


def reply_pdu(words: list[int]) -> bytes:
    return struct.pack(f">BB{len(words)}H", 3, 2 * len(words), *words)


def write_pdu(address: int, value: int) -> bytes:
    return struct.pack(">BHH", 6, address, value)


async def test_generic_rectifier_reads_the_shipped_map(tcp_device: MbapDevice) -> None:
    url = f"modbus-tcp://127.0.0.1:{tcp_device.port}?unit=4"
    rect = open_device("line", "generic_rectifier", url)
    assert isinstance(rect, Rectifier)
    task = asyncio.create_task(rect.read())
    # 0 status (on, CC, over-temp), 1 warnings, 2 alarms, 3 V×100, 4 A×10, 5-6 time, 7-8 Ah×100
    status = 0b1011
    await tcp_device.expect(4, read_pdu(0, 9), reply_pdu([status, 0, 0, 1250, 153, 0, 600, 1, 2]))
    # 10 I setpoint ×10, 11 V limit ×100, 12 output enable (register 9 is not in the map)
    await tcp_device.expect(4, read_pdu(10, 3), reply_pdu([150, 1400, 1]))
    r = await task
    assert (r.volts, r.amps, r.amps_setpoint, r.volts_setpoint) == (12.5, 15.3, 15.0, 14.0)
    assert r.output_on and r.mode is RegulationMode.CC and r.over_temperature and not r.fault
    assert r.amp_hours == 655.38  # (1 << 16 | 2) / 100
    await rect.close()


async def test_generic_rectifier_writes_are_read_back(tcp_device: MbapDevice) -> None:
    rect = open_device("line", "generic_rectifier", f"modbus-tcp://127.0.0.1:{tcp_device.port}")
    task = asyncio.create_task(rect.set_current(12.3))  # type: ignore[union-attr]
    await tcp_device.expect(1, write_pdu(10, 123), write_pdu(10, 123))
    await tcp_device.expect(1, read_pdu(10, 1), reply_pdu([123]))
    await task
    task = asyncio.create_task(rect.set_voltage_limit(6.0))  # type: ignore[union-attr]
    await tcp_device.expect(1, write_pdu(11, 600), write_pdu(11, 600))
    await tcp_device.expect(1, read_pdu(11, 1), reply_pdu([550]))
    with pytest.raises(WriteNotConfirmed, match="voltage_limit"):
        await task
    await rect.close()


async def test_direct_kiln_reads_tc_and_writes_duty(tcp_device: MbapDevice) -> None:
    kiln = open_device("kiln3", "direct_kiln", f"modbus-tcp://127.0.0.1:{tcp_device.port}")
    assert isinstance(kiln, TemperatureController)
    await kiln.set_setpoint(700.0)  # remembered only: nothing goes on the wire
    task = asyncio.create_task(kiln.read())
    await tcp_device.expect(1, read_pdu(0, 2), reply_pdu([6985, 1]))
    await tcp_device.expect(1, read_pdu(10, 1), reply_pdu([425]))
    r = await task
    assert (r.pv_c, r.sp_c, r.output_pct, r.sensor_break) == (698.5, 700.0, 42.5, True)
    task = asyncio.create_task(kiln.set_output(55.5))
    await tcp_device.expect(1, write_pdu(10, 555), write_pdu(10, 555))
    await tcp_device.expect(1, read_pdu(10, 1), reply_pdu([555]))
    await task
    with pytest.raises(ValueError, match=r"outside 0\.0\.\.100\.0"):
        await kiln.set_output(120)
    task = asyncio.create_task(kiln.safe())
    await tcp_device.expect(1, write_pdu(10, 0), write_pdu(10, 0))
    await tcp_device.expect(1, read_pdu(10, 1), reply_pdu([0]))
    await task
    await kiln.close()


@pytest.mark.parametrize(
    "text, says",
    [
        ("[registers.x]\naddress = -1\n", "registers.x: address must be an integer 0..65535"),
        ('[registers.x]\naddress = 1\ntype = "int64"\n', "type 'int64' is not one of int16"),
        ('[registers.x]\naddress = 1\nword_order = "ACBD"\n', "order 'ACBD' is not one of"),
        ("[registers.x]\naddress = 1\nscale = 0\n", "scale must not be 0"),
        ("[registers.x]\naddress = 1\nbogus = 1\n", "unknown key(s) bogus"),
        ('[registers.x]\naddress = 1\naccess = "w"\n', "access must be one of r, rw"),
        ("[registers.x]\naddress = 1\nbits = { b = 16 }\n", "bits.b must be an integer 0..15"),
        ("[device]\n", "needs a [registers.NAME] table"),
        ("[registers\n", "not valid TOML"),
    ],
)
def test_bad_map_files_name_the_field(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_map(path)
    assert says in str(info.value) and str(path) in str(info.value)


def test_driver_map_is_the_simulator_map() -> None:
    ours = load_map("generic_rectifier")
    theirs = load_map(Path(simulators.devices.__file__).with_name("generic_rectifier.toml"))
    assert ours.entries == theirs.entries
    assert ours.bits == theirs.bits


def test_rectifier_map_missing_roles_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "partial.toml"
    path.write_text("[registers.volts]\naddress = 0\n")
    with pytest.raises(ConfigError, match="missing amps, current_setpoint"):
        open_device("r", "generic_rectifier", "modbus-tcp://127.0.0.1:1", map_path=str(path))


def test_shipped_maps_load() -> None:
    rect = load_map("generic_rectifier")
    ah = rect.register("amp_hours")
    assert (ah.address, ah.dtype, ah.decode([0, 12345])) == (7, "uint32", 123.45)
    io = load_map("io_module")
    assert io.register("duty").address == 10


async def test_direct_kiln_arms_the_modules_watchdog_and_reads_it_back(
    tcp_device: MbapDevice,
) -> None:
    """The shipped map's [watchdog]: fail-safe duty 0 % into register 21 first, then the
    timeout 5.0 s (×10) into register 20, each read back; polling still skips 20-21."""
    kiln = open_device("kiln3", "direct_kiln", f"modbus-tcp://127.0.0.1:{tcp_device.port}")
    assert kiln.watchdog_timeout_s == 5.0  # type: ignore[union-attr]
    task = asyncio.create_task(kiln.arm_watchdog())  # type: ignore[union-attr]
    await tcp_device.expect(1, write_pdu(21, 0), write_pdu(21, 0))
    await tcp_device.expect(1, read_pdu(21, 1), reply_pdu([0]))
    await tcp_device.expect(1, write_pdu(20, 50), write_pdu(20, 50))
    await tcp_device.expect(1, read_pdu(20, 1), reply_pdu([0]))  # a module without one
    with pytest.raises(WriteNotConfirmed, match="watchdog_timeout"):
        await task
    await kiln.close()


WATCHDOG_MAP = """
[registers.temperature]
address = 0
[registers.status]
address = 1
bits = {{ open_thermocouple = 0 }}
[registers.duty]
address = 10
access = "rw"
[registers.wd]
address = 20
scale = 0.1
access = "rw"
max = 60
[registers.off]
address = 21
{watchdog}
"""


@pytest.mark.parametrize(
    "watchdog, says",
    [
        ("", None),
        ('[watchdog]\ntimeout = "wd"\ntimeout_s = 5\nfail_safe = "duty"\nfail_safe_value = 0', ""),
        ('[watchdog]\ntimeout = "wd"\ntimeout_s = 5\nfail_safe = "off"\nfail_safe_value = 0',
         "fail_safe = 'off' is not a writable register of the map (writable: duty, wd)"),
        ('[watchdog]\ntimeout = "wd"\ntimeout_s = 90\nfail_safe = "duty"\nfail_safe_value = 0',
         "timeout_s = 90 is outside register wd's None..60.0"),
        ('[watchdog]\ntimeout = "wd"\ntimeout_s = 0\nfail_safe = "duty"\nfail_safe_value = 0',
         "timeout_s must be > 0"),
        ('[watchdog]\ntimeout = "wd"\ntimeout_s = 5\nfail_safe = "duty"',
         "missing fail_safe_value"),
        ('[watchdog]\ntimeout = "wd"\ntimeout_s = 5\nfail_safe = "duty"\nfail_safe_value = 0\n'
         "x = 1", "unknown key(s) x"),
    ],
)  # fmt: skip
def test_watchdog_tables_are_checked_against_the_map(
    tmp_path: Path, watchdog: str, says: str | None
) -> None:
    path = tmp_path / "module.toml"
    path.write_text(WATCHDOG_MAP.format(watchdog=watchdog))
    url = "modbus-tcp://127.0.0.1:1"
    if says:
        with pytest.raises(ConfigError) as info:
            open_device("kiln3", "direct_kiln", url, map_path=str(path))
        assert f"register map {path}: watchdog: {says}" in str(info.value)
        return
    kiln = open_device("kiln3", "direct_kiln", url, map_path=str(path))
    assert kiln.watchdog_timeout_s == (None if says is None else 5.0)  # type: ignore[union-attr]
