"""Run ids are unique by construction (bench_many_devices: 100 runs started on one engine
once failed with `UNIQUE constraint failed: runs.run_id`). An id is the start second plus a
random suffix; within one second the suffixes of 100 runs collide now and then, so the
journal picks, inside its write transaction, a candidate it does not hold yet. The tests
force every random suffix to be the same: the worst case, every time. A run on simulated
time is stamped with the real time it started (engine.run_origin), so the test pins that
too: the hundred starts then share one second however slowly a loaded machine runs them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from eng_models import TinyKiln, plant

import kilnctl.engine.engine
import kilnctl.journal
from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import StartJob
from kilnctl.journal import Journal
from kilnctl.recipes.models import FiringProfile

RUNS = 100

PROFILE = FiringProfile.model_validate(
    {"name": "p", "max_temp": 900, "segments": [{"rate": 300, "target": 790, "hold": 3600}]}
)


@pytest.fixture
def same_random_suffix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kilnctl.journal.secrets, "token_hex", lambda nbytes=None: "c0ffee")


@pytest.fixture
def real_time_stands_still(monkeypatch: pytest.MonkeyPatch) -> None:
    # only the engine's view of real time: the event loop and pytest keep the real clock
    still = SimpleNamespace(time=lambda: 1_796_000_000.25)
    monkeypatch.setattr(kilnctl.engine.engine, "time", still)


@pytest.mark.usefixtures("same_random_suffix", "real_time_stands_still")
async def test_a_hundred_runs_started_in_one_second_on_one_engine(tmp_path: Path) -> None:
    clock = VirtualClock()
    kilns = {f"ctl{i}": TinyKiln(f"ctl{i}", clock.now) for i in range(RUNS)}
    config = plant({f"k{i}": {"controller": f"ctl{i}", "max_temp_c": 1000.0} for i in range(RUNS)})
    with Journal(tmp_path / "journal.sqlite") as journal:
        engine = Engine(dict(kilns), config, None, journal, clock)
        run_ids = [
            await engine.submit(StartJob(ref="p", kiln=f"k{i}", recipe=PROFILE, lot_id=f"L{i}"))
            for i in range(RUNS)
        ]
        await clock.sleep(5)
        await engine.close()
        assert len(set(run_ids)) == RUNS
        assert {r.run_id for r in journal.runs()} == set(run_ids)
        # all stamped with the one real second: the suffixes collided 99 times
        assert {str(r)[:15] for r in run_ids} == {"20261130-005320"}
    assert all(k.is_safe for k in kilns.values())


@pytest.mark.usefixtures("same_random_suffix")
def test_two_writers_of_one_journal_never_take_the_same_id(tmp_path: Path) -> None:
    # e.g. `kilnctl serve` and a `kilnctl run` started the same second on one plant journal
    path = tmp_path / "journal.sqlite"
    with Journal(path) as service, Journal(path) as terminal:
        ids = [
            writer.start_run(
                job_name="j", lot_id="L", recipe_hashes={}, started_at=1_796_000_000.0, meta={}
            )
            for writer in (service, terminal, service, terminal)
        ]
    assert ids == [
        "20261130-005320-c0ffee",
        "20261130-005320-c0ffee-2",
        "20261130-005320-c0ffee-3",
        "20261130-005320-c0ffee-4",
    ]
