"""Drivers against the simulators over real ptys: several units on one paced RTU line,
device faults as status bits, wire faults as typed errors, recovery after clear."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from drivers.errors import DeviceTimeout, FrameError
from drivers.protocols import Rectifier, TemperatureController
from drivers.registry import open_device
from simulators.devices import build
from simulators.korad import KoradKA3005P as SimKorad
from simulators.servers.ascii_pty import AsciiPtyServer
from simulators.servers.modbus_rtu import ModbusRtuServer


class SimTime:
    """Simulated seconds, advanced by the test (no real waiting)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def line() -> AsyncIterator[tuple[ModbusRtuServer, SimTime]]:
    clock = SimTime()
    slaves = {
        1: build("eurotherm3216", unit=1, time_fn=clock),
        2: build("omron_e5cc", unit=2, time_fn=clock),
        3: build("riden", unit=3, time_fn=clock, model="RD6012"),
    }
    server = ModbusRtuServer(slaves, baud=115200, turnaround_s=0.002)
    await server.start()
    yield server, clock
    await server.close()


def url(server: ModbusRtuServer, unit: int, extra: str = "") -> str:
    return server.url(unit) + "&timeout=0.3" + extra


async def test_three_units_on_one_line_share_a_bus(
    line: tuple[ModbusRtuServer, SimTime],
) -> None:
    server, clock = line
    kiln = open_device("kiln1", "eurotherm3216", url(server, 1))
    tank = open_device("tank", "omron_e5cc", url(server, 2))
    psu = open_device("nickel", "riden", url(server, 3))
    assert kiln.link.bus is tank.link.bus is psu.link.bus  # type: ignore[union-attr]
    assert isinstance(kiln, TemperatureController) and isinstance(psu, Rectifier)
    await kiln.set_setpoint(600.0)
    await tank.set_setpoint(55.0)  # type: ignore[union-attr]
    await psu.set_voltage_limit(6.0)
    await psu.set_current(2.5)
    await psu.enable()
    for _ in range(40):  # the remote setpoint kept fresh, well inside its 5 s timeout
        clock.t += 3.0
        await kiln.set_setpoint(600.0)
    k = await kiln.read()
    t = await tank.read()  # type: ignore[union-attr]
    p = await psu.read()
    assert k.pv_c > 20.0 and k.output_pct > 0 and not k.sensor_break
    assert t.pv_c > 0 and not t.sensor_break
    assert p.output_on and p.amps_setpoint == 2.5 and p.volts_setpoint == 6.0
    assert p.amp_hours is not None
    await psu.safe()
    assert not (await psu.read()).output_on
    for device in (kiln, tank, psu):
        await device.close()


async def test_thermocouple_break_shows_as_sensor_break(
    line: tuple[ModbusRtuServer, SimTime],
) -> None:
    server, _ = line
    kiln = open_device("kiln1", "eurotherm3216", url(server, 1))
    tank = open_device("tank", "omron_e5cc", url(server, 2))
    server.slaves[1].inject("tc_open")  # type: ignore[attr-defined]
    server.slaves[2].inject("tc_open")  # type: ignore[attr-defined]
    assert (await kiln.read()).sensor_break  # type: ignore[union-attr]
    assert (await tank.read()).sensor_break  # type: ignore[union-attr]
    server.slaves[1].clear()  # type: ignore[attr-defined]
    assert not (await kiln.read()).sensor_break  # type: ignore[union-attr]
    await kiln.close()
    await tank.close()


async def test_wire_faults_surface_typed_and_the_driver_recovers(
    line: tuple[ModbusRtuServer, SimTime],
) -> None:
    server, _ = line
    kiln = open_device("kiln1", "eurotherm3216", url(server, 1, "&retries=1"))
    other = open_device("tank", "omron_e5cc", url(server, 2))
    wire = server.slaves[1].wire

    wire.no_response = True
    start = time.monotonic()
    with pytest.raises(DeviceTimeout, match="kiln1"):
        await kiln.read()  # type: ignore[union-attr]
    assert time.monotonic() - start < 1.2
    await other.read()  # type: ignore[union-attr]  # the line still works for unit 2
    wire.clear()

    wire.corrupt_crc = True
    with pytest.raises(FrameError, match="CRC"):
        await kiln.read()  # type: ignore[union-attr]
    wire.clear()

    wire.garbage = True
    with pytest.raises((FrameError, DeviceTimeout)):
        await kiln.read()  # type: ignore[union-attr]
    wire.clear()

    reading = await kiln.read()  # type: ignore[union-attr]
    assert reading.pv_c > -50
    health = kiln.health  # type: ignore[union-attr]
    assert health.ok and health.errors == 3
    await kiln.close()
    await other.close()


async def test_korad_on_the_ascii_pty() -> None:
    clock = SimTime()
    server = AsciiPtyServer(SimKorad(clock))
    await server.start()
    try:
        psu = open_device("gold", "korad_ka3005p", server.url + "&timeout=0.5")
        assert isinstance(psu, Rectifier)
        await psu.set_voltage_limit(3.0)
        await psu.set_current(0.5)
        await psu.enable()
        clock.t += 5.0
        r = await psu.read()
        assert r.output_on and r.volts_setpoint == 3.0 and r.amps_setpoint == 0.5
        server.wire.no_response = True
        with pytest.raises(DeviceTimeout):
            await psu.read()
        server.wire.clear()
        await psu.safe()
        assert not (await psu.read()).output_on
        await psu.close()
    finally:
        await server.close()
