"""The plant config a command works on, with config errors turned into user errors."""

from __future__ import annotations

from typing import Literal, overload

from kilnctl.cli.main import UserError
from kilnctl.plant import Plant, PlantConfigError, resolve_plant
from kilnctl.sim_link import RunningSim


def plant_and_sim(config: str | None) -> tuple[Plant, RunningSim | None]:
    """The plant (see plant_for) and the running simulator plant it points at, if any."""
    try:
        return resolve_plant(config)
    except PlantConfigError as exc:
        raise UserError(f"plant config: {exc}") from None


@overload
def plant_for(config: str | None, *, optional: Literal[False] = False) -> Plant: ...
@overload
def plant_for(config: str | None, *, optional: Literal[True]) -> Plant | None: ...
def plant_for(config: str | None, *, optional: bool = False) -> Plant | None:
    """--config, else ./kilnctl.toml, else the bundled example plant (pointed at a running
    `kilnctl sim`). With `optional`, a broken config the user did not name gives None: the
    command can do without it; one named with --config is always an error."""
    try:
        return resolve_plant(config)[0]
    except PlantConfigError as exc:
        if optional and config is None:
            return None
        raise UserError(f"plant config: {exc}") from None
