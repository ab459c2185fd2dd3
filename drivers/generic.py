"""A generic Modbus device configured from a TOML register map, and a generic plating
rectifier built on it (maps/generic_rectifier.toml is the shipped example)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from drivers.errors import ConfigError
from drivers.protocols import RectifierReading, RegulationMode
from drivers.register_io import read_block, write_confirmed
from drivers.register_map import RegisterMap, load_map
from drivers.safe_state import RectifierSafeState
from drivers.transport.modbus_bus import ModbusLink


class GenericModbusDevice:
    """Reads the registers of its map (one request per contiguous run) and writes the
    writable ones with confirmation and limit checks."""

    def __init__(
        self,
        name: str,
        link: ModbusLink,
        register_map: RegisterMap,
        polled: Collection[str] | None = None,
    ) -> None:
        """`polled`: the registers read_all reads (default: all of the map)."""
        self.name = name
        self.link = link
        self.health = link.health
        self.map = register_map
        self._groups = register_map.read_groups(polled)

    async def read_all(self) -> dict[str, float]:
        """name -> engineering value for every polled register."""
        values: dict[str, float] = {}
        for group in self._groups:
            values.update(await read_block(self.link, group))
        return values

    def bit(self, values: dict[str, float], name: str) -> bool:
        """A named status bit out of values returned by read_all()."""
        bit = self.map.bits[name]
        return bool(int(values[bit.register]) >> bit.bit & 1)

    async def write(self, name: str, value: float) -> None:
        """Write a writable register within its limits; read back to confirm."""
        entry = self.map.entries.get(name)
        if entry is None or not entry.writable:
            raise ConfigError(
                f"{self.name}: {name!r} is not a writable register of {self.map.source}"
            )
        if (entry.minimum is not None and value < entry.minimum) or (
            entry.maximum is not None and value > entry.maximum
        ):
            raise ValueError(
                f"{self.name}: {name}={value:g} outside {entry.minimum}..{entry.maximum}"
            )
        await write_confirmed(self.link, entry.register, value)

    async def close(self) -> None:
        self.link.close()


RECTIFIER_REGISTERS = ("volts", "amps", "current_setpoint", "voltage_limit", "output_enable")
RECTIFIER_BITS = ("output_on", "cc")


class GenericRectifier(RectifierSafeState):
    """Rectifier over a GenericModbusDevice whose map names the registers in
    RECTIFIER_REGISTERS and bits in RECTIFIER_BITS (optional: amp_hours, bits fault and
    over_temperature)."""

    def __init__(
        self, name: str, link: ModbusLink, map_path: str | Path = "generic_rectifier"
    ) -> None:
        register_map = load_map(map_path)
        register_map.require(RECTIFIER_REGISTERS, RECTIFIER_BITS)
        self.name = name
        self.device = GenericModbusDevice(name, link, register_map)
        self.health = link.health

    async def read(self) -> RectifierReading:
        d = self.device
        v = await d.read_all()
        has = d.map.bits.__contains__
        return RectifierReading(
            volts=v["volts"],
            amps=v["amps"],
            mode=RegulationMode.CC if d.bit(v, "cc") else RegulationMode.CV,
            output_on=d.bit(v, "output_on"),
            amp_hours=v.get("amp_hours"),
            volts_setpoint=v["voltage_limit"],
            amps_setpoint=v["current_setpoint"],
            over_temperature=has("over_temperature") and d.bit(v, "over_temperature"),
            fault=has("fault") and d.bit(v, "fault"),
        )

    async def set_current(self, amps: float) -> None:
        await self.device.write("current_setpoint", amps)

    async def set_voltage_limit(self, volts: float) -> None:
        await self.device.write("voltage_limit", volts)

    async def enable(self) -> None:
        await self.device.write("output_enable", 1)

    async def disable(self) -> None:
        await self.device.write("output_enable", 0)

    async def close(self) -> None:
        await self.device.close()
