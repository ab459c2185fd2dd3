"""The plant config a command works on, with config errors turned into user errors.

Every command that reads the plant (validate, show, simulate, run, resume, serve, ...)
finds it the same way (--config, else ./kilnctl.toml, else the bundled example) and says
on stderr which one it used, so a `validate` and the `run` after it never disagree silently.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, overload

from kilnctl.cli.main import UserError
from kilnctl.plant import EXAMPLE_PLANT, Plant, PlantConfigError, find_plant, resolve_plant
from kilnctl.sim_link import RunningSim


def plant_source(path: Path, sim: RunningSim | None) -> str:
    """'plant: ./kilnctl.toml' or 'plant: bundled example (kilnctl.example.toml), ...'."""
    if path.resolve() == EXAMPLE_PLANT:
        where = f"bundled example ({EXAMPLE_PLANT.name})"
        if sim is not None:
            return f"plant: {where}, pointed at the running simulators"
        return f"plant: {where}"
    try:
        shown = f"./{path.resolve().relative_to(Path.cwd().resolve())}"
    except ValueError:  # outside the working folder: the whole path
        shown = str(path)
    return f"plant: {shown}"


def _announce(config: str | None, sim: RunningSim | None) -> None:
    print(plant_source(find_plant(config), sim), file=sys.stderr)


def plant_and_sim(config: str | None) -> tuple[Plant, RunningSim | None]:
    """The plant (see plant_for) and the running simulator plant it points at, if any."""
    try:
        plant, sim = resolve_plant(config)
    except PlantConfigError as exc:
        raise UserError(f"plant config: {exc}") from None
    _announce(config, sim)
    return plant, sim


@overload
def plant_for(config: str | None, *, optional: Literal[False] = False) -> Plant: ...
@overload
def plant_for(config: str | None, *, optional: Literal[True]) -> Plant | None: ...
def plant_for(config: str | None, *, optional: bool = False) -> Plant | None:
    """--config, else ./kilnctl.toml, else the bundled example plant (pointed at a running
    `kilnctl sim`), announced on stderr. With `optional`, a broken config the user did not
    name gives None: the command can do without it; one named with --config is always an
    error."""
    try:
        plant, sim = resolve_plant(config)
    except PlantConfigError as exc:
        if optional and config is None:
            print(f"plant: none usable ({exc.lines()[0]})", file=sys.stderr)
            return None
        raise UserError(f"plant config: {exc}") from None
    _announce(config, sim)
    return plant
