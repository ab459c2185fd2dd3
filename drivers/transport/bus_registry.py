"""Buses keyed by line: two devices on one RS-485 line (or one TCP endpoint) share one bus."""

from __future__ import annotations

import asyncio
import time

from drivers.address import DeviceAddress
from drivers.errors import ConfigError
from drivers.transport.modbus_bus import ModbusBus, ModbusLink, SleepFn, TimeFn


class BusRegistry:
    """Open buses by line key, reference-counted by the links that use them."""

    def __init__(self, *, time_fn: TimeFn = time.monotonic, sleep: SleepFn = asyncio.sleep) -> None:
        self._buses: dict[str, ModbusBus] = {}
        self._time = time_fn
        self._sleep = sleep

    def open_link(self, address: DeviceAddress, name: str) -> ModbusLink:
        """A link for device `name` at `address`, on the line's shared bus."""
        if not address.is_modbus:
            raise ConfigError(f"{name}: {address.url!r} is not a Modbus address")
        bus = self._buses.get(address.line)
        if bus is None:
            bus = ModbusBus(address, time_fn=self._time, sleep=self._sleep)
            self._buses[address.line] = bus
        bus.users += 1
        return ModbusLink(bus, address, name, release=self._release)

    def _release(self, bus: ModbusBus) -> None:
        bus.users -= 1
        if bus.users <= 0:
            bus.close()
            if self._buses.get(bus.line) is bus:
                del self._buses[bus.line]

    def bus_for(self, line: str) -> ModbusBus | None:
        """The open bus of a line key, if any."""
        return self._buses.get(line)


DEFAULT_BUSES = BusRegistry()
"""The process-wide registry used by drivers.registry.open_device."""
