"""Safe means confirmed: a device whose safe state is not read back stays *unsafe* in the
engine (critical alarm unsafe_device, journaled), no run may start on it, and the engine's
SafeKeeper retries it with capped backoff on the engine clock until it is confirmed:
within `safe_retry_max_s` (4 control periods) of its line coming back. On the virtual
clock, with in-process simulated devices behind a line that can be cut; the same over
real sockets and ptys is in test_eng_unsafe_cli.py."""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eng_models import plant

from drivers.errors import DeviceTimeout
from kilnctl.clock import VirtualClock
from kilnctl.engine.autotune import TuneError, relay_autotune
from kilnctl.engine.engine import Engine, EngineError
from kilnctl.engine.messages import AlarmRaised, Event, PromptRaised, RunFinished, Sample, StartJob
from kilnctl.engine.safekeeper import SafeKeeper
from kilnctl.engine.settings import EngineSettings
from kilnctl.journal import Journal
from kilnctl.recipes.models import FiringProfile, Lot, PlatingRecipe
from simulators.inprocess import SimKilnController, SimRectifier

PERIOD_S = 1.0
SETTINGS = EngineSettings(period_s=PERIOD_S, auto_answer=True)
PROFILE = FiringProfile.model_validate(
    {"name": "p", "max_temp": 900, "segments": [{"rate": "max", "target": 790, "hold": "1 h"}]}
)


class Line:
    """The wire to an in-process device: while `cut`, every call fails as on a dead line.
    `cut_at` names a method whose first call cuts the line (the line dies right then);
    `safe_calls` records the clock time of each safe() attempt."""

    def __init__(self, device: Any, clock: VirtualClock, cut_at: str | None = None) -> None:
        self.device = device
        self.name = device.name
        self.clock = clock
        self.cut = False
        self.cut_at = cut_at
        self.safe_calls: list[float] = []

    def __getattr__(self, attr: str) -> Any:
        method = getattr(self.device, attr)
        if not inspect.iscoroutinefunction(method):
            return method  # plain attributes (watchdog_timeout_s, name...) pass through

        async def call(*args: Any) -> Any:
            if attr == "safe":
                self.safe_calls.append(self.clock.now())
            if attr == self.cut_at:
                self.cut, self.cut_at = True, None
            if self.cut and attr != "close":
                raise DeviceTimeout(self.name, "inprocess://", "no reply within 0.4 s")
            return await method(*args)

        return call


async def until(queue: asyncio.Queue[Event], pred: Callable[[Event], bool]) -> list[Event]:
    """Events up to and including the first matching `pred`."""
    seen = []
    while True:
        event = await queue.get()
        seen.append(event)
        if pred(event):
            return seen


def journaled(journal: Journal, run_id: str, kind: str) -> list[dict[str, Any]]:
    return [e.data for e in journal.events(run_id) if e.kind == kind]


async def test_a_kiln_lost_mid_firing_stays_unsafe_until_read_back_then_within_4_periods(
    tmp_path: Path,
) -> None:
    clock = VirtualClock()
    kiln = Line(SimKilnController("k", clock.now), clock)
    journal = Journal(tmp_path / "j.sqlite")
    eng = Engine({"k": kiln}, plant({"k1": {"controller": "k"}}), None, journal, clock, SETTINGS)
    queue = eng.subscribe(maxsize=1_000_000)
    run_id = await eng.submit(StartJob(ref="p", kiln="k1", recipe=PROFILE))
    assert run_id is not None
    await until(queue, lambda e: isinstance(e, Sample) and e.values["pv_c"] > 300)
    kiln.cut = True  # the example: `sim-fault kiln1 no_response` mid-firing
    cut_at = clock.wall_time()
    events = await until(queue, lambda e: isinstance(e, RunFinished))
    assert events[-1].outcome == "failed"  # type: ignore[attr-defined]
    raised = {e.code: e.t for e in events if isinstance(e, AlarmRaised)}
    assert raised["comms_loss"] - cut_at <= 3 * PERIOD_S  # hold
    assert raised["comms_lost"] - cut_at <= SETTINGS.comms_stop_s + PERIOD_S  # run ends
    (alarm,) = [e for e in events if isinstance(e, AlarmRaised) and e.code == "unsafe_device"]
    assert alarm.severity == "critical" and alarm.source == "k" and alarm.run_id == run_id
    assert list(eng.safekeeper.unsafe_devices()) == ["k"]
    assert (await kiln.device.read()).sp_c == 790.0  # really still heating: nobody reached it

    with pytest.raises(EngineError, match="k: safe state not confirmed"):
        await eng.submit(StartJob(ref="p", kiln="k1", recipe=PROFILE))

    # kilnctl keeps at it for as long as the line is dead, the gap capped at 4 periods
    cut_for_s = 600.0
    attempts_before = len(kiln.safe_calls)
    await clock.sleep(cut_for_s)
    retries = kiln.safe_calls[attempts_before:]
    gaps = [b - a for a, b in itertools.pairwise(retries)]
    assert len(retries) >= cut_for_s / SETTINGS.safe_retry_max_s - 1
    assert max(gaps) == pytest.approx(SETTINGS.safe_retry_max_s)
    assert eng.safekeeper.unsafe_devices()

    kiln.cut = False
    back_at = clock.now()
    await eng.safekeeper.wait_all_safe()
    periods = (clock.now() - back_at) / PERIOD_S
    assert periods <= SETTINGS.safe_retry_max_s / PERIOD_S  # confirmed within 4 periods
    reading = await kiln.device.read()
    assert reading.sp_c == 0.0
    await clock.sleep(2 * PERIOD_S)  # the controller acts at its next update
    assert (await kiln.device.read()).output_pct == 0.0

    # the record says when the kiln was unsafe and when that ended
    codes = [(e["code"]) for e in journaled(journal, run_id, "alarm_raised")]
    assert "unsafe_device" in codes
    assert [e["code"] for e in journaled(journal, run_id, "alarm_cleared")][-1] == "unsafe_device"
    (confirmed,) = [e for e in journaled(journal, run_id, "notice") if e["topic"] == "safe"]
    assert "k confirmed safe (read back)" in confirmed["message"]
    # and the kiln is free for the next run
    assert await eng.submit(StartJob(ref="p", kiln="k1", recipe=PROFILE)) is not None
    await eng.close()
    journal.close()


RECIPE = PlatingRecipe.model_validate(
    {
        "name": "r",
        "steps": [
            {"name": "nickel", "kind": "electro", "tank": "ni", "current": "2 A",
             "voltage_limit": "6 V", "end": {"time": "60 s"}},
            {"name": "rinse", "kind": "timed", "duration": "30 s"},
        ],
    }
)  # fmt: skip
LOT = Lot.model_validate({"material": "brass", "pin_count": 10, "area_per_pin": 0.12})


async def test_a_plating_step_whose_output_off_is_not_confirmed_ends_the_job() -> None:
    # the line dies as the step ends (at its safe()): the rinse that follows would have
    # hands in a tank whose rectifier may still be on
    clock = VirtualClock()
    rect = Line(SimRectifier("rect", clock.now), clock, cut_at="safe")
    eng = Engine(
        {"rect": rect}, plant(tanks={"ni": {"rectifier": "rect"}}), None, None, clock, SETTINGS
    )
    queue = eng.subscribe(maxsize=1_000_000)
    run_id = await eng.submit(StartJob(ref="r", recipe=RECIPE, lot=LOT))
    assert run_id is not None
    events = await until(queue, lambda e: isinstance(e, RunFinished))
    assert events[-1].outcome == "failed"  # type: ignore[attr-defined]
    assert "output off of rect not confirmed" in events[-1].reason  # type: ignore[attr-defined]
    assert not [e for e in events if isinstance(e, PromptRaised)]  # the rinse never began
    assert list(eng.safekeeper.unsafe_devices()) == ["rect"]
    assert (await rect.device.read()).amps_setpoint == 2.0  # its safe state never reached it

    rect.cut = False
    back_at = clock.now()
    await eng.safekeeper.wait_all_safe()
    assert clock.now() - back_at <= SETTINGS.safe_retry_max_s
    reading = await rect.device.read()
    assert not reading.output_on and reading.amps_setpoint == 0.0
    await eng.close()


async def test_safe_on_demand_ends_the_run_driving_the_kiln_and_reports_the_read_back() -> None:
    clock = VirtualClock()
    kiln = SimKilnController("k", clock.now)
    eng = Engine({"k": kiln}, plant({"k1": {"controller": "k"}}), None, None, clock, SETTINGS)
    queue = eng.subscribe(maxsize=1_000_000)
    run_id = await eng.submit(StartJob(ref="p", kiln="k1", recipe=PROFILE))
    assert run_id is not None
    await until(queue, lambda e: isinstance(e, Sample) and e.values["pv_c"] > 300)
    (report,) = await eng.make_safe_now(["k"], who="tester")
    assert report.confirmed and (report.sp_c, report.output_pct) == (0.0, 0.0)
    assert report.line().startswith("k: safe, confirmed by read-back: SP 0.0 °C, output 0.0 %")
    handle = eng.runs[run_id]
    assert handle.outcome == "aborted" and "made safe on demand (tester)" in handle.reason
    with pytest.raises(EngineError, match=r"unknown device nope \(known: k\)"):
        await eng.make_safe_now(["nope"], who="tester")
    await eng.close()


async def test_an_autotune_whose_heat_off_is_not_read_back_is_held_until_it_is() -> None:
    clock = VirtualClock()
    kiln = Line(SimKilnController("k", clock.now), clock, cut_at="safe")
    keeper = SafeKeeper(clock, lambda event: None)
    with pytest.raises(TuneError):  # the relay drove full heat for a minute, then gave up
        await relay_autotune(kiln, clock, 790.0, timeout_s=60.0, keeper=keeper)  # type: ignore[arg-type]
    assert list(keeper.unsafe_devices()) == ["k"]
    kiln.cut = False
    await keeper.wait_all_safe()
    assert (await kiln.device.read()).sp_c == 0.0 and not (await kiln.device.read()).manual
    await keeper.stop()


async def test_a_firing_whose_heat_off_is_not_confirmed_at_its_end_fails_the_run() -> None:
    # a job's next firing on this kiln would fight the keeper's retries: the job stops
    clock = VirtualClock()
    kiln = Line(SimKilnController("k", clock.now), clock, cut_at="safe")
    eng = Engine({"k": kiln}, plant({"k1": {"controller": "k"}}), None, None, clock, SETTINGS)
    short = FiringProfile.model_validate(
        {"name": "s", "max_temp": 300, "segments": [{"rate": "max", "target": 100, "hold": 60}]}
    )
    run_id = await eng.submit(StartJob(ref="s", kiln="k1", recipe=short))
    assert run_id is not None
    assert await eng.wait(run_id) == "failed"
    assert "k1: heat off not confirmed at the end of s" in eng.runs[run_id].reason
    kiln.cut = False
    await eng.safekeeper.wait_all_safe()
    assert (await kiln.device.read()).sp_c == 0.0
    await eng.close()
