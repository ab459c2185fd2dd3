"""What a protocol server needs from a simulated Modbus device, and its wire faults."""

from __future__ import annotations

from dataclasses import dataclass


class SlaveException(Exception):
    """Answer the request with a Modbus exception reply of this code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"Modbus exception {code}")
        self.code = code


@dataclass
class WireFaults:
    """Faults injected between the device and the wire (set at runtime by a tester)."""

    no_response: bool = False
    """Swallow requests: the master sees a timeout."""
    extra_delay_s: float = 0.0
    """Answer, but this much later (slow device), for as long as it is set."""
    late_once_s: float = 0.0
    """Answer the next request this much later, once (one late reply)."""
    corrupt_crc: bool = False
    """Answer with a bad CRC (RTU) / a damaged frame."""
    garbage: bool = False
    """Answer with random bytes instead of a frame."""

    def clear(self) -> None:
        self.no_response = False
        self.extra_delay_s = 0.0
        self.late_once_s = 0.0
        self.corrupt_crc = False
        self.garbage = False


class ModbusSlave:
    """Base of simulated Modbus devices: a holding-register space with behaviour.

    Subclasses override `read_holding` / `write_register`; they raise SlaveException(2)
    for addresses the real device does not have, as the real device would.
    """

    def __init__(self, unit: int = 1) -> None:
        self.unit = unit
        self.wire = WireFaults()

    def read_holding(self, address: int, count: int) -> list[int]:
        raise SlaveException(2)

    def read_input(self, address: int, count: int) -> list[int]:
        return self.read_holding(address, count)

    def write_register(self, address: int, value: int) -> None:
        raise SlaveException(2)

    def write_registers(self, address: int, values: list[int]) -> None:
        for i, v in enumerate(values):
            self.write_register(address + i, v)
