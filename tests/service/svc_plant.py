"""A small plant for the service and TUI tests: one kiln and one gold tank as in-process
simulated devices, a few short recipes, and a real Service on a Unix socket in tmp_path."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kilnctl.clock import Clock, ScaledClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.settings import EngineSettings
from kilnctl.journal import Journal
from kilnctl.plant import Plant
from kilnctl.recipes.models import FiringProfile, Job, PlatingRecipe, Recipe
from kilnctl.service.server import Service
from simulators.inprocess import SimKilnController, SimRectifier

SPEED = 300.0
"""Scaled clock: a 1 s control period is 3.3 ms of wall time."""

PLANT = Plant.model_validate(
    {
        "devices": {
            "k1": {"driver": "eurotherm3216", "url": "inprocess://k1"},
            "au": {"driver": "korad_ka3005p", "url": "inprocess://au"},
        },
        "kilns": {"k1": {"controller": "k1", "max_temp": 1000}},
        "tanks": {"gold": {"rectifier": "au", "max_current": 5, "max_voltage": 12}},
    }
)

BAKE = FiringProfile.model_validate(
    {
        "name": "bake",
        "max_temp": 300,
        "segments": [
            {"rate": "max", "target": 100, "hold": "20 min", "warn_hold": "1 min"},
        ],
    }
)
# a long soak, not a coat: its own hold limits replace the vitreous enamel defaults
LONG = FiringProfile.model_validate(
    {
        "name": "long",
        "max_temp": 900,
        "segments": [
            {"rate": 100, "target": 800, "hold": "1 h", "warn_hold": "2 h", "max_hold": "2 h"}
        ],
    }
)
FLASH = PlatingRecipe.model_validate(
    {
        "name": "flash",
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
        "name": "pins",
        "lot": {"material": "brass", "pin_count": 25, "area_per_pin": "0.12 dm2"},
        "steps": [
            {"kind": "firing", "ref": "bake", "kiln": "k1", "prompt_before": "load the kiln"},
            {"kind": "plating", "ref": "flash", "prompt_before": "rack the pins"},
        ],
    }
)
RINSE_S, GOLD_AH, STRIKE_S = 20.0, 0.02, 30.0
LINE = PlatingRecipe.model_validate(
    {
        "name": "line",
        "steps": [
            {"name": "rinse", "kind": "timed", "duration": f"{RINSE_S:g} s"},
            {
                "name": "gold",
                "kind": "electro",
                "tank": "gold",
                "current_density": "1.2 A/dm2",
                "voltage_limit": "6 V",
                "end": {"amp_hours": f"{GOLD_AH:g} Ah"},
            },
            {
                "name": "strike",
                "kind": "electro",
                "tank": "gold",
                "current": "2 A",
                "voltage_limit": "6 V",
                "end": {"time": f"{STRIKE_S:g} s"},
            },
        ],
    }
)
PLATE = Job.model_validate(
    {
        "name": "plate",
        "lot": {"material": "brass", "pin_count": 25, "area_per_pin": "0.12 dm2"},
        "steps": [{"kind": "plating", "ref": "line"}],
    }
)
"""A plating-only job: 3 dm2 at 1.2 A/dm2 = 3.6 A, so the gold step takes ~20 s."""


class Library:
    """Recipes by name, like RecipeLibrary."""

    def __init__(self, *recipes: Recipe) -> None:
        self.recipes = {r.name: r for r in recipes}

    def names(self) -> list[str]:
        return sorted(self.recipes)

    def get(self, name: str) -> Recipe:
        from kilnctl.recipes.loader import Problem, RecipeNotFoundError

        if name not in self.recipes:
            raise RecipeNotFoundError(name, [Problem("", name, "no such recipe")])
        return self.recipes[name]

    def get_firing(self, name: str) -> FiringProfile:
        recipe = self.get(name)
        assert isinstance(recipe, FiringProfile)
        return recipe

    def get_plating(self, name: str) -> PlatingRecipe:
        recipe = self.get(name)
        assert isinstance(recipe, PlatingRecipe)
        return recipe

    def path_of(self, name: str) -> Path:
        """No file: the recipes are built in memory (findings then name no line)."""
        return Path(f"{self.get(name).name}.toml")


@dataclass
class Harness:
    """A running service and what it drives."""

    service: Service
    engine: Engine
    devices: dict[str, Any]
    socket: Path
    journal: Journal


def devices_for(clock: Clock) -> dict[str, Any]:
    return {
        "k1": SimKilnController("k1", clock.now, seed=1),
        "au": SimRectifier("au", clock.now, seed=1),
    }


@contextlib.asynccontextmanager
async def running_service(
    tmp_path: Path,
    clock: Clock | None = None,
    socket: Path | None = None,
    plant: Plant = PLANT,
    make_devices: Callable[[Clock], dict[str, Any]] = devices_for,
    **kw: Any,
) -> AsyncIterator[Harness]:
    """A Service on tmp_path/kilnctl.sock over the in-process plant (or `plant` over the
    devices `make_devices` builds)."""
    clock = clock or ScaledClock(SPEED)
    devices = make_devices(clock)
    journal = Journal(tmp_path / "journal.sqlite")
    library = kw.pop("library", None) or Library(BAKE, LONG, FLASH, JOB, LINE, PLATE)
    engine = Engine(devices, plant, library, journal, clock, EngineSettings(checkpoint_s=5))
    service = Service(engine, library=library, journal=journal, plant_name="test plant", **kw)
    path = socket or tmp_path / "kilnctl.sock"
    await service.start(path)
    try:
        yield Harness(service, engine, devices, path, journal)
    finally:
        await service.close()
        await engine.close()
        journal.close()
