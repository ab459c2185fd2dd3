"""Plant config (`kilnctl.toml`): the devices on this cell's lines, the kilns and plating
tanks built from them, their limits, the journal path and the optional InfluxDB section.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from kilnctl.identifiers import identifier_problem
from kilnctl.recipes.loader import NO_VALUE, Problem, RecipeError, load_model
from kilnctl.recipes.models import (
    CrossFieldError,
    DurationS,
    Loc,
    OptCurrentA,
    OptVoltageV,
    TemperatureBand,
    TemperatureC,
)
from kilnctl.recipes.process_limits import VitreousEnamelLimits
from kilnctl.sim_link import RunningSim, running_sim

PLANT_FILE = "kilnctl.toml"
_V = TypeVar("_V")
EXAMPLE_PLANT = Path(__file__).resolve().parents[1] / "kilnctl.example.toml"


class PlantConfigError(RecipeError):
    """A plant config that cannot be used: file, field path, value, what is allowed."""


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DeviceConfig(_Config):
    """One device: the driver name of drivers.registry and its address URL."""

    driver: str = Field(min_length=1, description="e.g. eurotherm3216, riden, korad_ka3005p")
    url: str = Field(min_length=1, description="e.g. modbus-tcp://127.0.0.1:5020?unit=1")
    options: dict[str, Any] = Field(default_factory=dict, description="driver keyword options")

    @field_validator("url")
    @classmethod
    def _url_parses(cls, url: str) -> str:
        # The parser the drivers use, so `validate` refuses what a run would refuse (e.g.
        # unit 0, the broadcast address, on a serial line). Other schemes (in-process test
        # devices) are the business of whoever opens them.
        from drivers.address import SCHEMES, parse_address
        from drivers.errors import ConfigError

        if url.partition(":")[0] in SCHEMES:
            try:
                parse_address(url)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return url


class PidGains(_Config):
    """PID gains for direct (software) control: output % per °C, per °C·s, per °C/s."""

    kp: float = Field(default=4.0, ge=0)
    ki: float = Field(default=0.02, ge=0)
    kd: float = Field(default=0.0, ge=0)


class Kiln(_Config):
    """A kiln: its temperature controller device and its limits."""

    controller: str = Field(description="device name")
    mode: Literal["setpoint", "direct"] = Field(
        default="setpoint",
        description="setpoint: stream the setpoint to the controller; direct: own PID -> SSR",
    )
    max_temp_c: TemperatureC = Field(
        validation_alias=AliasChoices("max_temp", "max_temp_c"),
        gt=0,
        description="rated maximum of the kiln",
    )
    power_kw: float | None = Field(
        default=None, gt=0, description="element power, for energy estimates"
    )
    pid: PidGains | None = Field(default=None, description="gains for direct mode")
    allow_no_watchdog: bool = Field(
        default=False,
        description="direct mode on an output with no communication watchdog: the SSR keeps "
        "its last duty if kilnctl dies (refused unless true)",
    )
    contactor: str | None = Field(
        default=None,
        description=(
            "device name of the kiln's mains contactor output, opened (and read back) on a "
            "stuck relay, when the controller's own output can no longer stop the heat"
        ),
    )


class Tank(_Config):
    """A plating tank: its rectifier, optional bath heater and limits."""

    rectifier: str = Field(description="device name")
    heater: str | None = Field(default=None, description="bath heater controller device name")
    max_current_a: OptCurrentA = Field(
        default=None, validation_alias=AliasChoices("max_current", "max_current_a"), gt=0
    )
    max_voltage_v: OptVoltageV = Field(
        default=None, validation_alias=AliasChoices("max_voltage", "max_voltage_v"), gt=0
    )
    bath_temp_c: TemperatureBand = Field(
        default=None,
        validation_alias=AliasChoices("bath_temp", "bath_temp_c"),
        description="default bath band [min, max] when a step gives none",
    )


class InfluxConfig(_Config):
    """Optional InfluxDB telemetry target (v2 org/bucket/token or 1.x database)."""

    url: str
    api: Literal["v2", "v1", "auto"] = "auto"
    org: str = ""
    bucket: str = ""
    token: str = ""
    database: str = ""
    batch_size: int = Field(default=500, ge=1)


class Plant(_Config):
    """The whole plant config."""

    devices: dict[str, DeviceConfig] = Field(default_factory=dict)
    kilns: dict[str, Kiln] = Field(default_factory=dict)
    tanks: dict[str, Tank] = Field(default_factory=dict)
    site: str = Field(
        default="", description="telemetry tag: the factory or site (optional)"
    )
    cell: str = Field(
        default_factory=socket.gethostname,
        description="telemetry tag: this service's cell (kiln room, plating line); "
        "every cell writing to one InfluxDB needs its own (default: the host name)",
    )
    journal_path: str = Field(
        default="",
        validation_alias=AliasChoices("journal", "journal_path"),
        description="journal file, relative to this config's folder (default: the per-user "
        "state directory, see kilnctl/journal_location.py)",
    )
    sample_period_s: DurationS = Field(
        default=1.0, validation_alias=AliasChoices("sample_period", "sample_period_s"), gt=0
    )
    influx: InfluxConfig | None = None
    claims_dir: str | None = Field(
        default=None,
        description="directory of the device claims (kilnctl.claims) that every process "
        "controlling this plant shares; default: the user's runtime directory",
    )
    room_temp_c: TemperatureC = Field(
        default=25.0,
        validation_alias=AliasChoices("room_temp", "room_temp_c"),
        description="warmest the kiln room gets: no kiln cools below it; a cooling target "
        "at or below it is warned about",
    )
    vitreous_enamel: VitreousEnamelLimits = Field(
        default_factory=VitreousEnamelLimits,
        description="default hold limits of vitreous enamel firings (a recipe's own win)",
    )

    @model_validator(mode="after")
    def _devices_exist(self) -> Plant:
        problems: list[tuple[Loc, object, str]] = []
        known = ", ".join(self.devices) or "none defined"

        def check(loc: Loc, name: str | None) -> None:
            if name is not None and name not in self.devices:
                problems.append((loc, name, f"no such device (allowed: {known})"))

        # Device, kiln and tank names are telemetry tags (the samples' source).
        tables: dict[str, Iterable[str]] = {
            "devices": self.devices,
            "kilns": self.kilns,
            "tanks": self.tanks,
        }
        for table, names in tables.items():
            for name in names:
                if problem := identifier_problem(name):
                    problems.append(((table, name), name, f"name {problem}"))
        for key, value in (("site", self.site), ("cell", self.cell)):
            if (value or key == "cell") and (problem := identifier_problem(value)):
                problems.append(((key,), value, problem))
        for kiln_name, kiln in self.kilns.items():
            check(("kilns", kiln_name, "controller"), kiln.controller)
            check(("kilns", kiln_name, "contactor"), kiln.contactor)
        for tank_name, tank in self.tanks.items():
            check(("tanks", tank_name, "rectifier"), tank.rectifier)
            check(("tanks", tank_name, "heater"), tank.heater)
        if problems:
            raise CrossFieldError(problems)
        return self

    def telemetry_tags(self) -> dict[str, str]:
        """The tags every point of this plant carries: cell, and site when set."""
        return {"cell": self.cell, **({"site": self.site} if self.site else {})}

    def with_urls(self, urls: dict[str, str]) -> Plant:
        """This plant with the devices named in `urls` moved to those addresses."""
        devices = {
            name: dev.model_copy(update={"url": urls[name]}) if name in urls else dev
            for name, dev in self.devices.items()
        }
        return self.model_copy(update={"devices": devices})

    def kiln(self, name: str | None) -> tuple[str, Kiln]:
        """The kiln called `name`, or the only kiln when `name` is None."""
        return _pick("kiln", self.kilns, name)

    def tank(self, name: str) -> Tank:
        """The tank called `name`."""
        return _pick("tank", self.tanks, name)[1]


def _pick(what: str, table: dict[str, _V], name: str | None) -> tuple[str, _V]:
    if name is None:
        if len(table) == 1:
            return next(iter(table.items()))
        raise KeyError(f"several {what}s configured, name one (allowed: {', '.join(table)})")
    if name not in table:
        raise KeyError(f"no {what} {name!r} in the plant config (allowed: {', '.join(table)})")
    return name, table[name]


def load_plant(path: str | Path) -> Plant:
    """Load and validate a plant config; PlantConfigError lists every problem."""
    return load_model(path, Plant, PlantConfigError)


def resolve_plant(config: str | Path | None = None) -> tuple[Plant, RunningSim | None]:
    """The plant a command works on (see find_plant). The bundled example plant is pointed at
    the running simulator plant, if there is one, whose URLs and speed are returned too."""
    path = find_plant(config)
    plant = load_plant(path)
    sim = running_sim() if path.resolve() == EXAMPLE_PLANT else None
    if sim is not None:
        plant = plant.with_urls(sim.urls)
    return plant, sim


def find_plant(path: str | Path | None = None) -> Path:
    """The plant config to use: `path`, else ./kilnctl.toml, else the bundled example
    (the simulator plant)."""
    if path is not None:
        return Path(path)
    local = Path.cwd() / PLANT_FILE
    if local.is_file():
        return local
    if EXAMPLE_PLANT.is_file():
        return EXAMPLE_PLANT
    raise PlantConfigError(
        local, [Problem("", NO_VALUE, f"no {PLANT_FILE} here and no bundled example plant")]
    )
