"""A whole simulated plant: every device of a plant file on its wire, plus fault control.

`run_plant` starts the servers, prints one line per device (name, kind, URL), writes the
same as JSON for programs (the demo, tests) and serves the control port until stopped.
Several RTU devices that name the same line share one pty; TCP devices that name the same
non-zero port share one server. Simulated time runs `speed` times faster than real time;
wire timing (baud pacing, turnaround, "slow" faults) stays in real time, as on a real line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TextIO

from simulators.device import ModbusSlave, WireFaults
from simulators.plant_config import DeviceSpec, PlantConfig, PlantConfigError
from simulators.plant_control import ControlServer, SimulatedDevice
from simulators.servers.ascii_pty import AsciiDevice, AsciiPtyServer
from simulators.servers.modbus_rtu import ModbusRtuServer
from simulators.servers.modbus_tcp import ModbusTcpServer
from simulators.timebase import ScaledTime, TimeFn

LINE_FRAMING = {("modbus-rtu", "omron_e5cc"): "&parity=N&stopbits=2"}
"""URL framing of a device whose driver's default parity a pty cannot carry: a pty has no
parity bit, so the E5CC's line is its manual's no-parity framing, 8N2 (H175)."""

DeviceFactory = Callable[[DeviceSpec, TimeFn, int], object]
"""Builds a device model from its spec, the plant's time function and a seed."""


class _Server(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...


def build_device(spec: DeviceSpec, time_fn: TimeFn, seed: int) -> object:
    """The bundled device model for `spec` (simulators.devices / simulators.korad)."""
    # Imported on use: the control client (`kilnctl sim-fault`) needs none of the physics.
    try:
        if spec.protocol == "korad-serial":
            from simulators.korad import KoradKA3005P

            return KoradKA3005P(time_fn, seed=seed, **spec.params)
        from simulators.devices import build

        return build(spec.kind, unit=spec.unit, time_fn=time_fn, seed=seed, **spec.params)
    except (ValueError, TypeError) as exc:  # unknown kind, or params the model does not take
        raise PlantConfigError(f"device '{spec.name}' ({spec.kind}): {exc}") from exc


def device_seed(seed: int, name: str) -> int:
    """Each device's noise seed: stable per name, so reordering the file changes nothing."""
    return (seed * 1_000_003) ^ zlib.crc32(name.encode())


class Plant:
    """The running servers of one plant file, and its control port."""

    def __init__(
        self,
        config: PlantConfig,
        *,
        speed: float = 1.0,
        seed: int = 0,
        host: str | None = None,
        control_port: int | None = None,
        time_fn: TimeFn | None = None,
        factory: DeviceFactory = build_device,
    ) -> None:
        self.config = config
        self.speed = speed
        self.seed = seed
        self.host = host if host is not None else config.host
        self.time_fn: TimeFn = time_fn if time_fn is not None else ScaledTime(speed)
        self._factory = factory
        self.devices: dict[str, SimulatedDevice] = {}
        self.control = ControlServer(
            self.devices, self.host, config.control_port if control_port is None else control_port
        )
        self._servers: list[_Server] = []

    async def start(self) -> None:
        """Build every device, start its server, then the control port."""
        try:
            await self._start_devices()
            await self.control.start()
        except BaseException:
            await self.close()
            raise

    async def _start_devices(self) -> None:
        models = {
            spec.name: self._factory(spec, self.time_fn, device_seed(self.seed, spec.name))
            for spec in self.config.devices
        }
        groups: dict[tuple[str, str], list[DeviceSpec]] = {}
        for spec in self.config.devices:
            if spec.protocol == "modbus-rtu":
                key = ("rtu", spec.line)
            elif spec.protocol == "modbus-tcp" and spec.port != 0:
                key = ("tcp", str(spec.port))
            else:
                key = ("own", spec.name)
            groups.setdefault(key, []).append(spec)
        for specs in groups.values():
            await self._start_group(specs, models)

    async def _start_group(self, specs: list[DeviceSpec], models: dict[str, object]) -> None:
        first = specs[0]
        seed = device_seed(self.seed, first.name)
        if first.protocol == "korad-serial":
            model = models[first.name]
            ascii_server = AsciiPtyServer(
                _as_ascii(first, model), baud=first.baud, link=first.link, seed=seed
            )
            await self._started(ascii_server)
            self._add(first, model, ascii_server.url, ascii_server.wire)
            return
        slaves = {spec.unit: _as_slave(spec, models[spec.name]) for spec in specs}
        modbus: ModbusRtuServer | ModbusTcpServer
        if first.protocol == "modbus-rtu":
            modbus = ModbusRtuServer(
                slaves,
                baud=first.baud,
                turnaround_s=first.turnaround_ms / 1000,
                link=first.link,
                seed=seed,
            )
        else:
            modbus = ModbusTcpServer(slaves, host=self.host, port=first.port, seed=seed)
        await self._started(modbus)
        for spec in specs:
            url = modbus.url(spec.unit) + LINE_FRAMING.get((spec.protocol, spec.kind), "")
            self._add(spec, slaves[spec.unit], url, slaves[spec.unit].wire)

    async def _started(self, server: _Server) -> None:
        await server.start()
        self._servers.append(server)

    def _add(self, spec: DeviceSpec, model: object, url: str, wire: WireFaults) -> None:
        self.devices[spec.name] = SimulatedDevice(
            spec.name, spec.kind, spec.protocol, url, model, wire
        )

    async def close(self) -> None:
        """Stop the control port and every device server."""
        await self.control.close()
        for server in reversed(self._servers):
            await server.close()
        self._servers.clear()

    def listing(self) -> list[str]:
        """One human-readable line per device, and the control port's."""
        width = max((len(name) for name in self.devices), default=8) + 2
        lines = [f"{dev.name:<{width}}{dev.kind:<19}{dev.url}" for dev in self.devices.values()]
        lines.append(f"{'control':<{width}}{'':<19}{self.control.address}")
        return lines

    def urls_document(self) -> dict[str, Any]:
        """The machine-readable description written to the URLs file."""
        return {
            "control": self.control.address,
            "pid": os.getpid(),
            "speed": self.speed,
            "epoch": getattr(self.time_fn, "epoch", None),
            "seed": self.seed,
            "devices": {
                dev.name: {"kind": dev.kind, "protocol": dev.protocol, "url": dev.url}
                for dev in self.devices.values()
            },
        }

    def write_urls(self, path: str | Path) -> None:
        """Write the URLs file atomically, so a reader never sees half of it."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(self.urls_document(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(target)


def _as_slave(spec: DeviceSpec, model: object) -> ModbusSlave:
    if not isinstance(model, ModbusSlave):
        raise PlantConfigError(f"device '{spec.name}': kind {spec.kind!r} is not a Modbus device")
    return model


def _as_ascii(spec: DeviceSpec, model: object) -> AsciiDevice:
    if not (callable(getattr(model, "handle", None)) and callable(getattr(model, "split", None))):
        raise PlantConfigError(f"device '{spec.name}': kind {spec.kind!r} is not an ASCII device")
    return model  # type: ignore[return-value]


async def run_plant(
    config: PlantConfig,
    speed: float = 1.0,
    seed: int = 0,
    *,
    urls_path: str | Path | None = None,
    host: str | None = None,
    control_port: int | None = None,
    stop: asyncio.Event | None = None,
    out: TextIO | None = None,
    factory: DeviceFactory = build_device,
) -> None:
    """Run the plant until `stop` is set (or the task is cancelled); print where devices are."""
    plant = Plant(
        config, speed=speed, seed=seed, host=host, control_port=control_port, factory=factory
    )
    stream = out if out is not None else sys.stdout
    await plant.start()
    try:
        print(f"simulated plant from {config.source} at speed x{speed:g}, seed {seed}", file=stream)
        for line in plant.listing():
            print(line, file=stream)
        if urls_path is not None:
            plant.write_urls(urls_path)
            print(f"URLs written to {urls_path}", file=stream)
        stream.flush()
        await (stop.wait() if stop is not None else asyncio.Future())
    finally:
        await plant.close()
        if urls_path is not None:
            _remove_urls(Path(urls_path))


def _remove_urls(path: Path) -> None:
    """Remove the URLs file this process wrote; one another process wrote meanwhile is
    that process's and stays."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        if json.loads(path.read_text(encoding="utf-8"))["pid"] == os.getpid():
            path.unlink()
