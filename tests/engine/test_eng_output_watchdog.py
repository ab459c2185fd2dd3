"""Direct mode and the output's communication watchdog: armed before the first output
write, a firing refused when there is none unless the plant config allows it, and a
timeout shorter than two control periods refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eng_models import TinyKiln, plant

from kilnctl.clock import VirtualClock
from kilnctl.engine.autotune import TuneError, relay_autotune
from kilnctl.engine.engine import Engine, EngineError
from kilnctl.engine.messages import Event, Notice, RunFinished, StartJob
from kilnctl.engine.settings import EngineSettings
from kilnctl.plant import load_plant
from kilnctl.recipes.models import FiringProfile

PROFILE = FiringProfile.model_validate(
    {"name": "p", "max_temp": 900, "segments": [{"rate": 600, "target": 100, "hold": 10}]}
)


class NoWatchdogKiln(TinyKiln):
    """An output with no watchdog (e.g. a controller in manual, or a bare SSR board)."""

    watchdog_timeout_s = None


class ArmingKiln(TinyKiln):
    """Records the order of arming and output writes."""

    def __init__(self, *args: Any, timeout_s: float = 5.0) -> None:
        super().__init__(*args)
        self.watchdog_timeout_s = timeout_s
        self.calls: list[str] = []

    async def arm_watchdog(self) -> None:
        self.calls.append("arm")

    async def set_output(self, pct: float) -> None:
        self.calls.append("output")
        await super().set_output(pct)


async def fire(kiln: TinyKiln, clock: VirtualClock, **kiln_config: Any) -> list[Event]:
    engine = Engine(
        {"ctl": kiln},
        plant({"k1": {"controller": "ctl", "mode": "direct", **kiln_config}}),
        None,
        None,
        clock,
        EngineSettings(),
    )
    queue = engine.subscribe(maxsize=100_000)
    run_id = await engine.submit(StartJob(ref="p", kiln="k1", recipe=PROFILE))
    assert run_id is not None
    await engine.wait(run_id)
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events


async def test_the_watchdog_is_armed_before_the_first_output_write() -> None:
    clock = VirtualClock()
    kiln = ArmingKiln("ctl", clock.now)
    events = await fire(kiln, clock)
    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "completed"
    assert kiln.calls[:2] == ["arm", "output"] and kiln.calls.count("arm") == 1


async def test_a_direct_kiln_without_watchdog_is_refused_unless_allowed() -> None:
    clock = VirtualClock()
    kiln = NoWatchdogKiln("ctl", clock.now)
    engine = Engine(
        {"ctl": kiln}, plant({"k1": {"controller": "ctl", "mode": "direct"}}), None, None, clock
    )
    with pytest.raises(EngineError) as info:
        await engine.submit(StartJob(ref="p", kiln="k1", recipe=PROFILE))
    message = str(info.value)
    assert "kiln k1: direct mode needs the I/O module's communication watchdog" in message
    assert "allow_no_watchdog = true under [kilns.k1]" in message
    assert not kiln.direct and kiln.out == 0.0  # nothing was written
    events = await fire(kiln, clock, allow_no_watchdog=True)
    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "completed"
    notices = [e for e in events if isinstance(e, Notice) and e.topic == "no_watchdog"]
    assert len(notices) == 1 and "keeps its last duty" in notices[0].message


async def test_a_watchdog_shorter_than_two_periods_is_refused() -> None:
    clock = VirtualClock()
    kiln = ArmingKiln("ctl", clock.now, timeout_s=1.5)
    events = await fire(kiln, clock)
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.outcome == "failed"
    assert "timeout (1.5 s) is under two control periods (2 s)" in finished.reason
    assert "output" not in kiln.calls and kiln.is_safe


def test_allow_no_watchdog_is_a_kiln_field(tmp_path: Path) -> None:
    path = tmp_path / "kilnctl.toml"
    path.write_text(
        '[devices.io]\ndriver = "direct_kiln"\nurl = "modbus-tcp://127.0.0.1:502"\n'
        '[kilns.k3]\ncontroller = "io"\nmode = "direct"\nmax_temp = 900\n'
        "allow_no_watchdog = true\n"
    )
    assert load_plant(path).kilns["k3"].allow_no_watchdog


async def test_autotune_arms_the_watchdog_before_writing_the_output() -> None:
    clock = VirtualClock()
    kiln = ArmingKiln("ctl", clock.now)
    with pytest.raises(TuneError):
        await relay_autotune(kiln, clock, 5000.0, timeout_s=30.0)  # never reached
    assert kiln.calls[:2] == ["arm", "output"]
