"""The service's "read" request: one device's present values, read by the process that
holds the device's claim (kilnctl.claims), so `kilnctl devices` and `kilnctl read` can
show a device the service owns without touching its line themselves.

Reply body: {"device": name, "reading": {"type": "temperature"|"rectifier", ...fields of
drivers.protocols' reading}, "health": {...DeviceHealth fields} | null}.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any

from drivers.errors import DeviceError
from drivers.protocols import DeviceHealth, RectifierReading, RegulationMode, TemperatureReading

Reading = TemperatureReading | RectifierReading


class DeviceReadError(Exception):
    """The device is unknown to the service or did not answer; str() says which."""


async def read_device(devices: Mapping[str, object], name: str) -> dict[str, Any]:
    """Read device `name` once; the reply body (see the module docstring)."""
    device = devices.get(name)
    if device is None:
        known = ", ".join(sorted(devices)) or "none"
        raise DeviceReadError(f"no device {name!r} in the service's plant (configured: {known})")
    try:
        reading = await device.read()  # type: ignore[attr-defined]
    except DeviceError as exc:
        raise DeviceReadError(str(exc)) from None
    # by its fields: a device that satisfies the Protocol structurally (an in-process
    # simulator) has its own reading class with the same fields
    fields_ = asdict(reading)
    kind = "temperature" if "pv_c" in fields_ else "rectifier"
    health = getattr(device, "health", None)
    return {
        "device": name,
        "reading": {"type": kind, **fields_},
        "health": asdict(health) if isinstance(health, DeviceHealth) else None,
    }


def reading_from_reply(reply: Mapping[str, Any]) -> tuple[Reading, DeviceHealth | None]:
    """The reading and health in a "read" reply, as the drivers return them."""
    data = dict(reply["reading"])
    temperature = data.pop("type") == "temperature"
    cls: type[Reading] = TemperatureReading if temperature else RectifierReading
    known = {f.name for f in fields(cls)}
    if cls is RectifierReading:
        data["mode"] = RegulationMode(data["mode"])
    reading = cls(**{k: v for k, v in data.items() if k in known})
    health_data = reply.get("health")
    health = None
    if isinstance(health_data, dict):
        names = {f.name for f in fields(DeviceHealth)}
        health = DeviceHealth(**{k: v for k, v in health_data.items() if k in names})
    return reading, health
