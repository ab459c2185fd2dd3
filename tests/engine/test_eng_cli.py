"""`kilnctl simulate`, `kilnctl tune --simulate` and `kilnctl resume` through the real CLI
entry point, with the bundled example plant and the shipped profiles; the operator-log
lines `kilnctl run` prints for events (and its --json lines, unchanged)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kilnctl.cli.cmd_run import _Console, _sim_devices
from kilnctl.cli.event_lines import EventLines
from kilnctl.cli.main import main
from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import (
    AlarmAcked,
    AlarmCleared,
    AlarmRaised,
    Event,
    Notice,
    OperatorAction,
    PlatingStepFinished,
    PlatingStepStarted,
    PromptAnswered,
    PromptRaised,
    RunFinished,
    RunStarted,
    Sample,
    SegmentChanged,
    StartJob,
    StateChanged,
    StepFinished,
    StepStarted,
)
from kilnctl.engine.settings import EngineSettings
from kilnctl.plant import EXAMPLE_PLANT, load_plant
from kilnctl.recipes.loader import RecipeLibrary


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(EXAMPLE_PLANT), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_preheat_predicts_the_trajectory(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "simulate", "enamel-preheat", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["outcome"] == "completed"
    kiln = summary["kilns"]["kiln1"]
    assert 789.0 <= kiln["peak_pv_c"] <= 792.0
    # docs/process.md: a 1.8 kW kiln reaches 790 °C from 20 °C in 30-60 min at full power
    reached = next(p["t_min"] for p in kiln["trajectory"] if p["pv_c"] >= 780)
    assert 30 <= reached <= 60


def test_simulate_plating_recipe_reports_thickness(capsys: pytest.CaptureFixture[str]) -> None:
    # 30 pins × 0.12 dm² = 3.6 dm²: nickel 10.8 A, within the 12 A of the example plant
    code, out, _ = run_cli(capsys, "simulate", "nickel-gold-flash", "--pins", "30")
    assert code == 0, out
    nickel = next(line for line in out.splitlines() if "nickel" in line and "µm" in line)
    assert "1.540 Ah, 5.000 µm" in nickel  # 5·8.9·3.6 / (100·1.095·0.95) Ah


def test_simulate_unknown_recipe_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "simulate", "no-such-recipe")
    assert code == 2 and "no-such-recipe" in err


def test_tune_simulated_kiln_proposes_gains(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "tune", "kiln3", "--simulate", "--json")
    result = json.loads(out)
    assert code == 0
    assert 30 <= result["period_s"] <= 600 and result["kp"] > 0 and result["ki"] > 0


def test_resume_with_nothing_to_resume(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "resume", "--journal", str(tmp_path / "j.sqlite"))
    assert code == 2 and "no unfinished run" in err


# ---------------------------------------------------------------------- `kilnctl run` lines


def strip_clock(line: str) -> str:
    assert re.match(r"\d\d:\d\d:\d\d ", line), line
    return line[9:]


def lines_of(*events: Event) -> list[str | None]:
    lines = EventLines()
    return [None if (x := lines.line(e.to_dict())) is None else strip_clock(x) for e in events]


def test_event_lines_read_like_an_operator_log() -> None:
    t0 = 1_800_000_000.0
    run = "20261126-0202-ab12"
    hashes = {f"r{i}": "ab" * 32 for i in range(6)}
    got = lines_of(
        RunStarted(run, t0, "job-3-layer-enamel-nickel-gold", "L1", hashes),
        StepStarted(run, t0, 0, "preheat", "firing", 7, "kiln1"),
        SegmentChanged(run, t0 + 1, "kiln1", 0, "ramp", 790.0),
        Sample(run, t0 + 2, "kiln1", 1, {"pv_c": 21.3, "sp_c": 790.0, "out_pct": 100.0}),
        AlarmRaised(run, t0 + 3, "a1", "kiln1", "over_temperature", "critical", "heat_off",
                    "PV 871.2 °C > trip 870.0 °C"),
        AlarmAcked(run, t0 + 4, "a1", "terminal"),
        AlarmCleared(run, t0 + 5, "a1", "kiln1", "over_temperature"),
        AlarmRaised(run, t0 + 6, "a2", "kiln1", "hold_warn", "warning", "notify", "200 s"),
        SegmentChanged(run, t0 + 7, "kiln1", 0, "done", 790.0),
        StateChanged(run, t0 + 8, "kiln1", "standby", "held at 790 °C for the next firing"),
        SegmentChanged(run, t0 + 9, "kiln1", 0, "hold", 790.0),  # the standby's own
        StepFinished(run, t0 + 4392.6, 0, "preheat", "completed",
                     {"kiln": "kiln1", "duration_s": 4392.632890859968, "final_pv_c": 789.94}),
        StepStarted(run, t0 + 4393, 1, "coat 1", "firing", 7, "kiln1"),
        PromptRaised(run, t0 + 4393, "p1", "Load the tray."),
        PromptAnswered(run, t0 + 5000, "p1", "ok", "terminal"),
        StateChanged(run, t0 + 5000, "kiln1", "firing", "taken over from the standby at 790 °C"),
        SegmentChanged(run, t0 + 5000, "kiln1", 0, "ramp", 795.0),
        OperatorAction(run, t0 + 5001, "terminal", "abort", "Ctrl-C"),
        StepFinished(run, t0 + 5002, 1, "coat 1", "aborted", {"reason": "Ctrl-C (terminal)"}),
        StepStarted(run, t0 + 5002, 5, "nickel + gold flash", "plating", 7, "gold, nickel"),
        PlatingStepStarted(run, t0 + 5003, 8, "bright nickel", "electro"),
        PlatingStepFinished(run, t0 + 5524, 8, "bright nickel", "completed",
                            {"tank": "nickel", "current_a": 36.00001, "amp_hours": 5.13312,
                             "plating_s": 519.9, "duration_s": 521.0, "thickness_um": 4.99987}),
        StepFinished(run, t0 + 5700, 5, "nickel + gold flash", "completed",
                     {"recipe": "nickel-gold-flash", "steps": [], "amp_hours": 6.0391}),
        Notice(run, t0 + 5800, "kiln1", "resume", "standby resumed at setpoint 790.0 °C"),
        RunFinished(run, t0 + 7200, "aborted", "Ctrl-C (terminal)"),
    )  # fmt: skip
    assert got == [
        f"run {run} started: job-3-layer-enamel-nickel-gold, lot L1 "
        "(6 recipes, hashes in the batch record)",
        "step 1/7 preheat: started (firing on kiln1)",
        "kiln1: ramp to 790 °C",
        None,
        "ALARM kiln1 over_temperature (heat off): PV 871.2 °C > trip 870.0 °C",
        "alarm acknowledged by terminal: kiln1 over_temperature",
        "alarm cleared: kiln1 over_temperature",
        "WARNING kiln1 hold_warn (notify): 200 s",
        "kiln1: end of schedule",
        "kiln1: standby (held at 790 °C for the next firing)",
        None,
        "step 1/7 preheat: completed in 1:13:13, final PV 789.9 °C",
        "step 2/7 coat 1: started (firing on kiln1)",
        "asking the operator: Load the tray.",
        "answered 'ok' (terminal)",
        "kiln1: firing (taken over from the standby at 790 °C)",
        "kiln1: ramp to 795 °C",
        "abort by terminal: Ctrl-C",
        "step 2/7 coat 1: aborted: Ctrl-C (terminal)",
        "step 6/7 nickel + gold flash: started (plating in gold, nickel)",
        "  bright nickel: started (electro)",
        "  bright nickel: completed in 0:08:41, at 36.0 A, 5.133 Ah, 5.000 µm",
        "step 6/7 nickel + gold flash: completed in 0:11:38, 6.039 Ah",
        "kiln1 resume: standby resumed at setpoint 790.0 °C",
        f"run {run} aborted after 2:00:00: Ctrl-C (terminal)",
    ]


def test_event_lines_for_an_unknown_kind_or_missing_fields_still_say_something() -> None:
    lines = EventLines()
    odd = lines.line({"kind": "qc", "run_id": "r", "t": 0.0, "passed": True, "xrf_um": 5.04321})
    assert odd is not None and strip_clock(odd) == "qc: passed=True, xrf_um=5.043"
    short = lines.line({"kind": "step_started", "run_id": "r", "t": 0.0, "index": 0})
    assert short is not None and strip_clock(short) == "step_started: index=0"
    # a step without the job's step count (an older journal): no "/N"
    old = lines.line(StepStarted("r", 0.0, 2, "rinse", "prompt").to_dict())
    assert old is not None and strip_clock(old) == "step 3 rinse: started (operator prompt)"


async def test_run_console_prints_log_lines_and_json_unchanged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A job on the virtual clock with the simulated plant, its events shown by the console
    of `kilnctl run`: operator-log lines, or with --json exactly the events' JSON."""
    plant = load_plant(EXAMPLE_PLANT)
    clock = VirtualClock()
    devices = _sim_devices(plant, clock, seed=0)
    settings = EngineSettings(period_s=plant.sample_period_s, auto_answer=True)
    engine = Engine(devices, plant, RecipeLibrary(), None, clock, settings)
    queue = engine.subscribe(maxsize=1_000_000)
    run_id = await engine.submit(StartJob(ref="enamel-coat-base", kiln="kiln1", lot_id="L9"))
    assert run_id is not None and await engine.wait(run_id) == "completed"
    events = [queue.get_nowait() for _ in range(queue.qsize())]
    capsys.readouterr()
    text, as_json = _Console(engine, run_id, False), _Console(engine, run_id, True)
    for event in events:
        text.show(event)
    shown = [strip_clock(x) for x in capsys.readouterr().out.splitlines() if x[:1].isdigit()]
    for event in events:
        as_json.show(event)
    assert capsys.readouterr().out.splitlines() == [json.dumps(e.to_dict()) for e in events]
    assert shown[0] == (
        f"run {run_id} started: enamel-coat-base, lot L9 (1 recipe, hashes in the batch record)"
    )
    assert shown[1] == "step 1/1 enamel-coat-base: started (firing on kiln1)"
    assert "kiln1: ramp to 795 °C" in shown and "kiln1: hold at 795 °C" in shown
    assert re.fullmatch(
        r"step 1/1 enamel-coat-base: completed in 0:\d\d:\d\d, final PV 79\d\.\d °C", shown[-2]
    )
    assert re.fullmatch(rf"run {run_id} completed after 0:\d\d:\d\d", shown[-1])
    for line in shown:  # no raw dicts, no unrounded floats
        assert "={" not in line and not re.search(r"\d\.\d{4,}", line), line
