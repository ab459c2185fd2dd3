"""Drivers against the simulators over real TCP sockets: generic rectifier, direct kiln,
Eurotherm; wire faults on TCP; probe; an absent unit behind the gateway."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from drivers.errors import DeviceTimeout, FrameError, ModbusExceptionError, WriteNotConfirmed
from drivers.protocols import RegulationMode
from drivers.registry import open_device, probe
from simulators.devices import build
from simulators.servers.modbus_tcp import ModbusTcpServer


class SimTime:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def cell() -> AsyncIterator[tuple[ModbusTcpServer, SimTime]]:
    clock = SimTime()
    slaves = {
        1: build("generic_rectifier", unit=1, time_fn=clock),
        2: build("io_module", unit=2, time_fn=clock),
        3: build("eurotherm3216", unit=3, time_fn=clock),
        4: build("riden", unit=4, time_fn=clock, model="RD6006P"),
        5: build("omron_e5cc", unit=5, time_fn=clock),
    }
    server = ModbusTcpServer(slaves)
    await server.start()
    yield server, clock
    await server.close()


def url(server: ModbusTcpServer, unit: int) -> str:
    return server.url(unit) + "&timeout=0.3"


async def test_generic_rectifier_runs_constant_current(
    cell: tuple[ModbusTcpServer, SimTime],
) -> None:
    server, clock = cell
    rect = open_device("line", "generic_rectifier", url(server, 1))
    await rect.set_voltage_limit(8.0)  # type: ignore[union-attr]
    await rect.set_current(20.0)  # type: ignore[union-attr]
    await rect.enable()  # type: ignore[union-attr]
    clock.t += 360.0
    r = await rect.read()
    assert r.output_on and r.amps_setpoint == 20.0 and r.volts_setpoint == 8.0
    if r.mode is RegulationMode.CC:
        assert r.amps == pytest.approx(20.0, abs=0.5)
    assert r.amp_hours is not None and r.amp_hours > 0
    server.slaves[1].inject("over_temperature")  # type: ignore[attr-defined]
    assert (await rect.read()).over_temperature
    await rect.safe()  # type: ignore[union-attr]
    assert not (await rect.read()).output_on
    await rect.close()


async def test_rectifier_refusing_a_value_is_a_typed_error(
    cell: tuple[ModbusTcpServer, SimTime],
) -> None:
    server, _ = cell
    rect = open_device("line", "generic_rectifier", url(server, 1))
    with pytest.raises(ModbusExceptionError) as info:
        await rect.set_current(5000.0)  # type: ignore[union-attr]  # beyond its rating
    assert info.value.code == 3
    await rect.close()


async def test_direct_kiln_heats_and_reports_open_thermocouple(
    cell: tuple[ModbusTcpServer, SimTime],
) -> None:
    server, clock = cell
    kiln = open_device("kiln3", "direct_kiln", url(server, 2))
    before = (await kiln.read()).pv_c  # type: ignore[union-attr]
    await kiln.set_output(100.0)  # type: ignore[union-attr]
    clock.t += 600.0
    after = await kiln.read()  # type: ignore[union-attr]
    assert after.output_pct == 100.0 and after.pv_c > before + 10
    server.slaves[2].inject("tc_open")  # type: ignore[attr-defined]
    assert (await kiln.read()).sensor_break  # type: ignore[union-attr]
    await kiln.safe()  # type: ignore[union-attr]
    assert (await kiln.read()).output_pct == 0.0  # type: ignore[union-attr]
    await kiln.close()


async def test_tcp_wire_faults_and_recovery(cell: tuple[ModbusTcpServer, SimTime]) -> None:
    server, _ = cell
    kiln = open_device("kiln1", "eurotherm3216", url(server, 3))
    wire = server.slaves[3].wire
    wire.no_response = True
    start = time.monotonic()
    with pytest.raises(DeviceTimeout):
        await kiln.read()  # type: ignore[union-attr]
    assert time.monotonic() - start < 1.2
    wire.clear()
    wire.corrupt_crc = True
    with pytest.raises((FrameError, DeviceTimeout)):
        await kiln.read()  # type: ignore[union-attr]
    wire.clear()
    wire.garbage = True
    with pytest.raises((FrameError, DeviceTimeout)):
        await kiln.read()  # type: ignore[union-attr]
    wire.clear()
    assert (await kiln.read()).pv_c > -50  # type: ignore[union-attr]
    await kiln.close()


async def test_absent_unit_behind_gateway_is_an_exception_reply(
    cell: tuple[ModbusTcpServer, SimTime],
) -> None:
    server, _ = cell
    ghost = open_device("ghost", "eurotherm3216", url(server, 9))
    with pytest.raises(ModbusExceptionError) as info:
        await ghost.read()  # type: ignore[union-attr]
    assert info.value.code == 0x0B
    await ghost.close()


async def test_write_to_a_register_the_device_will_not_take(
    cell: tuple[ModbusTcpServer, SimTime],
) -> None:
    server, _ = cell
    tank = open_device("tank", "omron_e5cc", url(server, 5))
    await tank.set_setpoint(60.0)  # type: ignore[union-attr]
    with pytest.raises((ModbusExceptionError, WriteNotConfirmed)):
        await tank.set_setpoint(5000.0)  # type: ignore[union-attr]
    await tank.close()


@pytest.mark.parametrize(
    "unit, expected",
    [(3, "eurotherm3216"), (4, "riden (RD6006P)"), (5, "omron_e5cc"), (1, "unknown Modbus")],
)
async def test_probe_identifies_each_simulated_device(
    cell: tuple[ModbusTcpServer, SimTime], unit: int, expected: str
) -> None:
    server, _ = cell
    assert (await probe(url(server, unit))).startswith(expected)


async def test_eurotherm_manual_output_then_back_to_remote_setpoint(
    cell: tuple[ModbusTcpServer, SimTime],
) -> None:
    server, clock = cell
    kiln = open_device("kiln1", "eurotherm3216", url(server, 3))
    await kiln.set_output(35.0)  # type: ignore[union-attr]
    clock.t += 1.0
    r = await kiln.read()  # type: ignore[union-attr]
    assert r.manual and r.output_pct == pytest.approx(35.0)
    await kiln.set_setpoint(400.0)  # type: ignore[union-attr]
    clock.t += 1.0
    assert not (await kiln.read()).manual  # type: ignore[union-attr]
    await kiln.safe()  # type: ignore[union-attr]
    clock.t += 1.0
    r = await kiln.read()  # type: ignore[union-attr]
    assert r.sp_c <= 400.0 and not r.manual
    await kiln.close()


async def test_eurotherm_safe_after_panel_switched_to_local_and_manual(
    cell: tuple[ModbusTcpServer, SimTime],
) -> None:
    """A controller switched at its panel to local SP (or power-cycled) and to manual
    output while kilnctl streamed: safe() must still take the heat off, not write a remote
    setpoint the controller ignores. The engine reads before each setpoint write: the
    working setpoint away from the remote one written is the sign that sends the driver to
    check L-R (276) at once, not at its next cadence."""
    server, clock = cell
    kiln = open_device("kiln1", "eurotherm3216", url(server, 3))
    await kiln.set_setpoint(400.0)  # type: ignore[union-attr]
    panel = server.slaves[3]
    panel.write_register(2, 8000)  # TG.SP 800.0 °C
    panel.write_register(276, 0)  # L-R: local
    clock.t += 1.0
    assert (await kiln.read()).sp_c == pytest.approx(800.0)  # type: ignore[union-attr]
    await kiln.set_setpoint(420.0)  # type: ignore[union-attr]
    clock.t += 1.0
    assert (await kiln.read()).sp_c == pytest.approx(420.0)  # type: ignore[union-attr]
    panel.write_register(276, 0)
    panel.write_register(273, 1)  # A-M: manual
    panel.write_register(3, 800)  # MAN.OP 80 %
    await kiln.safe()  # type: ignore[union-attr]
    clock.t += 1.0
    r = await kiln.read()  # type: ignore[union-attr]
    assert r.sp_c == 0.0 and r.output_pct == 0.0 and not r.manual
    await kiln.close()


async def test_omron_writes_again_after_a_power_cycle_turned_comms_writing_off(
    cell: tuple[ModbusTcpServer, SimTime],
) -> None:
    """After a power cycle the E5CC refuses writes until command 00 again: the setpoint
    stream and safe() turn comms writing back on instead of failing forever."""
    server, clock = cell
    tank = open_device("tank", "omron_e5cc", url(server, 5))
    await tank.set_setpoint(60.0)  # type: ignore[union-attr]
    sim = server.slaves[5]
    sim.comms_writing = False  # type: ignore[attr-defined]  # power cycled
    await tank.set_setpoint(62.0)  # type: ignore[union-attr]
    clock.t += 1.0
    assert (await tank.read()).sp_c == 62.0  # type: ignore[union-attr]
    sim.comms_writing = False  # type: ignore[attr-defined]
    await tank.safe()  # type: ignore[union-attr]
    clock.t += 1.0
    assert (await tank.read()).sp_c == 0.0  # type: ignore[union-attr]
    await tank.close()
