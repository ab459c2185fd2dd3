"""Word encodings the simulated devices answer with, and their common Modbus behaviour."""

from __future__ import annotations

import math
import struct

from simulators.device import ModbusSlave, SlaveException
from simulators.physics.faults import FaultAccess, Faulty


def int16_word(value: float, scale: float = 1.0) -> int:
    """`value × scale` rounded, as a signed 16-bit register (two's complement), saturated."""
    raw = round(value * scale)
    return max(-32768, min(32767, raw)) & 0xFFFF


def word_int16(word: int) -> int:
    """A register read as a signed 16-bit integer."""
    return word - 0x10000 if word & 0x8000 else word


def uint16_word(value: float, scale: float = 1.0) -> int:
    """`value × scale` rounded, as an unsigned 16-bit register, saturated."""
    return max(0, min(0xFFFF, round(value * scale)))


def uint32_words(value: float, scale: float = 1.0) -> tuple[int, int]:
    """`value × scale` rounded, as an unsigned 32-bit pair, high word first (ABCD)."""
    raw = max(0, min(0xFFFFFFFF, round(value * scale)))
    return raw >> 16, raw & 0xFFFF


def float32_words(value: float) -> tuple[int, int]:
    """IEEE-754 float32, high word first (big-endian, ABCD)."""
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return hi, lo


def words_float32(hi: int, lo: int) -> float:
    """The float32 of a high-word-first register pair."""
    value: float = struct.unpack(">f", struct.pack(">HH", hi, lo))[0]
    return value


class SimulatedDevice(ModbusSlave, FaultAccess):
    """A simulated Modbus device answering word by word from `_read_word`, with the device
    faults of its physics model (`inject`, `clear`, `faults`) next to the base's `wire`."""

    def __init__(self, unit: int, model: Faulty) -> None:
        ModbusSlave.__init__(self, unit)
        FaultAccess.__init__(self, model)

    def _read_word(self, address: int) -> int:
        raise SlaveException(2)

    def read_holding(self, address: int, count: int) -> list[int]:
        self._sync()
        return [self._read_word(a) for a in range(address, address + count)]


def check_range(value: float, low: float, high: float) -> float:
    """`value` if within low..high, else the device's "illegal data value" answer."""
    if math.isnan(value) or not low <= value <= high:
        raise SlaveException(3)
    return value
