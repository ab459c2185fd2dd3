"""A kiln's mains contactor switched through one holding register of a Modbus I/O module
(1 = coil energised, contactor closed, power on; 0 = open). kilnctl only ever opens it:
on a stuck relay it is the one action that stops a welded relay from heating. Closing it
again is a person's job, after the relay is replaced.

Plant config: a device with driver "contactor", the module's URL and option `register`
(default 22, the simulated I/O module's contactor output), named by the kiln's `contactor`.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.transport.modbus_bus import ModbusLink

DEFAULT_REGISTER = 22


@dataclass(frozen=True)
class ContactorReading:
    """One poll of a contactor output."""

    closed: bool
    """The contactor's coil output is on (power reaches the kiln)."""


class ModbusContactor:
    """open() writes 0 (FC06, echo checked); is_closed() reads the register back (FC03)."""

    def __init__(self, name: str, link: ModbusLink, register: int = DEFAULT_REGISTER) -> None:
        self.name = name
        self.link = link
        self.register = int(register)
        self.health = link.health

    async def open(self) -> None:
        """Contactor off: the kiln's elements lose their mains. Raises DeviceError."""
        await self.link.write_register(self.register, 0)

    async def is_closed(self) -> bool:
        """Read back the output. Raises DeviceError."""
        return (await self.link.read_holding(self.register, 1))[0] != 0

    async def read(self) -> ContactorReading:
        return ContactorReading(await self.is_closed())

    async def close(self) -> None:
        self.link.close()
