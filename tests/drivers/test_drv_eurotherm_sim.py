"""The Eurotherm driver against the simulated 3216 at each resolution, over a real TCP socket
and a real RTU pty: the decimal point learned, SP.LO honoured by safe(), the remote-setpoint
timeout's fallback to the local setpoint seen and undone.

Sources: HA028651 §15.5 (Rm.SP 26, StAt 75 b14, L-R 276; integer registers carry the
configured decimal point, IEEE floats at 0x8000 + 2*addr do not); SP.HI/SP.LO 111/112 as a
minimalmodbus 3216 script reads them. Each test failed on the driver before the fix (noted).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from drivers.errors import ConfigError
from drivers.eurotherm3216 import Eurotherm3216
from drivers.registry import open_device
from simulators.devices.eurotherm3216 import Eurotherm3216 as SimEurotherm
from simulators.servers.modbus_rtu import ModbusRtuServer
from simulators.servers.modbus_tcp import ModbusTcpServer


class SimTime:
    """Simulated seconds, advanced by the test (no real waiting)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


Serve = Callable[..., Any]


@pytest.fixture(params=["tcp", "rtu"])
async def serve(request: pytest.FixtureRequest) -> AsyncIterator[Serve]:
    """serve(**sim_options) -> (driver factory, simulated unit, its clock), on TCP or RTU."""
    servers: list[ModbusTcpServer | ModbusRtuServer] = []

    async def start(**options: Any) -> tuple[Callable[..., Eurotherm3216], SimEurotherm, SimTime]:
        clock = SimTime()
        sim = SimEurotherm(1, time_fn=clock, tc_noise_c=0.0, **options)
        server: ModbusTcpServer | ModbusRtuServer
        if request.param == "tcp":
            server = ModbusTcpServer({1: sim})
        else:
            server = ModbusRtuServer({1: sim}, baud=115200, turnaround_s=0.002)
        await server.start()
        servers.append(server)

        def driver(**driver_options: Any) -> Eurotherm3216:
            kiln = open_device(
                "kiln1", "eurotherm3216", server.url(1) + "&timeout=0.3", **driver_options
            )
            assert isinstance(kiln, Eurotherm3216)
            return kiln

        return driver, sim, clock

    yield start
    for server in servers:
        await server.close()


@pytest.mark.parametrize("decimals", [0, 1, 2])
async def test_the_setpoint_arrives_at_every_resolution(serve: Serve, decimals: int) -> None:
    driver, sim, clock = await serve(decimals=decimals)
    kiln = driver()  # no decimals configured: learned from the unit
    await kiln.set_setpoint(123.4)
    assert kiln.learned is not None and kiln.learned.decimals == decimals
    clock.t += 1.0
    assert (await kiln.read()).sp_c == pytest.approx(123.4, abs=0.5 / 10**decimals)
    assert sim.rm_sp_c == pytest.approx(123.4, abs=0.5 / 10**decimals)
    await kiln.close()


async def test_whole_degree_unit_with_a_one_decimal_config_is_refused(serve: Serve) -> None:
    """Before the fix: 123.4 went out as 1234, the unit took it as 1234 °C and the raw
    read-back "confirmed" it."""
    driver, sim, _ = await serve(decimals=0)
    kiln = driver(decimals=1)
    with pytest.raises(ConfigError, match=r"kiln1 .*shows 0 decimal.*decimals = 1"):
        await kiln.set_setpoint(123.4)
    assert sim.rm_sp_c < 100.0  # nothing was written
    await kiln.safe()  # heat-off still goes out, in the unit's resolution
    assert sim.remote and sim.rm_sp_c == 0.0
    await kiln.close()


async def test_safe_writes_sp_lo_on_a_unit_that_refuses_zero(serve: Serve) -> None:
    """SP.LO 50 °C: the unit refuses Rm.SP 0 (exception 3). Before the fix safe() wrote 0
    and failed every time; now it writes SP.LO and reads it back."""
    driver, sim, clock = await serve(sp_lo_c=50.0)
    kiln = driver()
    await kiln.set_setpoint(400.0)
    await kiln.safe()
    clock.t += 1.0
    assert (await kiln.read()).sp_c == 50.0
    assert sim.rm_sp_c == 50.0
    await kiln.close()


async def test_remote_setpoint_timeout_is_seen_and_undone(serve: Serve) -> None:
    """Rm.SP not refreshed for 6 s (unit's timeout 5 s): the unit regulates to its local
    setpoint and flags b14; the reading says so, and the next write checks L-R and puts it
    back on the remote setpoint. Before the fix the simulator kept the stale remote value."""
    driver, sim, clock = await serve()
    kiln = driver(lr_check_s=3600.0)
    await kiln.set_setpoint(300.0)
    for _ in range(3):  # a keep-alive every 2 s: no fallback
        clock.t += 2.0
        reading = await kiln.read()
        assert not reading.remote_sp_fail and reading.sp_c == 300.0
        await kiln.set_setpoint(300.0)
    clock.t += 6.0
    reading = await kiln.read()
    assert reading.remote_sp_fail and reading.sp_c == pytest.approx(sim.tg_sp_c)
    sim.write_register(276, 0)  # and someone switched it to local meanwhile
    await kiln.set_setpoint(300.0)  # L-R checked at once (b14 seen), re-asserted
    clock.t += 1.0
    reading = await kiln.read()
    assert not reading.remote_sp_fail and reading.sp_c == 300.0
    await kiln.close()


async def test_the_safe_state_outlasts_the_remote_setpoint_timeout(serve: Serve) -> None:
    """After safe() nobody refreshes Rm.SP: 5 s later the unit falls back to its local
    setpoint. Before the fix that was whatever TG.SP held (800 °C here) and the kiln heated
    again after the run; now safe() brings TG.SP down as well."""
    driver, sim, clock = await serve()
    sim.write_register(2, 8000)  # TG.SP 800.0 °C left at the panel
    kiln = driver()
    await kiln.set_setpoint(400.0)
    await kiln.safe()
    clock.t += 60.0
    reading = await kiln.read()
    assert reading.remote_sp_fail  # fallen back, as the unit does...
    assert reading.sp_c == 0.0 and reading.output_pct == 0.0  # ...onto heat-off
    await kiln.close()
