"""End to end over real wires: the bundled simulated plant (Modbus TCP, Modbus RTU and the
Korad on pseudo-terminals) at a speed factor, the real drivers from drivers.registry, the
journal, and the engine on the scaled clock: a job with a firing on the Omron kiln and a
gold flash on the Korad, prompts answered by the test, devices safe at the end."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from drivers.registry import open_device
from kilnctl.clock import ScaledClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import AnswerPrompt, PromptRaised, RunFinished, StartJob
from kilnctl.engine.settings import EngineSettings
from kilnctl.journal import Journal
from kilnctl.plant import EXAMPLE_PLANT, Plant, load_plant
from kilnctl.recipes.models import FiringProfile, Job, PlatingRecipe
from simulators.plant import Plant as SimPlant
from simulators.plant_config import load_plant_config

SPEED = 60.0

PROFILE = FiringProfile.model_validate(
    {
        "name": "e2e-bake",
        "max_temp": 300,
        "segments": [{"rate": "max", "target": 150, "hold": "1 min", "soak_band": "10 C"}],
    }
)
FLASH = PlatingRecipe.model_validate(
    {
        "name": "e2e-flash",
        "steps": [
            {
                "name": "gold flash",
                "kind": "electro",
                "tank": "gold",
                "current_density": "1.2 A/dm2",
                "voltage_limit": "6 V",
                "deposit": "gold",
                "end": {"time": "30 s"},
            }
        ],
    }
)
JOB = Job.model_validate(
    {
        "name": "e2e-job",
        "lot": {"material": "brass", "pin_count": 25, "area_per_pin": "0.12 dm2"},
        "steps": [
            {"kind": "firing", "ref": "e2e-bake", "kiln": "kiln2", "prompt_before": "load"},
            {"kind": "plating", "ref": "e2e-flash", "prompt_before": "rack the pins"},
        ],
    }
)


class Library:
    def get(self, name: str) -> Any:
        return {r.name: r for r in (PROFILE, FLASH, JOB)}[name]


def plant_on(urls: dict[str, str]) -> Plant:
    """The example plant with the simulators' real URLs."""
    example = load_plant(EXAMPLE_PLANT)
    data = example.model_dump(mode="json")
    for name, device in data["devices"].items():
        device["url"] = urls[name]
    return Plant.model_validate(data)


async def test_job_over_real_wires_with_prompts(tmp_path: Path) -> None:
    sim = SimPlant(load_plant_config(), speed=SPEED, seed=3)
    await sim.start()
    devices: dict[str, object] = {}
    try:
        plant = plant_on({name: dev.url for name, dev in sim.devices.items()})
        for name in ("kiln2", "gold_rectifier", "gold_heater"):
            cfg = plant.devices[name]
            devices[name] = open_device(name, cfg.driver, cfg.url, **cfg.options)
        journal = Journal(tmp_path / "journal.sqlite")
        engine = Engine(
            devices, plant, Library(), journal, ScaledClock(SPEED), EngineSettings(checkpoint_s=5)
        )
        queue = engine.subscribe(maxsize=100_000)
        run_id = await engine.submit(StartJob(ref="e2e-job", lot_id="E2E"))
        assert run_id is not None
        prompts = []
        async with asyncio.timeout(50):
            while True:
                event = await queue.get()
                if isinstance(event, PromptRaised):
                    prompts.append(event.text)
                    await engine.submit(AnswerPrompt(run_id, prompt_id=event.prompt_id))
                elif isinstance(event, RunFinished):
                    break
        assert (event.outcome, event.reason) == ("completed", "")
        assert prompts == ["load", "rack the pins"]
        results = engine.runs[run_id].results
        assert results[0]["final_pv_c"] == pytest.approx(150, abs=10)
        gold = results[1]["steps"][0]
        # 1.2 A/dm² × 3 dm² = 3.6 A for 30 s = 0.03 Ah, measured through the Riden (RTU pty).
        # At 60x a paced RTU poll of the rectifier and the bath heater costs seconds of
        # simulated time, so the step may end up to a few simulated seconds late; the
        # amp-hours must match the current over the time it really ran.
        assert 30.0 <= gold["plating_s"] <= 36.0
        assert gold["amp_hours"] == pytest.approx(3.6 * gold["plating_s"] / 3600, rel=0.05)
        kiln = await devices["kiln2"].read()  # type: ignore[attr-defined]
        rect = await devices["gold_rectifier"].read()  # type: ignore[attr-defined]
        assert kiln.output_pct == pytest.approx(0.0, abs=0.5) and not rect.output_on
        assert journal.runs()[0].outcome == "completed"
        assert sum(1 for _ in journal.samples(run_id)) > 60
        journal.close()
    finally:
        for device in devices.values():
            await device.close()  # type: ignore[attr-defined]
        await sim.close()
