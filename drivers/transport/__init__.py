"""Transports: shared Modbus buses (TCP and RTU) and a plain ASCII serial port."""

from __future__ import annotations

from drivers.transport.ascii_serial import AsciiSerialPort
from drivers.transport.bus_registry import DEFAULT_BUSES, BusRegistry
from drivers.transport.modbus_bus import ModbusBus, ModbusLink

__all__ = ["DEFAULT_BUSES", "AsciiSerialPort", "BusRegistry", "ModbusBus", "ModbusLink"]
