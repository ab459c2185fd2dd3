"""Register codec: numbers <-> 16-bit Modbus registers, with type, byte/word order, scale.

Order letters name the bytes of the big-endian value (A = most significant): ABCD is the
Modbus default (high word first, high byte first), CDAB swaps words, BADC swaps the bytes
inside each word, DCBA is fully little-endian. A 16-bit value uses only the AB half: ABCD and
CDAB send AB, BADC and DCBA send BA. Every driver uses this one codec.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from drivers.errors import ConfigError


class DataType(StrEnum):
    """Register value types, named as in map files."""

    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT32 = "float32"


class ByteOrder(StrEnum):
    """Byte order of a value on the wire, letters naming its big-endian bytes."""

    ABCD = "ABCD"
    CDAB = "CDAB"
    BADC = "BADC"
    DCBA = "DCBA"


_STRUCT = {
    DataType.INT16: struct.Struct(">h"),
    DataType.UINT16: struct.Struct(">H"),
    DataType.INT32: struct.Struct(">i"),
    DataType.UINT32: struct.Struct(">I"),
    DataType.FLOAT32: struct.Struct(">f"),
}
_WORDS = {1: struct.Struct(">H"), 2: struct.Struct(">HH")}
# Wire position -> index into the big-endian bytes "ABCD".
_PERMUTATION = {
    ByteOrder.ABCD: (0, 1, 2, 3),
    ByteOrder.CDAB: (2, 3, 0, 1),
    ByteOrder.BADC: (1, 0, 3, 2),
    ByteOrder.DCBA: (3, 2, 1, 0),
}


def register_count(dtype: DataType) -> int:
    """How many 16-bit registers a value of this type occupies."""
    return _STRUCT[dtype].size // 2


def _reorder(raw: bytes, order: ByteOrder) -> bytes:
    # Each permutation is its own inverse, so one function serves encode and decode.
    if len(raw) == 2:
        return raw if order in (ByteOrder.ABCD, ByteOrder.CDAB) else raw[::-1]
    return bytes(raw[i] for i in _PERMUTATION[order])


def decode(
    registers: Sequence[int],
    dtype: DataType,
    order: ByteOrder = ByteOrder.ABCD,
    scale: float = 1.0,
) -> float:
    """Registers -> engineering value (raw / scale, so ×10 registers use scale=10)."""
    n = register_count(dtype)
    if len(registers) != n:
        raise ValueError(f"{dtype} needs {n} register(s), got {len(registers)}")
    raw = _WORDS[n].pack(*registers)
    if order is not ByteOrder.ABCD:  # the common case needs no reordering (poll-rate path)
        raw = _reorder(raw, order)
    (value,) = _STRUCT[dtype].unpack(raw)
    return value / scale if scale != 1.0 else value


def encode(
    value: float,
    dtype: DataType,
    order: ByteOrder = ByteOrder.ABCD,
    scale: float = 1.0,
) -> list[int]:
    """Engineering value -> registers; integers are rounded to nearest. Raises ValueError
    when the scaled value does not fit the type."""
    scaled = value * scale
    if dtype is DataType.FLOAT32:
        if math.isfinite(scaled) and abs(scaled) > 3.4028234663852886e38:
            raise ValueError(f"{value} does not fit float32")
        raw = _STRUCT[DataType.FLOAT32].pack(scaled)
    else:
        if not math.isfinite(scaled):
            raise ValueError(f"{value} cannot be encoded as {dtype}")
        try:
            raw = _STRUCT[dtype].pack(round(scaled))
        except struct.error:
            raise ValueError(f"{value} (×{scale}) does not fit {dtype}") from None
    wire = _reorder(raw, order)
    return [int.from_bytes(wire[i : i + 2], "big") for i in range(0, len(wire), 2)]


@dataclass(frozen=True)
class Register:
    """One named entry of a device's register table."""

    name: str
    address: int
    dtype: DataType = DataType.UINT16
    scale: float = 1.0
    order: ByteOrder = ByteOrder.ABCD
    description: str = ""
    count: int = field(init=False, compare=False, repr=False)
    """Registers this value occupies."""

    def __post_init__(self) -> None:
        # Worked out once: decode() runs for every value of every poll.
        object.__setattr__(self, "count", register_count(self.dtype))

    def decode(self, registers: Sequence[int]) -> float:
        """This register's words -> engineering value."""
        return decode(registers, self.dtype, self.order, self.scale)

    def encode(self, value: float) -> list[int]:
        """Engineering value -> this register's words."""
        return encode(value, self.dtype, self.order, self.scale)

    def take(self, block: Sequence[int], base: int) -> float:
        """Decode this register out of a block read starting at address `base`."""
        start = self.address - base
        return decode(block[start : start + self.count], self.dtype, self.order, self.scale)


@dataclass(frozen=True)
class RegisterBlock:
    """Registers read together in one request: from the lowest address to the end of the
    highest one."""

    registers: tuple[Register, ...]
    first: int = field(init=False)
    count: int = field(init=False)

    def __post_init__(self) -> None:
        if not self.registers:
            raise ValueError("a register block needs at least one register")
        first = min(r.address for r in self.registers)
        last = max(r.address + r.count for r in self.registers)
        object.__setattr__(self, "first", first)
        object.__setattr__(self, "count", last - first)

    def decode(self, words: Sequence[int]) -> dict[str, float]:
        """name -> engineering value, out of the block's words."""
        first = self.first
        return {r.name: r.take(words, first) for r in self.registers}


def parse_dtype(text: str, where: str) -> DataType:
    """DataType from a map file's string, or ConfigError naming what is allowed."""
    try:
        return DataType(text)
    except ValueError:
        allowed = ", ".join(t.value for t in DataType)
        raise ConfigError(f"{where}: type {text!r} is not one of {allowed}") from None


def parse_order(text: str, where: str) -> ByteOrder:
    """ByteOrder from a map file's string, or ConfigError naming what is allowed."""
    try:
        return ByteOrder(text.upper())
    except ValueError:
        allowed = ", ".join(o.value for o in ByteOrder)
        raise ConfigError(f"{where}: order {text!r} is not one of {allowed}") from None
