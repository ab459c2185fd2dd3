"""Plating runs on the virtual clock: amp-hours and Faraday figures against hand-computed
values, soft start, bath band refusal, timed steps as prompts, dosing, rectifier alarms."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from eng_models import TinyHeater, TinyRectifier, plant

from kilnctl.cli.main import main
from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import (
    AlarmRaised,
    AnswerPrompt,
    Event,
    Notice,
    Pause,
    PromptRaised,
    Resume,
    Sample,
    StartJob,
    StepFinished,
)
from kilnctl.engine.settings import EngineSettings
from kilnctl.journal import Journal
from kilnctl.recipes import faraday
from kilnctl.recipes.models import Deposit, Lot, PlatingRecipe

# 100 pins of 0.12 dm² = 12 dm² (docs/process.md: nickel-gold-flash for brass)
LOT = Lot.model_validate({"material": "brass", "pin_count": 100, "area_per_pin": 0.12})


def recipe(*steps: dict[str, Any], dose_every_ah: float | None = None) -> PlatingRecipe:
    return PlatingRecipe.model_validate(
        {"name": "r", "steps": list(steps), "dose_every_ah": dose_every_ah}
    )


async def plate(
    rec: PlatingRecipe,
    *,
    bath_c: float = 57.0,
    during: Any = None,
    settings: EngineSettings | None = None,
) -> tuple[str, list[Event], TinyRectifier, Engine, str]:
    clock = VirtualClock()
    rect = TinyRectifier("rect", clock.now)
    heater = TinyHeater("heat", clock.now, bath_c)
    eng = Engine(
        {"rect": rect, "heat": heater},
        plant(tanks={"ni": {"rectifier": "rect", "heater": "heat"}}),
        None,
        None,
        clock,
        settings or EngineSettings(auto_answer=during is None),
    )
    q = eng.subscribe(maxsize=100_000)
    run_id = await eng.submit(StartJob(ref="r", recipe=rec, lot=LOT))
    assert run_id is not None
    if during is not None:
        await during(eng, run_id, clock, rect, q)
    outcome = await eng.wait(run_id)
    events = []
    while not q.empty():
        events.append(q.get_nowait())
    return outcome, events, rect, eng, run_id


def step_results(events: list[Event]) -> list[dict[str, Any]]:
    """Results of the plating steps (the job step's own StepFinished sums them up)."""
    return [e.details for e in events if isinstance(e, StepFinished) and "step" in e.details]


NICKEL = {
    "name": "nickel",
    "kind": "electro",
    "tank": "ni",
    "current_density": 3.0,
    "voltage_limit": 12,
    "deposit": "nickel",
    "bath_temp": [55, 60],
}


async def test_nickel_to_5_um_by_amp_hours_hand_computed() -> None:
    rec = recipe({**NICKEL, "end": {"thickness": 5.0}})
    outcome, events, rect, _, _ = await plate(rec)
    assert outcome == "completed"
    # Ah = 5 µm · 8.9 g/cm³ · 12 dm² / (100 · 1.095 g/Ah · 0.95) = 5.1333 Ah at 36 A
    expected_ah = 5 * 8.9 * 12 / (100 * 1.095 * 0.95)
    assert expected_ah == pytest.approx(5.1333, abs=1e-4)
    (res,) = step_results(events)
    assert res["current_a"] == pytest.approx(36.0)
    assert res["amp_hours"] == pytest.approx(expected_ah, rel=1e-6)
    assert res["plating_s"] == pytest.approx(expected_ah / 36 * 3600, abs=0.01)  # 513.3 s
    assert res["thickness_um"] == pytest.approx(5.0, rel=1e-6)
    assert rect.is_safe


async def test_soft_start_ramp_then_time_end_integrates_the_measured_current() -> None:
    rec = recipe({**NICKEL, "soft_start": 20, "end": {"time": 120}})
    _outcome, events, _, _, _ = await plate(rec)
    (res,) = step_results(events)
    # 20 s ramp 0->36 A (10 s-equivalent) + 100 s at 36 A = 110 A·s·36... = 36·110/3600 Ah
    assert res["amp_hours"] == pytest.approx(36 * 110 / 3600, rel=1e-6)
    sp = [e.values["amps_sp"] for e in events if isinstance(e, Sample) and e.source == "ni"]
    assert sp[0] == 0.0 and sp[10] == pytest.approx(18.0) and sp[-1] == pytest.approx(36.0)
    assert res["thickness_um"] == pytest.approx(
        faraday.thickness_um(Deposit.NICKEL, 36 * 110 / 3600, 12.0)
    )


async def test_refuses_to_start_outside_the_bath_band() -> None:
    rec = recipe({**NICKEL, "end": {"time": 60}})
    outcome, _events, rect, eng, run_id = await plate(rec, bath_c=40.0)
    assert outcome == "stopped"
    assert "outside 55-60" in eng.runs[run_id].reason
    assert not rect.on and rect.amps_sp == 0.0


async def test_timed_step_is_prompt_wait_confirm() -> None:
    rec = recipe({"name": "acid dip", "kind": "timed", "duration": 45, "prompt": "dip now"})

    async def operator(
        eng: Engine, run_id: str, clock: VirtualClock, rect: TinyRectifier, q: asyncio.Queue[Event]
    ) -> None:
        prompts: list[tuple[PromptRaised, float]] = []
        while len(prompts) < 2:
            event = await q.get()
            if isinstance(event, PromptRaised):
                prompts.append((event, clock.now()))
                await eng.submit(AnswerPrompt(run_id, prompt_id=event.prompt_id))
        assert prompts[0][0].text == "dip now"
        assert prompts[1][1] - prompts[0][1] == pytest.approx(45.0)

    outcome, *_ = await plate(rec, during=operator)
    assert outcome == "completed"


async def test_dosing_reminder_every_n_amp_hours() -> None:
    rec = recipe(
        {**NICKEL, "current": 36, "current_density": None, "end": {"amp_hours": 5}},
        dose_every_ah=2.0,
    )
    _, events, _, _, _ = await plate(rec)
    dosing = [e for e in events if isinstance(e, Notice) and e.topic == "dosing"]
    assert len(dosing) == 2  # at 2 and 4 Ah


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("open_circuit", "open_circuit"),
        ("over_current", "over_current"),
        ("over_temperature", "rectifier_over_temperature"),
    ],
)
async def test_rectifier_fault_trips_and_output_goes_off(fault: str, code: str) -> None:
    rec = recipe({**NICKEL, "end": {"time": 600}})

    injected_at: list[float] = []

    async def inject(
        eng: Engine, run_id: str, clock: VirtualClock, rect: TinyRectifier, q: asyncio.Queue[Event]
    ) -> None:
        await clock.sleep(100)
        injected_at.append(clock.wall_time())
        rect.inject(fault)

    outcome, events, rect, _, _ = await plate(
        rec, during=inject, settings=EngineSettings(auto_answer=True)
    )
    assert outcome == "aborted"
    [alarm] = [e for e in events if isinstance(e, AlarmRaised) and e.code == code]
    # docs/safety.md: open circuit within 5 control periods (1 s), the others in 1
    assert alarm.t - injected_at[0] <= (5.0 if code == "open_circuit" else 1.0) + 0.01
    assert rect.is_safe


async def test_cc_to_cv_change_is_a_warning_only() -> None:
    rec = recipe({**NICKEL, "current": 90, "current_density": None, "end": {"time": 30}})

    async def raise_current(
        eng: Engine, run_id: str, clock: VirtualClock, rect: TinyRectifier, q: asyncio.Queue[Event]
    ) -> None:
        await clock.sleep(10)
        rect.ohms = 0.2  # the rack resistance rises: 90 A needs 19.5 V > 12 V limit

    outcome, events, _, _, _ = await plate(
        rec, during=raise_current, settings=EngineSettings(auto_answer=True)
    )
    assert outcome == "completed"
    assert "cc_cv_change" in [e.code for e in events if isinstance(e, AlarmRaised)]


async def test_bath_leaving_its_band_raises_an_alarm_during_the_step() -> None:
    rec = recipe({**NICKEL, "end": {"time": 300}})
    heater: list[Any] = []

    async def cool(
        eng: Engine, run_id: str, clock: VirtualClock, rect: TinyRectifier, q: asyncio.Queue[Event]
    ) -> None:
        await clock.sleep(100)
        eng.devices["heat"].set_pv(50.0)  # type: ignore[attr-defined]
        heater.append(True)

    outcome, events, *_ = await plate(rec, during=cool, settings=EngineSettings(auto_answer=True))
    assert heater and outcome == "completed"  # notify only: the step goes on
    assert "bath_out_of_band" in [e.code for e in events if isinstance(e, AlarmRaised)]


async def test_pause_turns_the_output_off_and_stops_the_step_clock() -> None:
    rec = recipe({**NICKEL, "end": {"time": 120}})

    async def pause(
        eng: Engine, run_id: str, clock: VirtualClock, rect: TinyRectifier, q: asyncio.Queue[Event]
    ) -> None:
        await clock.sleep(60.5)
        await eng.submit(Pause(run_id))
        await clock.sleep(100)
        assert not rect.on
        await eng.submit(Resume(run_id))

    outcome, events, _, _, _ = await plate(
        rec, during=pause, settings=EngineSettings(auto_answer=True)
    )
    (res,) = step_results(events)
    assert outcome == "completed"
    assert res["plating_s"] == pytest.approx(120.0, abs=1.0)
    assert res["duration_s"] == pytest.approx(220.0, abs=2.0)
    assert res["amp_hours"] == pytest.approx(36 * 120 / 3600, rel=0.02)


async def test_comms_loss_turns_output_off_then_stops_the_run() -> None:
    rec = recipe({**NICKEL, "end": {"time": 600}})

    async def cut(
        eng: Engine, run_id: str, clock: VirtualClock, rect: TinyRectifier, q: asyncio.Queue[Event]
    ) -> None:
        await clock.sleep(100)
        rect.inject("no_response")
        await clock.sleep(10)
        assert not rect.on  # held: output off while the rectifier does not answer

    outcome, events, rect, eng, run_id = await plate(
        rec, during=cut, settings=EngineSettings(auto_answer=True, comms_stop_s=30.0)
    )
    assert outcome == "failed" and "no answer for 30 s" in eng.runs[run_id].reason
    codes = [e.code for e in events if isinstance(e, AlarmRaised)]
    assert codes == ["comms_loss", "comms_lost"]
    assert rect.is_safe


async def test_never_reaching_constant_current_is_a_warning() -> None:
    # 90 A through 0.2 ohm needs 19.5 V: with a 12 V limit the rectifier sits in CV at
    # (12 - 1.5) / 0.2 = 52.5 A from the first reading, never having been in CC
    rec = recipe({**NICKEL, "current": 90, "current_density": None, "end": {"time": 30}})

    async def high_resistance(
        eng: Engine, run_id: str, clock: VirtualClock, rect: TinyRectifier, q: asyncio.Queue[Event]
    ) -> None:
        rect.ohms = 0.2

    outcome, events, _, _, _ = await plate(
        rec, during=high_resistance, settings=EngineSettings(auto_answer=True)
    )
    assert outcome == "completed"
    raised = [e for e in events if isinstance(e, AlarmRaised) and e.code == "cc_cv_change"]
    assert raised and "52.50 A, below the 90.00 A setpoint" in raised[0].message


async def test_a_timed_step_ends_on_time_even_when_readings_are_slow() -> None:
    # A paced RTU line at 60x makes every reading cost seconds of simulated time: the
    # output must still go off at the step's end, not one reading later.
    clock = VirtualClock()
    enabled_at: list[float] = []
    disabled_at: list[float] = []

    class SlowRectifier(TinyRectifier):
        async def read(self) -> Any:
            await clock.sleep(2.0)
            return await super().read()

        async def enable(self) -> None:
            enabled_at.append(clock.now())
            await super().enable()

        async def disable(self) -> None:
            if self.on:
                disabled_at.append(clock.now())
            await super().disable()

    rect = SlowRectifier("rect", clock.now)
    eng = Engine(
        {"rect": rect, "heat": TinyHeater("heat", clock.now, 62.0)},
        plant(tanks={"au": {"rectifier": "rect", "heater": "heat"}}),
        None,
        None,
        clock,
        EngineSettings(auto_answer=True),
    )
    flash = {"name": "gold flash", "kind": "electro", "tank": "au", "current_density": 1.2,
             "voltage_limit": 6, "deposit": "gold", "end": {"time": 18}}  # fmt: skip
    q = eng.subscribe(maxsize=10_000)
    run_id = await eng.submit(StartJob(ref="r", recipe=recipe(flash), lot=LOT))
    assert run_id is not None
    assert await eng.wait(run_id) == "completed"
    events = [q.get_nowait() for _ in range(q.qsize())]
    (res,) = step_results(events)
    # 1.2 A/dm² × 12 dm² = 14.4 A for 18 s = 0.072 Ah
    assert res["plating_s"] == pytest.approx(18.0, abs=0.01)
    assert res["amp_hours"] == pytest.approx(14.4 * 18 / 3600, rel=1e-3)
    assert len(enabled_at) == len(disabled_at) == 1
    assert disabled_at[0] - enabled_at[0] == pytest.approx(18.0, abs=0.01)


async def test_qc_judges_xrf_readings_against_the_recipe_tolerance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plating step journals its target and tolerance (the recipe as it ran); `kilnctl
    qc` judges each XRF reading against that band (docs/process.md: nickel 3-8 µm, 5 µm
    typical) and a reading outside fails the sample, and the lot, in the batch record."""
    rec = recipe({**NICKEL, "end": {"thickness": 5.0}, "thickness_tolerance": ["3 um", "8 um"]})
    clock = VirtualClock()
    path = tmp_path / "journal.sqlite"
    with Journal(path) as journal:
        eng = Engine(
            {"rect": TinyRectifier("rect", clock.now), "heat": TinyHeater("heat", clock.now, 57)},
            plant(tanks={"ni": {"rectifier": "rect", "heater": "heat"}}),
            None,
            journal,
            clock,
            EngineSettings(auto_answer=True),
        )
        run_id = await eng.submit(StartJob(ref="r", recipe=rec, lot=LOT, lot_id="L7"))
        assert run_id is not None and await eng.wait(run_id) == "completed"
        await eng.close()
    qc = ["qc", "last", "--journal", str(path), "--adhesion", "pass", "--visual-defects", "0",
          "--sample-size", "13", "--thickness-um"]  # fmt: skip
    assert main([*qc, "5.1,4.9,2.5,5.0,5.2"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.rstrip().endswith(
        "-> FAIL (thickness FAIL against nickel 3-8 µm (target 5 µm): 2.5 µm outside)"
    ), out
    assert main([*qc, "5.1,4.9,3.0,5.0,8.0"]) == 0  # the band's ends pass
    assert capsys.readouterr().out.rstrip().endswith("-> PASS")
    assert main(["report", run_id, "--journal", str(path), "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert [q["thickness_verdict"] for q in record["qc"]] == ["fail", "pass"]
    assert record["qc"][0]["thickness_spec"] == {
        "step": "nickel", "tolerance_um": [3.0, 8.0], "target_um": 5.0,
    }  # fmt: skip
    assert record["qc_verdict"] == "fail"
    assert main(["report", run_id, "--journal", str(path)]) == 0
    assert "thickness FAIL against nickel 3-8 µm (target 5 µm): 2.5 µm outside" in (
        capsys.readouterr().out
    )


def test_a_tolerance_must_hold_the_target_and_name_a_deposit() -> None:
    with pytest.raises(ValueError, match="target thickness 5 µm must lie inside it"):
        recipe({**NICKEL, "end": {"thickness": 5.0}, "thickness_tolerance": ["6 um", "8 um"]})
    with pytest.raises(ValueError, match="needs the step's deposit"):
        no_deposit = {k: v for k, v in NICKEL.items() if k != "deposit"}
        recipe({**no_deposit, "end": {"time": 60}, "thickness_tolerance": ["3 um", "8 um"]})
