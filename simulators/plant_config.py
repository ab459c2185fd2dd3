"""The simulated plant's TOML file: which devices, on which protocol, port or line.

Errors name the file, the device and the field, and say what is allowed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PLANT = Path(__file__).with_name("default_plant.toml")
PROTOCOLS = ("modbus-tcp", "modbus-rtu", "korad-serial")
KORAD_KIND = "korad_ka3005p"
DEFAULT_BAUD = {"modbus-rtu": 19200, "korad-serial": 9600}
_DEVICE_FIELDS = {
    "name", "kind", "protocol", "unit", "port", "line", "baud", "turnaround_ms", "link", "params",
}  # fmt: skip


class PlantConfigError(ValueError):
    """The plant file is wrong; the message says where and what is allowed."""


@dataclass(frozen=True)
class DeviceSpec:
    """One simulated device as the plant file describes it."""

    name: str
    kind: str
    protocol: str
    unit: int = 1
    port: int = 0
    line: str = ""
    """RS-485 line name (modbus-rtu); defaults to the device's name: a line of its own."""
    baud: int = 19200
    turnaround_ms: float = 5.0
    link: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlantConfig:
    """All devices of a simulated plant, and where its control port listens."""

    devices: tuple[DeviceSpec, ...]
    host: str = "127.0.0.1"
    control_port: int = 0
    source: str = "<memory>"


def load_plant_config(path: str | Path | None = None) -> PlantConfig:
    """Read a plant file (the bundled default plant when `path` is None)."""
    file = Path(path) if path is not None else DEFAULT_PLANT
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlantConfigError(f"{file}: cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PlantConfigError(f"{file}: not valid TOML: {exc}") from exc
    return parse_plant_config(data, str(file))


def _is(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False  # bool is an int to Python, never a valid port, unit or baud here
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def _get(table: dict[str, Any], key: str, kind: type, where: str, default: Any = None) -> Any:
    """table[key] checked against `kind`; required when no default is given."""
    value = table.get(key, default)
    if value is None and key in ("name", "kind", "protocol"):
        raise PlantConfigError(f"{where}: missing field '{key}'")
    if value is not None and not _is(value, kind):
        raise PlantConfigError(f"{where}: field '{key}' must be {kind.__name__}, got {value!r}")
    return value


def _parse_device(table: Any, index: int, source: str) -> DeviceSpec:
    where = f"{source}: device[{index}]"
    if not isinstance(table, dict):
        raise PlantConfigError(f"{where}: must be a table ([[device]])")
    name = _get(table, "name", str, where)
    where = f"{source}: device '{name}'"
    unknown = set(table) - _DEVICE_FIELDS
    if unknown:
        raise PlantConfigError(
            f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(_DEVICE_FIELDS)}"
        )
    kind = _get(table, "kind", str, where)
    protocol = _get(table, "protocol", str, where)
    if protocol not in PROTOCOLS:
        raise PlantConfigError(f"{where}: protocol {protocol!r} is not one of {PROTOCOLS}")
    if (protocol == "korad-serial") != (kind == KORAD_KIND):
        raise PlantConfigError(
            f"{where}: kind {KORAD_KIND!r} goes with protocol 'korad-serial' and only with it"
        )
    unit = _get(table, "unit", int, where, 1)
    low = 0 if protocol == "modbus-tcp" else 1
    if not low <= unit <= (255 if protocol == "modbus-tcp" else 247):
        raise PlantConfigError(f"{where}: unit {unit} out of range for {protocol}")
    port = _get(table, "port", int, where, 0)
    if not 0 <= port <= 65535:
        raise PlantConfigError(f"{where}: port {port} must be 0..65535 (0 = any free port)")
    baud = _get(table, "baud", int, where, DEFAULT_BAUD.get(protocol, 19200))
    if baud <= 0:
        raise PlantConfigError(f"{where}: baud must be > 0, got {baud}")
    turnaround_ms = float(_get(table, "turnaround_ms", float, where, 5.0))
    if turnaround_ms < 0:
        raise PlantConfigError(f"{where}: turnaround_ms must be >= 0, got {turnaround_ms}")
    params = _get(table, "params", dict, where, {})
    return DeviceSpec(
        name=name,
        kind=kind,
        protocol=protocol,
        unit=unit,
        port=port,
        line=_get(table, "line", str, where, name),
        baud=baud,
        turnaround_ms=turnaround_ms,
        link=_get(table, "link", str, where, None),
        params=dict(params),
    )


def _check_shared_lines(devices: tuple[DeviceSpec, ...], source: str) -> None:
    """Devices on one RTU line share its baud and turnaround; unit ids are unique per bus."""
    first_on_line: dict[str, DeviceSpec] = {}
    taken: dict[tuple[str, str, int], str] = {}
    for dev in devices:
        if dev.protocol == "modbus-rtu":
            first = first_on_line.setdefault(dev.line, dev)
            if (first.baud, first.turnaround_ms, first.link) != (
                dev.baud, dev.turnaround_ms, dev.link,
            ):  # fmt: skip
                raise PlantConfigError(
                    f"{source}: device '{dev.name}' is on line '{dev.line}' with "
                    f"'{first.name}' but differs in baud, turnaround_ms or link"
                )
            bus = ("rtu", dev.line, dev.unit)
        elif dev.protocol == "modbus-tcp" and dev.port != 0:
            bus = ("tcp", str(dev.port), dev.unit)
        else:
            continue
        if bus in taken:
            raise PlantConfigError(
                f"{source}: devices '{taken[bus]}' and '{dev.name}' both use unit {dev.unit} "
                f"on the same {bus[0]} {'line' if bus[0] == 'rtu' else 'port'} {bus[1]!r}"
            )
        taken[bus] = dev.name


def parse_plant_config(data: dict[str, Any], source: str = "<memory>") -> PlantConfig:
    """Validate a parsed plant file."""
    unknown = set(data) - {"control", "device"}
    if unknown:
        raise PlantConfigError(f"{source}: unknown section(s) {sorted(unknown)}")
    raw_devices = data.get("device", [])
    if not isinstance(raw_devices, list) or not raw_devices:
        raise PlantConfigError(f"{source}: needs at least one [[device]]")
    devices = tuple(_parse_device(t, i, source) for i, t in enumerate(raw_devices))
    names = [d.name for d in devices]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise PlantConfigError(f"{source}: device names must be unique: {duplicates}")
    _check_shared_lines(devices, source)
    control = data.get("control", {})
    if not isinstance(control, dict):
        raise PlantConfigError(f"{source}: [control] must be a table")
    host = _get(control, "host", str, f"{source}: [control]", "127.0.0.1")
    port = _get(control, "port", int, f"{source}: [control]", 0)
    return PlantConfig(devices=devices, host=host, control_port=port, source=source)
