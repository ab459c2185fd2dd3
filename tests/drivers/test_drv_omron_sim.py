"""The Omron E5CC driver against the simulated E5CC, over a real TCP socket and a real
RTU pty, at both resolutions of its input types (H175: values carry the decimal point
setting's decimals, read at the decimal point monitor 0x2410)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from drivers.omron_e5cc import OmronE5cc
from drivers.registry import open_device
from simulators.devices import build
from simulators.devices.omron_e5cc import OmronE5CC
from simulators.plant import Plant as SimPlant
from simulators.plant_config import parse_plant_config
from simulators.servers.modbus_rtu import ModbusRtuServer
from simulators.servers.modbus_tcp import ModbusTcpServer


class SimTime:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


Rig = tuple[OmronE5cc, OmronE5CC, SimTime]


@pytest.fixture(params=["tcp-0", "tcp-1", "rtu-0", "rtu-1"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    """Driver and simulated controller (at 61.9 °C) over TCP or RTU, 0 or 1 decimals."""
    wire, decimals = request.param.split("-")
    clock = SimTime()
    sim = build(
        "omron_e5cc", unit=1, time_fn=clock, tc_noise_c=0.0, decimals=int(decimals),
        initial_c=61.9,
    )  # fmt: skip
    assert isinstance(sim, OmronE5CC)
    server: ModbusTcpServer | ModbusRtuServer
    if wire == "tcp":
        server = ModbusTcpServer({1: sim})
        await server.start()
        url = server.url(1)
    else:
        server = ModbusRtuServer({1: sim}, baud=115200, turnaround_s=0.002)
        await server.start()
        url = server.url(1) + "&parity=N&stopbits=2"  # a pty has no parity bit
    ctl = open_device("kiln2", "omron_e5cc", url + "&timeout=0.3")
    assert isinstance(ctl, OmronE5cc)
    yield ctl, sim, clock
    await ctl.close()
    await server.close()


async def test_temperatures_at_the_controllers_resolution(rig: Rig) -> None:
    ctl, sim, clock = rig
    reading = await ctl.read()
    assert reading.pv_c == pytest.approx(61.9, abs=0.51)  # not 619 °C at one decimal
    assert ctl.decimals == sim.decimals
    await ctl.set_setpoint(75.5)
    clock.t += 1.0
    assert (await ctl.read()).sp_c == pytest.approx(75.5, abs=0.51)
    assert sim.sp_c == pytest.approx(75.5, abs=0.51)


async def test_streaming_setpoints_writes_no_non_volatile_memory(rig: Rig) -> None:
    """A 10-hour firing streams ~10⁴ setpoints: in RAM write mode none reaches the
    controller's non-volatile memory (in backup mode each one would)."""
    ctl, sim, clock = rig
    for step in range(200):
        await ctl.set_setpoint(30.0 + step)
        clock.t += 1.0
    assert sim.ram_write_mode and sim.nv_writes == 0
    assert sim.sp_c == 229.0


async def test_safe_takes_the_heat_off_in_manual_at_the_panel(rig: Rig) -> None:
    """Reproduced on the old driver: after safe(), output_pct=100.0, manual=True."""
    ctl, sim, clock = rig
    await ctl.set_setpoint(400.0)
    sim.panel(manual=True, manual_output_pct=100.0)
    clock.t += 2.0
    assert (await ctl.read()).output_pct == 100.0
    await ctl.safe()
    clock.t += 2.0
    reading = await ctl.read()
    assert (reading.output_pct, reading.manual, reading.sp_c) == (0.0, False, 0.0)
    assert not sim.loop.running  # STOP
    # The next firing runs the controller again.
    await ctl.set_setpoint(100.0)
    clock.t += 2.0
    assert sim.loop.running and (await ctl.read()).output_pct > 0


async def test_kilnctl_sim_gives_an_rtu_e5cc_the_manuals_no_parity_framing() -> None:
    """A pty carries no parity bit: the simulated plant's URL for an E5CC on an RTU line
    says parity=N&stopbits=2 (H175's other Modbus framing), and the driver works on it."""
    config = parse_plant_config(
        {"device": [{"name": "kiln2", "kind": "omron_e5cc", "protocol": "modbus-rtu"}]}
    )
    plant = SimPlant(config, speed=1.0)
    await plant.start()
    try:
        url = plant.devices["kiln2"].url
        assert url.endswith("&parity=N&stopbits=2")
        ctl = open_device("kiln2", "omron_e5cc", url + "&timeout=0.3")
        assert (await ctl.read()).pv_c == pytest.approx(20.0, abs=1.0)
        await ctl.close()
    finally:
        await plant.close()
