"""Every segment can end (issue 6, item 7): a cooling segment whose target the kiln cannot
reach ends with a notice once the kiln stops cooling; `simulate` caps simulated time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kilnctl.cli.cmd_run import SIM_LIMIT_FACTOR, sim_time_limit, simulate
from kilnctl.cli.main import main
from kilnctl.engine.schedule import DONE, HOLD, FiringSchedule, ScheduleSegment
from kilnctl.plant import EXAMPLE_PLANT, load_plant
from kilnctl.recipes import estimate
from kilnctl.recipes.loader import RecipeLibrary
from kilnctl.recipes.models import FiringProfile

STALL_S = 1800.0


def run_schedule(
    sched: FiringSchedule, pv_of_t: dict[float, float] | None, until_s: float, pv: float = 20.0
) -> float | None:
    """Advance once a second with the PV `pv` (or pv_of_t's latest); the time it ended."""
    for t in range(1, int(until_s) + 1):
        if pv_of_t is not None:
            pv = pv_of_t.get(float(t), pv)
        sched.advance(float(t), pv)
        if sched.state.index > 0 or sched.done:
            return float(t)
    return None


def test_free_cooling_to_below_room_ends_when_the_kiln_stops_cooling() -> None:
    sched = FiringSchedule([ScheduleSegment(None, 15.0), ScheduleSegment(None, 15.0, 60.0)])
    sched.start(0.0, 20.0, seek=False)
    ended = run_schedule(sched, None, 2 * STALL_S)
    assert ended == STALL_S  # PV flat at 20 °C: 30 min after the wait began
    assert sched.take_notes() == [
        "segment 1: kiln stopped cooling at 20 °C, above the 15 °C target "
        "(fell less than 1 °C in 30 min): segment ended"
    ]
    assert sched.sp_c == 20.0  # the next segment starts where the kiln is
    assert sched.take_notes() == []


def test_a_kiln_still_cooling_slowly_is_not_cut_short() -> None:
    sched = FiringSchedule([ScheduleSegment(None, 15.0)])
    sched.start(0.0, 60.0)
    # 1.2 °C per 30 min (2.4 °C/h): slow, but still falling
    falling = {float(t): 60.0 - 1.2 * t / STALL_S for t in range(0, 10_001)}
    assert run_schedule(sched, falling, 10_000) is None
    assert not sched.done and sched.notes == []


def test_free_cooling_time_limit() -> None:
    sched = FiringSchedule([ScheduleSegment(None, 100.0)], free_cool_limit_s=600.0)
    sched.start(0.0, 400.0)
    falling = {float(t): 400.0 - 0.05 * t for t in range(0, 1000)}
    assert run_schedule(sched, falling, 1000) == 600.0
    assert sched.done
    assert "after its time limit of 10 min" in sched.take_notes()[0]


def test_a_cooling_ramp_waiting_for_a_kiln_that_stopped_cooling_ends() -> None:
    # 300 °C/h down to 15 °C with a catch-up band of 3 °C: the setpoint waits for the PV
    sched = FiringSchedule([ScheduleSegment(300.0, 15.0)], catchup_band_c=3.0)
    sched.start(0.0, 30.0)
    ended = run_schedule(sched, None, 3 * STALL_S, pv=24.0)
    assert sched.done and ended is not None
    assert "kiln stopped cooling at 24 °C" in sched.take_notes()[0]


def test_a_soak_after_cooling_whose_band_is_never_reached_ends() -> None:
    sched = FiringSchedule([ScheduleSegment(600.0, 18.0, 600.0, soak_band_c=2.0)])
    sched.start(0.0, 40.0)
    ended = run_schedule(sched, None, 3 * STALL_S, pv=22.0)
    assert sched.state.phase == DONE and ended is not None
    assert "above the 18 °C target" in sched.take_notes()[0]


def test_a_soak_in_its_band_is_not_touched() -> None:
    sched = FiringSchedule([ScheduleSegment(600.0, 500.0, 3 * STALL_S, soak_band_c=5.0)])
    sched.start(0.0, 600.0)
    assert run_schedule(sched, None, 2 * STALL_S, pv=502.0) is None
    assert sched.state.phase == HOLD and sched.notes == []


COOL_15 = Path(__file__).resolve().parents[1] / "fixtures" / "cool15.toml"


def test_simulate_a_free_cool_to_15_c_in_a_20_c_room_finishes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Before: the segment never ended (`simulate` still running after 120 s).
    code = main(["--config", str(EXAMPLE_PLANT), "simulate", str(COOL_15), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["outcome"] == "completed"
    assert summary["duration_s"] == pytest.approx(STALL_S, abs=5)
    assert any(
        "kiln stopped cooling at 20 °C, above the 15 °C target" in n for n in summary["notices"]
    )
    assert any("at or below room temperature (25 °C)" in n for n in summary["notices"])


async def test_simulate_stops_at_its_time_limit_and_says_why() -> None:
    plant = load_plant(EXAMPLE_PLANT)
    soak = FiringProfile.model_validate(
        {
            "name": "soak",
            "max_temp": 900,
            "segments": [{"rate": "max", "target": 200, "hold": "5 h"}],
        }
    )
    summary = await simulate(soak, plant, RecipeLibrary(), kiln=None, lot=None, limit_s=3600.0)
    assert summary["outcome"] == "aborted"
    assert summary["reason"].startswith("not finished after 1:00:00 simulated")
    assert summary["duration_s"] == pytest.approx(3600.0, abs=2)


def test_the_time_limit_is_three_times_the_estimate_within_2_to_48_hours() -> None:
    library = RecipeLibrary()
    anneal = library.get("anneal-copper")
    assert isinstance(anneal, FiringProfile)
    est = estimate.estimate_firing(anneal).duration_s
    limit, why = sim_time_limit(anneal, library, None)
    assert limit == SIM_LIMIT_FACTOR * est
    assert f"{SIM_LIMIT_FACTOR:g} × the estimated" in why
    tiny = FiringProfile.model_validate(
        {"name": "t", "max_temp": 900, "segments": [{"rate": "max", "target": 100}]}
    )
    assert sim_time_limit(tiny, library, None)[0] == 2 * 3600.0
    days = FiringProfile.model_validate(
        {"name": "d", "max_temp": 900, "segments": [{"rate": 10, "target": 800, "hold": "1 h"}]}
    )
    limit, why = sim_time_limit(days, library, None)
    assert limit == 48 * 3600.0 and "the 48:00:00 cap of a dry run" in why
