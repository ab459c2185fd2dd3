"""Register reads and confirmed writes over a ModbusLink, shared by every Modbus driver."""

from __future__ import annotations

from drivers.codec import Register, RegisterBlock
from drivers.errors import WriteNotConfirmed
from drivers.transport.modbus_bus import ModbusLink


async def read_block(link: ModbusLink, block: RegisterBlock) -> dict[str, float]:
    """Read a block's registers in one FC03 request spanning them all; name -> value."""
    return block.decode(await link.read_holding(block.first, block.count))


async def read_register(link: ModbusLink, register: Register) -> float:
    """Read one named register (one or two words)."""
    return register.decode(await link.read_holding(register.address, register.count))


async def write_confirmed(
    link: ModbusLink, register: Register, value: float, *, read_back: bool = True
) -> None:
    """Write `value` and confirm it: the transport checks the echo; with `read_back` the
    register is read again and must hold exactly what was written (else WriteNotConfirmed).
    """
    words = register.encode(value)
    if len(words) == 1:
        await link.write_register(register.address, words[0])
    else:
        await link.write_registers(register.address, words)
    if not read_back:
        return
    held = await link.read_holding(register.address, register.count)
    if held != words:
        error = WriteNotConfirmed(
            link.name,
            link.address_text,
            f"{register.name} (register {register.address}): wrote {value:g}, "
            f"device holds {register.decode(held):g}",
        )
        link.health.last_error = str(error)
        raise error
