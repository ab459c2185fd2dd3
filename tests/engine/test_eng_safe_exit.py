"""Every run exit leaves its devices safe and on the record: the engine and the real
Eurotherm driver against the simulated controller over a real TCP socket, the controller
refusing its first safe-state writes (busy); a device error where no unit retries it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from eng_models import TinyRectifier, plant

from drivers.errors import DeviceTimeout
from drivers.registry import open_device
from kilnctl.clock import RealClock, VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import Abort, Event, Notice, RunFinished, Sample, StartJob
from kilnctl.engine.settings import EngineSettings
from kilnctl.recipes.models import FiringProfile, Lot, PlatingRecipe
from simulators.device import SlaveException
from simulators.devices.eurotherm3216 import RM_SP, Eurotherm3216
from simulators.servers.modbus_tcp import ModbusTcpServer

DEVICE_BUSY = 6
PROFILE = FiringProfile.model_validate(
    {"name": "p", "max_temp": 900, "segments": [{"rate": "max", "target": 790, "hold": "1 h"}]}
)


class BusyAtSafe(Eurotherm3216):
    """Answers "device busy" to the first `refusals` writes of a 0 °C remote setpoint."""

    def __init__(self, refusals: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.refusals = refusals
        self.refused = 0

    def write_register(self, address: int, value: int) -> None:
        if address == RM_SP and value == 0 and self.refused < self.refusals:
            self.refused += 1
            raise SlaveException(DEVICE_BUSY)
        super().write_register(address, value)


@pytest.fixture
async def server(request: pytest.FixtureRequest) -> AsyncIterator[ModbusTcpServer]:
    sim = BusyAtSafe(request.param, unit=1, time_fn=lambda: 0.0)
    srv = ModbusTcpServer({1: sim})
    await srv.start()
    yield srv
    await srv.close()


async def fire_then_abort(srv: ModbusTcpServer) -> tuple[str, list[Event]]:
    kiln = open_device("ctl", "eurotherm3216", srv.url(1) + "&timeout=0.3&retries=0")
    eng = Engine(
        {"ctl": kiln},
        plant({"k1": {"controller": "ctl"}}),
        None,
        None,
        RealClock(),
        EngineSettings(period_s=0.02),
    )
    q = eng.subscribe(maxsize=100_000)
    run_id = await eng.submit(StartJob(ref="p", kiln="k1", recipe=PROFILE))
    assert run_id is not None
    while not isinstance(await q.get(), Sample):
        pass
    await eng.submit(Abort(run_id, who="test", reason="end"))
    outcome = await eng.wait(run_id)
    await kiln.close()  # type: ignore[attr-defined]
    events = []
    while not q.empty():
        events.append(q.get_nowait())
    return outcome, events


@pytest.mark.parametrize("server", [2], indirect=True)
async def test_safe_is_retried_until_the_kiln_is_heat_off(server: ModbusTcpServer) -> None:
    sim = server.slaves[1]
    assert isinstance(sim, BusyAtSafe)
    outcome, events = await fire_then_abort(server)
    assert outcome == "aborted"
    assert sim.refused == 2
    assert sim.remote and sim.rm_sp_c == 0.0  # heat off, on the setpoint in use
    assert not [e for e in events if isinstance(e, Notice) and e.topic == "unsafe"]


@pytest.mark.parametrize("server", [1000], indirect=True)
async def test_a_kiln_that_cannot_be_made_safe_is_on_the_record(
    server: ModbusTcpServer,
) -> None:
    outcome, events = await fire_then_abort(server)
    assert outcome == "aborted"  # the original outcome is not masked
    unsafe = [e for e in events if isinstance(e, Notice) and e.topic == "unsafe"]
    assert len(unsafe) == 1 and "could not make ctl safe" in unsafe[0].message
    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "aborted"


class RefusesVoltageLimit(TinyRectifier):
    async def set_voltage_limit(self, volts: float) -> None:
        raise DeviceTimeout(self.name, "inprocess://", "no answer to the voltage limit")


async def test_a_device_error_at_a_step_start_fails_the_run_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = VirtualClock()
    rect = RefusesVoltageLimit("rect", clock.now)
    eng = Engine(
        {"rect": rect},
        plant(tanks={"ni": {"rectifier": "rect"}}),
        None,
        None,
        clock,
        EngineSettings(auto_answer=True),
    )
    recipe = PlatingRecipe.model_validate(
        {
            "name": "r",
            "steps": [
                {
                    "name": "nickel",
                    "kind": "electro",
                    "tank": "ni",
                    "current_density": "3 A/dm2",
                    "voltage_limit": "6 V",
                    "end": {"time": "60 s"},
                }
            ],
        }
    )
    lot = Lot.model_validate({"material": "brass", "pin_count": 10, "area_per_pin": 0.12})
    run_id = await eng.submit(StartJob(ref="r", recipe=recipe, lot=lot))
    assert run_id is not None
    assert await eng.wait(run_id) == "failed"  # an outcome, not an exception
    assert "no answer to the voltage limit" in eng.runs[run_id].reason
    assert rect.is_safe
    assert not [r for r in caplog.records if r.exc_info]  # no traceback on the terminal
