"""What is refused before the first write (issue 6, item 8): every start of a run checks
the whole job against the plant and the lot's material with `validate`'s rules and
messages; errors refuse with no device written, warnings are recorded at the start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eng_models import TinyKiln, TinyRectifier

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine, EngineError
from kilnctl.engine.messages import Notice, RunStarted, StartJob
from kilnctl.engine.settings import EngineSettings
from kilnctl.journal import Journal
from kilnctl.plant import Plant
from kilnctl.recipes.models import FiringProfile, Job, Lot, PlatingRecipe, Recipe
from kilnctl.recipes.rules import check_job
from kilnctl.report import build_batch_record

PLANT = Plant.model_validate(
    {
        "devices": {
            "ctl": {"driver": "eurotherm3216", "url": "inprocess://ctl"},
            "ni": {"driver": "riden", "url": "inprocess://ni"},
        },
        "kilns": {"kiln1": {"controller": "ctl", "max_temp": "1000 C"}},
        "tanks": {"nickel": {"rectifier": "ni", "max_current": "50 A", "max_voltage": "12 V"}},
    }
)


def firing(name: str, peak: float, max_temp: float = 1200.0) -> FiringProfile:
    return FiringProfile.model_validate(
        {
            "name": name,
            "max_temp": max_temp,
            "segments": [{"rate": "max", "target": peak, "hold": "1 min"}],
        }
    )


HOT = firing("hot", 1100.0)
ENAMEL = firing("enamel", 790.0)
BAKE = firing("bake", 150.0, 300.0)
NICKEL = PlatingRecipe.model_validate(
    {
        "name": "nickel",
        "steps": [
            {"name": "cleaning", "kind": "timed", "duration": "8 min"},
            {
                "name": "bright nickel",
                "kind": "electro",
                "tank": "nickel",
                "current_density": "3 A/dm2",
                "voltage_limit": "8 V",
                "end": {"time": "1 min"},
            },
        ],
    }
)


def lot(material: str, pins: int = 100) -> dict[str, Any]:
    return {"material": material, "pin_count": pins, "area_per_pin": "0.12 dm2"}


def job(material: str, *steps: tuple[str, str], pins: int = 100) -> Job:
    return Job.model_validate(
        {
            "name": "j",
            "lot": lot(material, pins),
            "steps": [
                {"kind": kind, "ref": ref, **({"kiln": "kiln1"} if kind == "firing" else {})}
                for kind, ref in steps
            ],
        }
    )


class Library:
    def __init__(self, *recipes: Recipe) -> None:
        self.recipes = {r.name: r for r in recipes}

    def get(self, name: str) -> Recipe:
        return self.recipes[name]

    get_firing = get_plating = get

    def path_of(self, name: str) -> None:
        return None  # in memory: no file to point a finding at


LIBRARY = Library(HOT, ENAMEL, BAKE, NICKEL)


def shop(journal: Journal | None = None) -> tuple[Engine, TinyKiln, TinyRectifier]:
    clock = VirtualClock()
    kiln = TinyKiln("ctl", clock.now)
    rectifier = TinyRectifier("ni", clock.now)
    devices: dict[str, object] = {"ctl": kiln, "ni": rectifier}
    engine = Engine(devices, PLANT, LIBRARY, journal, clock, EngineSettings(auto_answer=True))
    return engine, kiln, rectifier


def untouched(kiln: TinyKiln, rectifier: TinyRectifier) -> bool:
    return (
        kiln.setpoints == []
        and not kiln.direct
        and kiln.safe_calls == 0
        and not rectifier.on
        and rectifier.amps_sp == 0.0
        and rectifier.safe_calls == 0
    )


def validate_lines(j: Job) -> list[str]:
    """What `kilnctl validate` says of the job (after the file name)."""
    return [str(f) for f in check_job(j, LIBRARY, PLANT)]  # type: ignore[arg-type]


async def refused(engine: Engine, start: StartJob) -> str:
    with pytest.raises(EngineError) as info:
        await engine.submit(start)
    assert engine.runs == {}
    return str(info.value)


async def test_a_firing_above_the_kilns_max_temp_is_refused_before_any_write() -> None:
    # Before: the run started and tripped hours later at the kiln's 1000 °C.
    engine, kiln, rectifier = shop()
    message = await refused(engine, StartJob(ref="hot", kiln="kiln1", recipe=HOT))
    assert message == (
        "refused before any device was written:\n"
        "  hot: error: hot reaches 1100 °C, above kiln kiln1's max_temp (allowed: <= 1000 °C)"
    )
    assert untouched(kiln, rectifier)
    hot_job = job("copper", ("firing", "hot"))
    assert (await refused(engine, StartJob(ref="j", recipe=hot_job))).splitlines()[1:] == [
        "  " + line for line in validate_lines(hot_job)
    ]


async def test_a_plating_step_over_the_rectifiers_rating_is_refused_before_cleaning() -> None:
    # Before: 8 minutes of cleaning ran, then the 72 A step was refused.
    engine, kiln, rectifier = shop()
    start = StartJob(ref="nickel", recipe=NICKEL, lot=Lot.model_validate(lot("copper", pins=200)))
    message = await refused(engine, start)
    assert message.splitlines()[1] == (
        "  nickel.steps[1] (bright nickel): error: needs 72 A, above tank nickel's rectifier "
        "(allowed: <= 50 A; split the load)"
    )
    assert untouched(kiln, rectifier)
    big = job("copper", ("plating", "nickel"), pins=200)
    assert (await refused(engine, StartJob(ref="j", recipe=big))).splitlines()[1:] == [
        "  " + line for line in validate_lines(big)
    ]


@pytest.mark.parametrize(
    "start",
    [
        # a bare profile with the lot's material (`simulate PROFILE --material zinc_alloy`)
        StartJob(
            ref="enamel", kiln="kiln1", recipe=ENAMEL, lot=Lot.model_validate(lot("zinc_alloy"))
        ),
        StartJob(ref="j", recipe=job("zinc_alloy", ("plating", "nickel"), ("firing", "enamel"))),
    ],
)
async def test_a_vitreous_firing_of_a_zinc_alloy_lot_is_refused(start: StartJob) -> None:
    # Before: refused only at the firing step (after the plating had run), or not at all
    # for a bare profile.
    engine, kiln, rectifier = shop()
    message = await refused(engine, start)
    assert "enamel reaches 790 °C; a zinc_alloy lot melts at 381 °C (allowed: <= 350 °C)" in message
    assert untouched(kiln, rectifier)


async def test_warnings_are_shown_at_the_start_and_kept_in_the_batch_record(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    engine, kiln, _ = shop(journal)
    queue = engine.subscribe(maxsize=100_000)
    # plated zinc alloy baked at 150 °C: allowed, with a warning
    plated_bake = job("zinc_alloy", ("plating", "nickel"), ("firing", "bake"))
    expected = validate_lines(plated_bake)
    assert [line.split(": ")[1] for line in expected] == ["warning"]
    run_id = await engine.submit(StartJob(ref="j", recipe=plated_bake, lot_id="L1"))
    assert run_id is not None
    first = [queue.get_nowait() for _ in range(2)]
    assert isinstance(first[0], RunStarted)
    assert isinstance(first[1], Notice) and (first[1].topic, first[1].message) == (
        "preflight",
        expected[0],
    )
    assert await engine.wait(run_id) == "completed"
    record = build_batch_record(journal, run_id)
    assert [n["message"] for n in record.notices if n.get("topic") == "preflight"] == expected
    journal.close()
    assert kiln.is_safe


async def test_high_zinc_brass_under_vitreous_enamel_starts_with_a_warning() -> None:
    engine, _kiln, _ = shop()
    queue = engine.subscribe(maxsize=100_000)
    brass = job("brass", ("firing", "enamel"))
    run_id = await engine.submit(StartJob(ref="j", recipe=brass))
    assert run_id is not None
    notices = [e.message for e in (queue.get_nowait() for _ in range(2)) if isinstance(e, Notice)]
    assert notices == validate_lines(brass)
    assert "high-zinc brass bubbles" in notices[0]
    assert await engine.wait(run_id) == "completed"
