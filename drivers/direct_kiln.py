"""A software-controlled ("direct") kiln: a Modbus I/O module's thermocouple input and
SSR duty output (map maps/io_module.toml). The engine's own PID calls set_output; the
setpoint is only remembered for readings, since the module has no controller.

If kilnctl dies, nothing writes the duty any more: the module's communication watchdog
(the map's [watchdog] table, drivers/io_watchdog.py) must then drop it to its fail-safe
value. `arm_watchdog()` configures and reads it back; the engine calls it at the start of
every direct firing and refuses a direct kiln whose map has no watchdog unless the plant
config allows it explicitly.
"""

from __future__ import annotations

from pathlib import Path

from drivers.generic import GenericModbusDevice
from drivers.io_watchdog import WatchdogSpec, watchdog_spec
from drivers.protocols import TemperatureReading
from drivers.register_map import load_map
from drivers.safe_state import SafeAction
from drivers.transport.modbus_bus import ModbusLink

REGISTERS = ("temperature", "status", "duty")
BITS = ("open_thermocouple",)


class DirectKiln:
    """TemperatureController over an I/O module: read TC, write SSR duty %."""

    def __init__(self, name: str, link: ModbusLink, map_path: str | Path = "io_module") -> None:
        register_map = load_map(map_path)
        register_map.require(REGISTERS, BITS)
        self.name = name
        self.watchdog: WatchdogSpec | None = watchdog_spec(register_map)
        """The module's communication watchdog, None when the map describes none."""
        self.map_source = register_map.source
        self.device = GenericModbusDevice(name, link, register_map, polled=REGISTERS)
        self.health = link.health
        self.setpoint_c = 0.0
        self._safe = SafeAction(lambda: self.set_output(0.0))

    @property
    def watchdog_timeout_s(self) -> float | None:
        """Seconds without a write after which the module drops the duty (None: never)."""
        return self.watchdog.timeout_s if self.watchdog is not None else None

    async def arm_watchdog(self) -> None:
        """Fail-safe value first, then the timeout (so it never expires to a stale value),
        each confirmed by read-back. Does nothing without a watchdog."""
        wd = self.watchdog
        if wd is None:
            return
        await self.device.write(wd.fail_safe_register, wd.fail_safe_value)
        await self.device.write(wd.timeout_register, wd.timeout_s)

    async def read(self) -> TemperatureReading:
        v = await self.device.read_all()
        return TemperatureReading(
            pv_c=v["temperature"],
            sp_c=self.setpoint_c,
            output_pct=v["duty"],
            sensor_break=self.device.bit(v, "open_thermocouple"),
        )

    async def set_setpoint(self, sp_c: float) -> None:
        """Remember the engine's setpoint (reported in readings; nothing is written)."""
        self.setpoint_c = sp_c

    async def set_output(self, pct: float) -> None:
        """SSR duty 0..100 %, confirmed by read-back (each write also feeds the watchdog)."""
        await self.device.write("duty", pct)

    async def safe(self) -> None:
        """Heat off: duty 0."""
        await self._safe()

    async def close(self) -> None:
        await self.device.close()
