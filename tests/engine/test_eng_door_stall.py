"""A door opened low in a `max`-rate ramp: the open door takes about what the elements
give, so the PV stalls instead of falling and the door rule (a fall of 8 °C in 10 s) never
fires; before, only failure_to_heat caught it, 22.5 min later. "Heat going in, PV not
following" (KilnInterlocks._heat_not_following) catches it in about a minute, and every
bundled firing profile runs on the simulated kiln, empty and heavily loaded, from cold
and hot, without it. In-process simulated kiln (two-node physics with lag and noise) on
the virtual clock; periods of 1 s."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import AlarmRaised, Event, StartJob
from kilnctl.engine.settings import EngineSettings
from kilnctl.recipes.loader import RecipeLibrary
from kilnctl.recipes.models import FiringProfile
from simulators.inprocess import SimKilnController
from simulators.physics.kiln import KilnParams

PERIOD_S = 1.0
PREHEAT = "enamel-preheat"  # rate "max" to 790 °C, the case


def kiln_engine(
    clock: VirtualClock, load_kg: float = 0.0, initial_c: float | None = None
) -> tuple[Engine, SimKilnController, asyncio.Queue[Event]]:
    kiln = SimKilnController(
        "ctl", clock.now, KilnParams(load_mass_kg=load_kg, initial_c=initial_c), seed=5
    )
    plant = SimpleNamespace(
        kilns={"k1": SimpleNamespace(controller="ctl", mode="setpoint", max_temp_c=1000.0)},
        tanks={},
    )
    engine = Engine(
        {"ctl": kiln}, plant, RecipeLibrary(), None, clock, EngineSettings(period_s=PERIOD_S)
    )
    return engine, kiln, engine.subscribe(maxsize=1_000_000)


def alarms(queue: asyncio.Queue[Event]) -> list[AlarmRaised]:
    out = []
    while not queue.empty():
        event = queue.get_nowait()
        if isinstance(event, AlarmRaised):
            out.append(event)
    return out


async def until_pv(clock: VirtualClock, kiln: SimKilnController, pv_c: float) -> None:
    while (await kiln.read()).pv_c < pv_c:
        await clock.sleep(PERIOD_S)


@pytest.mark.parametrize(("open_at_c", "load_kg"), [(150.0, 0.0), (250.0, 0.0), (250.0, 10.0)])
async def test_a_door_opened_low_in_a_max_ramp_is_caught_in_about_a_minute(
    open_at_c: float, load_kg: float
) -> None:
    """The preheat's max ramp; the door opens at 150 or 250 °C (empty, or 10 kg of
    pins), shut 150 s later. Before: no alarm at all (the PV never fell 8 °C in 10 s;
    left open, failure_to_heat after 22.5 min). Now door_open within 90 periods, the
    schedule held; shut, the alarm clears and the run completes."""
    clock = VirtualClock()
    engine, kiln, queue = kiln_engine(clock, load_kg)
    run_id = await engine.submit(StartJob(ref=PREHEAT, kiln="k1"))
    assert run_id is not None
    await until_pv(clock, kiln, open_at_c)
    kiln.set_door(True)
    opened = clock.wall_time()
    await clock.sleep(150)
    kiln.set_door(False)
    [door] = [a for a in alarms(queue) if a.code == "door_open"]
    periods = (door.t - opened) / PERIOD_S
    assert periods <= 90, periods  # measured: 45 / 29 / 53 periods
    assert "at full output" in door.message
    handle = engine.runs[run_id]
    outcome = await asyncio.wait_for(engine.wait(run_id), timeout=50)
    assert outcome == "completed", handle.reason
    assert [a.code for a in alarms(queue)] == []  # no door_open_long, no failure_to_heat


def heating_part(profile: FiringProfile) -> FiringProfile:
    """The profile's heating segments (up to its first cooling one), holds cut to 10 min:
    the rule judges only heating at full output; cooling and long soaks only cost time."""
    segments = []
    last = -1000.0
    for seg in profile.segments:
        if seg.target_c < last:
            break
        segments.append(seg.model_copy(update={"hold_s": min(seg.hold_s, 600.0)}))
        last = seg.target_c
    return profile.model_copy(update={"segments": segments})


def bundled_runs() -> list[tuple[str, float, float | None]]:
    """(profile, load kg, starting PV) for every bundled firing profile: empty and with
    10 kg from cold; the vitreous coats (first target 700 °C or more) also hot, as after
    the door was opened to load (3 kg)."""
    library = RecipeLibrary()
    runs: list[tuple[str, float, float | None]] = []
    for name in library.names():
        profile = library.get(name)
        if isinstance(profile, FiringProfile):
            runs += [(name, 0.0, None), (name, 10.0, None)]
            if profile.segments[0].target_c >= 700:
                runs.append((name, 3.0, 650.0))
    return runs


@pytest.mark.parametrize(("name", "load_kg", "initial_c"), bundled_runs())
async def test_no_false_door_alarm_on_any_bundled_profile(
    name: str, load_kg: float, initial_c: float | None
) -> None:
    """Every bundled firing profile's heating on the simulated kiln: empty or with 10 kg
    from cold (the thermal lag at the ramp's start, the slowest rise), and from a kiln
    hot after loading (the PV recovering fast, then slowing as it nears the brick's
    temperature). No door alarm, no failure to heat."""
    clock = VirtualClock()
    engine, _, queue = kiln_engine(clock, load_kg, initial_c)
    profile = heating_part(RecipeLibrary().get(name))
    run_id = await engine.submit(StartJob(ref=name, kiln="k1", recipe=profile))
    assert run_id is not None
    outcome = await engine.wait(run_id)
    codes = [a.code for a in alarms(queue)]
    assert not {"door_open", "door_open_long", "failure_to_heat"} & set(codes), codes
    assert outcome == "completed", (engine.runs[run_id].reason, codes)
