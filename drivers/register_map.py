"""Register maps as data: a TOML file of named registers with their status bits.

The format is shared with the simulator's copy of the generic rectifier map:

```toml
[device]
name = "generic_rectifier"
word_order = "ABCD"          # default order of 32-bit values: ABCD CDAB BADC DCBA

[registers.volts]            # register name
address = 3                  # 0-based protocol address
type = "uint16"              # int16 uint16 int32 uint32 float32
scale = 0.01                 # engineering value = raw × scale
access = "rw"                # "r" (default) or "rw"
min = 0                      # optional limits of a written value (engineering units)
max = 60
word_order = "CDAB"          # optional per-register override
bits = { cc = 1, fault = 2 } # optional named bits of a status word
```
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.codec import (
    ByteOrder,
    DataType,
    Register,
    RegisterBlock,
    parse_dtype,
    parse_order,
)
from drivers.errors import ConfigError

MAPS_DIR = Path(__file__).with_name("maps")
_REGISTER_KEYS = {
    "address", "type", "scale", "access", "min", "max", "word_order", "bits", "description",
}  # fmt: skip
_ACCESS = ("r", "rw")


@dataclass(frozen=True)
class MapEntry:
    """A register of a map, with whether and within which limits it may be written."""

    register: Register
    writable: bool = False
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Bit:
    """A named bit: which register of the map, which bit (0 = least significant)."""

    register: str
    bit: int


@dataclass(frozen=True)
class RegisterMap:
    """A device's register table loaded from TOML."""

    source: str
    entries: dict[str, MapEntry]
    bits: dict[str, Bit] = field(default_factory=dict)
    """Bit name -> where it lives; both "register.bit" and the bare bit name (first one)."""
    name: str = ""
    tables: dict[str, Any] = field(default_factory=dict)
    """The file's other top-level tables (e.g. [watchdog]), for the driver that uses them."""

    def register(self, name: str) -> Register:
        """The codec Register of a named map entry."""
        return self.entries[name].register

    def require(self, registers: Sequence[str], bits: Sequence[str] = ()) -> None:
        """ConfigError naming what a driver needs that this map lacks."""
        missing = [r for r in registers if r not in self.entries]
        missing += [f"bit {b}" for b in bits if b not in self.bits]
        if missing:
            raise ConfigError(f"register map {self.source}: missing {', '.join(missing)}")

    def read_groups(self, names: Collection[str] | None = None) -> list[RegisterBlock]:
        """Registers (all, or those named) grouped into runs of contiguous addresses: one
        read request each (gaps are never read, since devices may answer them with
        exception 2)."""
        chosen = [e.register for n, e in self.entries.items() if names is None or n in names]
        ordered = sorted(chosen, key=lambda r: r.address)
        groups: list[list[Register]] = []
        for reg in ordered:
            if groups and reg.address <= groups[-1][-1].address + groups[-1][-1].count:
                groups[-1].append(reg)
            else:
                groups.append([reg])
        return [RegisterBlock(tuple(group)) for group in groups]


def _number(where: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: {key} must be a number, got {value!r}")
    return float(value)


def _entry(where: str, name: str, spec: dict[str, Any], order: ByteOrder) -> MapEntry:
    unknown = set(spec) - _REGISTER_KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
            f"(allowed: {', '.join(sorted(_REGISTER_KEYS))})"
        )
    address = spec.get("address")
    if isinstance(address, bool) or not isinstance(address, int) or not 0 <= address <= 0xFFFF:
        raise ConfigError(f"{where}: address must be an integer 0..65535, got {address!r}")
    dtype = parse_dtype(str(spec.get("type", DataType.UINT16.value)), where)
    if "word_order" in spec:
        order = parse_order(str(spec["word_order"]), where)
    scale = _number(where, "scale", spec.get("scale", 1))
    if scale == 0:
        raise ConfigError(f"{where}: scale must not be 0")
    access = spec.get("access", "r")
    if access not in _ACCESS:
        raise ConfigError(f"{where}: access must be one of {', '.join(_ACCESS)}, got {access!r}")
    minimum = _number(where, "min", spec["min"]) if "min" in spec else None
    maximum = _number(where, "max", spec["max"]) if "max" in spec else None
    # The codec divides by its scale (raw / scale); the map multiplies (raw × scale).
    register = Register(name, address, dtype, 1.0 / scale, order, str(spec.get("description", "")))
    return MapEntry(register, access == "rw", minimum, maximum)


def _bits(where: str, name: str, spec: Any, width: int) -> dict[str, int]:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: bits must be a table {{ name = bit number }}")
    for bit_name, bit in spec.items():
        if isinstance(bit, bool) or not isinstance(bit, int) or not 0 <= bit < width:
            raise ConfigError(
                f"{where}: bits.{bit_name} must be an integer 0..{width - 1}, got {bit!r}"
            )
    return dict(spec)


def parse_map(data: dict[str, Any], source: str) -> RegisterMap:
    """Build a RegisterMap from parsed TOML, with errors naming the field at fault."""
    device = data.get("device", {})
    if not isinstance(device, dict):
        raise ConfigError(f"register map {source}: [device] must be a table")
    order = parse_order(str(device.get("word_order", "ABCD")), f"register map {source}: device")
    registers = data.get("registers")
    if not isinstance(registers, dict) or not registers:
        raise ConfigError(f"register map {source}: needs a [registers.NAME] table")
    entries: dict[str, MapEntry] = {}
    bits: dict[str, Bit] = {}
    for name, spec in registers.items():
        where = f"register map {source}: registers.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a table with address, type, ...")
        entries[name] = entry = _entry(where, name, spec, order)
        for bit_name, bit in _bits(
            where, name, spec.get("bits", {}), 16 * entry.register.count
        ).items():
            bits[f"{name}.{bit_name}"] = Bit(name, bit)
            bits.setdefault(bit_name, Bit(name, bit))
    tables = {k: v for k, v in data.items() if k not in ("device", "registers")}
    return RegisterMap(source, entries, bits, str(device.get("name", "")), tables)


def load_map(path: str | Path) -> RegisterMap:
    """Load a map file; a bare name like "generic_rectifier" means a shipped map."""
    candidate = Path(path)
    if not candidate.suffix and not candidate.exists():
        candidate = MAPS_DIR / f"{path}.toml"
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"register map {candidate}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"register map {candidate}: not valid TOML ({exc})") from None
    return parse_map(data, str(candidate))
