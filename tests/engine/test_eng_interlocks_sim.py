"""Each interlock tripped by a fault injected into the in-process simulators (physics with
lag and noise), with the alarm's safe action taken and the devices left safe."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import AlarmRaised, Event, StartJob
from kilnctl.engine.settings import EngineSettings
from kilnctl.recipes.models import FiringProfile, Lot, PlatingRecipe
from simulators.inprocess import SimBathHeater, SimKilnController, SimRectifier
from simulators.physics.plating import PlatingCell, PlatingParams, default_bath_params

HOLD = FiringProfile.model_validate(
    {
        "name": "hold",
        "max_temp": 850,
        "trip": 870,
        "segments": [{"rate": "max", "target": 500, "hold": "2 h"}],
    }
)


async def run(
    engine: Engine,
    start: StartJob,
    clock: VirtualClock,
    inject_at: float,
    inject: Any,
    raised: list[AlarmRaised] | None = None,
) -> tuple[str, list[str]]:
    """The run's outcome and the codes of its alarms (each also added to `raised`); the
    fault is injected `inject_at` s after the start."""
    queue: asyncio.Queue[Event] = engine.subscribe(maxsize=1_000_000)
    run_id = await engine.submit(start)
    assert run_id is not None
    await clock.sleep(inject_at)
    inject()
    outcome = await engine.wait(run_id)
    codes = []
    while not queue.empty():
        event = queue.get_nowait()
        if isinstance(event, AlarmRaised):
            codes.append(event.code)
            if raised is not None:
                raised.append(event)
    return outcome, codes


def kiln_engine(clock: VirtualClock) -> tuple[Engine, SimKilnController]:
    kiln = SimKilnController("ctl", clock.now, seed=5)
    plant = SimpleNamespace(
        kilns={"k1": SimpleNamespace(controller="ctl", mode="setpoint", max_temp_c=1000.0)},
        tanks={},
    )
    return Engine({"ctl": kiln}, plant, None, None, clock), kiln


@pytest.mark.parametrize(
    ("fault", "at_s", "first_alarm"),
    [
        ("tc_open", 3000.0, "tc_break"),
        # still heating at full power: the heat stops at once, which the PV cannot tell
        # from an open door (held for the door grace, then heat off)
        ("element_failure", 600.0, "door_open"),
        ("stuck_relay", 3000.0, "stuck_relay"),  # at 500 °C: heats with output 0
    ],
)
async def test_kiln_fault_on_the_simulator(fault: str, at_s: float, first_alarm: str) -> None:
    clock = VirtualClock()
    engine, kiln = kiln_engine(clock)
    start = StartJob(ref="hold", kiln="k1", recipe=HOLD)
    outcome, codes = await run(engine, start, clock, at_s, lambda: kiln.inject(fault))
    assert outcome == "aborted"
    assert codes[0] == first_alarm
    reading = await kiln.read()
    assert reading.sp_c <= 0.0 or reading.output_pct == 0.0  # heat off (as far as software can)


async def test_over_temperature_trip_on_the_simulator() -> None:
    clock = VirtualClock()
    engine, kiln = kiln_engine(clock)
    profile = HOLD.model_copy(update={"trip_c": 505.0, "max_temp_c": 505.0})
    # a stuck relay drives the kiln up from its 500 °C hold: the 505 °C trip comes before
    # the deviation alarm and before 20 s of output 0 show the relay stuck
    raised: list[AlarmRaised] = []
    outcome, codes = await run(
        engine,
        StartJob(ref="hold", kiln="k1", recipe=profile),
        clock,
        3000.0,
        lambda: kiln.inject("stuck_relay"),
        raised,
    )
    assert outcome == "aborted" and "over_temperature" in codes
    # tripped in the first period over the trip: PV at most one period's rise past it
    [trip] = [a for a in raised if a.code == "over_temperature"]
    pv = float(trip.message.split("PV ")[1].split(" °C")[0])
    assert 505.0 < pv < 505.0 + 1.0  # the kiln climbs < 1 °C per 1 s period here
    assert "deviation_high" not in codes  # tripped before the 28 °C deviation
    assert (await kiln.read()).sp_c <= 0.0


NICKEL = PlatingRecipe.model_validate(
    {
        "name": "ni",
        "steps": [
            {
                "name": "nickel",
                "kind": "electro",
                "tank": "ni",
                "current_density": 3,
                "voltage_limit": 12,
                "bath_temp": [55, 60],
                "deposit": "nickel",
                "end": {"time": "20 min"},
            }
        ],
    }
)
LOT = Lot.model_validate({"material": "brass", "pin_count": 100, "area_per_pin": 0.12})


@pytest.mark.parametrize(
    ("fault", "alarm", "periods"),
    [
        # an open rack contact: voltage at the limit, no current (a few readings to be sure)
        ("open_circuit", "open_circuit", 5),
        # the rectifier's own over-temperature flag: the first reading that shows it
        ("over_temperature", "rectifier_over_temperature", 1),
    ],
)
async def test_rectifier_fault_on_the_simulator(fault: str, alarm: str, periods: int) -> None:
    """docs/safety.md: detection within `periods` control periods (1 s), output off
    confirmed by reading the rectifier back."""
    clock = VirtualClock()
    bath = replace(default_bath_params(), initial_c=57.5)
    cell = PlatingCell(PlatingParams(bath=bath), clock.now, seed=2)
    rect = SimRectifier("rect", clock.now, cell=cell)
    heater = SimBathHeater("heat", clock.now, cell=cell)
    await heater.set_setpoint(57.5)
    plant = SimpleNamespace(
        kilns={},
        tanks={
            "ni": SimpleNamespace(
                rectifier="rect", heater="heat", max_current_a=100.0, max_voltage_v=12.0
            )
        },
    )
    engine = Engine(
        {"rect": rect, "heat": heater}, plant, None, None, clock, EngineSettings(auto_answer=True)
    )
    raised: list[AlarmRaised] = []
    injected_at: list[float] = []

    def inject() -> None:
        injected_at.append(clock.wall_time())
        rect.inject(fault)

    start = StartJob(ref="ni", recipe=NICKEL, lot=LOT)
    outcome, _ = await run(engine, start, clock, 120.0, inject, raised)
    assert outcome == "aborted"
    [after_s] = [a.t - injected_at[0] for a in raised if a.code == alarm]
    assert 0 <= after_s <= periods * 1.0 + 0.01, f"{alarm} after {after_s:.1f} s"
    reading = await rect.read()
    assert not reading.output_on and reading.amps_setpoint == 0.0
