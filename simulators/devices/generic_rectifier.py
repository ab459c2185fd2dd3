"""An industrial plating rectifier whose register map is the data file
generic_rectifier.toml next to this module (status, warnings, alarms, volts, amps, process
time, amp-hours, current setpoint, voltage limit, output enable), driving a PlatingCell.

The map file is the contract with drivers/maps/generic_rectifier.toml: this module knows the
meaning of each named register, the file says where it lives and how it is encoded.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulators.device import SlaveException
from simulators.devices.registers import (
    SimulatedDevice,
    check_range,
    float32_words,
    int16_word,
    uint16_word,
    uint32_words,
    word_int16,
    words_float32,
)
from simulators.physics.plating import PlatingCell, PlatingParams

MAP_PATH = Path(__file__).with_name("generic_rectifier.toml")


@dataclass(frozen=True)
class Register:
    """One named register of the map."""

    name: str
    address: int
    type: str
    scale: float = 1.0
    writable: bool = False
    bits: dict[str, int] = field(default_factory=dict)

    @property
    def width(self) -> int:
        """Registers occupied (1 or 2)."""
        return 2 if self.type in ("uint32", "int32", "float32") else 1


@dataclass(frozen=True)
class RegisterMap:
    """A rectifier register map loaded from TOML."""

    registers: dict[str, Register]
    word_order: str
    max_current_a: float
    max_voltage_v: float

    @classmethod
    def load(cls, path: Path = MAP_PATH) -> RegisterMap:
        """Parse a map file (ValueError naming the file on a malformed map)."""
        with path.open("rb") as f:
            data: dict[str, Any] = tomllib.load(f)
        try:
            device = data["device"]
            regs = {
                name: Register(
                    name=name,
                    address=int(spec["address"]),
                    type=str(spec["type"]),
                    scale=float(spec.get("scale", 1.0)),
                    writable=spec.get("access", "r") == "rw",
                    bits=dict(spec.get("bits", {})),
                )
                for name, spec in data["registers"].items()
            }
            word_order = str(device.get("word_order", "ABCD"))
            if word_order not in ("ABCD", "CDAB"):
                raise ValueError(f"word_order {word_order!r} (this simulator: ABCD or CDAB)")
            return cls(
                regs, word_order, float(device["max_current_a"]), float(device["max_voltage_v"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: malformed register map: {exc!r}") from exc

    def encode(self, reg: Register, value: float) -> list[int]:
        """The register words of `value` (engineering units)."""
        raw = value / reg.scale
        if reg.type == "uint16":
            words = [uint16_word(raw)]
        elif reg.type == "int16":
            words = [int16_word(raw)]
        elif reg.type == "float32":
            words = list(float32_words(raw))
        else:  # 32-bit integers: the two's complement of int32 is its uint32 pattern
            words = list(uint32_words(round(raw) & 0xFFFFFFFF))
        return words[::-1] if reg.width == 2 and self.word_order == "CDAB" else words

    def decode(self, reg: Register, words: list[int]) -> float:
        """Engineering value of a register's words."""
        if reg.width == 2 and self.word_order == "CDAB":
            words = words[::-1]
        if reg.type == "uint16":
            return words[0] * reg.scale
        if reg.type == "int16":
            return word_int16(words[0]) * reg.scale
        if reg.type == "float32":
            return words_float32(words[0], words[1]) * reg.scale
        raw = (words[0] << 16) | words[1]
        if reg.type == "int32" and raw & 0x80000000:
            raw -= 1 << 32
        return raw * reg.scale


class GenericRectifier(SimulatedDevice):
    """A simulated map-file rectifier; faults: open_circuit, over_temperature."""

    def __init__(
        self,
        unit: int = 1,
        *,
        time_fn: Callable[[], float],
        seed: int = 0,
        params: PlatingParams | None = None,
        map_path: Path = MAP_PATH,
        **cell_params: Any,
    ) -> None:
        """`cell_params`: PlatingParams fields overriding `params` (or the defaults, rated
        as the map file's max_current_a / max_voltage_v)."""
        self.map = RegisterMap.load(map_path)
        params = params or PlatingParams(
            max_current_a=self.map.max_current_a, max_voltage_v=self.map.max_voltage_v
        )
        self.cell = PlatingCell(dataclasses.replace(params, **cell_params), time_fn, seed)
        super().__init__(unit, self.cell)
        self._by_address: dict[int, tuple[Register, int]] = {
            reg.address + i: (reg, i)
            for reg in self.map.registers.values()
            for i in range(reg.width)
        }

    def _sync(self) -> None:
        self.cell.sync()

    def values(self) -> dict[str, float]:
        """Every named register's engineering value now."""
        cell = self.cell
        op = cell.read()
        bits = {
            "output_on": cell.output_on,
            "cc": cell.output_on and op.mode == "CC",
            "fault": cell.over_temperature,
            "over_temperature": cell.over_temperature,
            "voltage_limit": cell.output_on and op.mode == "CV",
        }
        regs = self.map.registers

        def word(name: str) -> float:
            return float(sum(1 << b for flag, b in regs[name].bits.items() if bits.get(flag)))

        return {
            "status": word("status"),
            "warnings": word("warnings"),
            "alarms": word("alarms"),
            "volts": op.volts,
            "amps": op.amps,
            "process_time_s": cell.on_time_s,
            "amp_hours": cell.amp_hours,
            "current_setpoint": cell.current_setpoint_a,
            "voltage_limit": cell.voltage_limit_v,
            "output_enable": 1.0 if cell.output_on else 0.0,
        }

    def read_holding(self, address: int, count: int) -> list[int]:
        wanted = range(address, address + count)
        if any(a not in self._by_address for a in wanted):
            raise SlaveException(2)
        self._sync()
        values = self.values()
        encoded = {
            reg.name: self.map.encode(reg, values[reg.name]) for reg in self.map.registers.values()
        }
        return [encoded[self._by_address[a][0].name][self._by_address[a][1]] for a in wanted]

    def write_register(self, address: int, value: int) -> None:
        self.write_registers(address, [value])

    def write_registers(self, address: int, values: list[int]) -> None:
        # Check the whole request first: a refused FC16 changes nothing.
        writes: list[tuple[Register, float]] = []
        i = 0
        while i < len(values):
            found = self._by_address.get(address + i)
            if found is None:
                raise SlaveException(2)
            reg, offset = found
            if offset != 0 or i + reg.width > len(values) or not reg.writable:
                raise SlaveException(3)
            value = self.map.decode(reg, values[i : i + reg.width])
            writes.append((reg, self._checked(reg, value)))
            i += reg.width
        for reg, value in writes:
            self._write(reg, value)

    def _checked(self, reg: Register, value: float) -> float:
        """`value` if the rectifier accepts it for `reg`, else exception 3."""
        limits = {
            "current_setpoint": self.cell.params.max_current_a,
            "voltage_limit": self.cell.params.max_voltage_v,
            "output_enable": 1.0,
        }
        if reg.name not in limits:
            raise SlaveException(3)
        return check_range(value, 0.0, limits[reg.name])

    def _write(self, reg: Register, value: float) -> None:
        cell = self.cell
        if reg.name == "current_setpoint":
            cell.set_current(value)
        elif reg.name == "voltage_limit":
            cell.set_voltage_limit(value)
        elif value:
            cell.enable()
        else:
            cell.disable()
