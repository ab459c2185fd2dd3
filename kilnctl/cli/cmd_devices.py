"""`kilnctl devices`, `kilnctl read DEVICE [--watch]`, `kilnctl probe URL`: talk to the
plant's devices directly (no engine), for commissioning and fault-finding."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import asdict
from typing import Any

from drivers.errors import ConfigError, DeviceError
from drivers.protocols import DeviceHealth, RectifierReading, TemperatureReading
from drivers.registry import open_device, probe
from kilnctl.cli.main import UserError
from kilnctl.cli.plant_arg import plant_for
from kilnctl.plant import DeviceConfig

Device = Any  # TemperatureController | Rectifier; both have read() and close()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the devices, read and probe subcommands."""
    p = subparsers.add_parser("devices", help="list configured devices and their health")
    p.add_argument("--json", action="store_true", help="one JSON object per device")
    p.set_defaults(func=cmd_devices)

    p = subparsers.add_parser("read", help="read one device (once, or --watch)")
    p.add_argument("device", nargs="?", help="device name from the plant config")
    p.add_argument("--url", help="device URL (instead of a configured device)")
    p.add_argument("--driver", help="driver name (with --url)")
    p.add_argument("--watch", action="store_true", help="read repeatedly until Ctrl-C")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between reads")
    p.add_argument("--count", type=int, default=0, help="stop after N reads (with --watch)")
    p.set_defaults(func=cmd_read)

    p = subparsers.add_parser("probe", help="identify what answers at a device URL")
    p.add_argument("url", help="e.g. modbus-tcp://127.0.0.1:5020?unit=1")
    p.set_defaults(func=cmd_probe)


def _plant_devices(config: str | None) -> dict[str, DeviceConfig]:
    return dict(plant_for(config).devices)


def _device_config(args: argparse.Namespace) -> tuple[str, DeviceConfig]:
    if args.url or args.driver:
        if not (args.url and args.driver):
            raise UserError("--url and --driver go together")
        name = args.device or "device"
        return name, DeviceConfig(driver=args.driver, url=args.url)
    if not args.device:
        raise UserError("name a DEVICE from the plant config, or give --url and --driver")
    devices = _plant_devices(args.config)
    if args.device not in devices:
        known = ", ".join(sorted(devices)) or "none"
        raise UserError(f"no device {args.device!r} in the plant config (configured: {known})")
    return args.device, devices[args.device]


def _open(name: str, cfg: DeviceConfig) -> Device:
    try:
        return open_device(name, cfg.driver, cfg.url, **cfg.options)
    except ConfigError as exc:
        raise UserError(str(exc)) from None


def format_reading(reading: TemperatureReading | RectifierReading) -> str:
    """One line: the values, then any status flag that is set."""
    if isinstance(reading, TemperatureReading):
        text = (
            f"pv {reading.pv_c:.1f} °C  sp {reading.sp_c:.1f} °C  output {reading.output_pct:.1f} %"
        )
    else:
        text = (
            f"{reading.volts:.3f} V  {reading.amps:.3f} A  {reading.mode}  "
            f"output {'on' if reading.output_on else 'off'}"
        )
        if reading.amp_hours is not None:
            text += f"  {reading.amp_hours:.3f} Ah"
    flags = [k for k, v in asdict(reading).items() if v is True and k != "output_on"]
    return text + (f"  [{', '.join(flags)}]" if flags else "")


def format_health(health: DeviceHealth | None) -> str:
    """Requests, errors and the last latency of a device (drivers keep `health`)."""
    if health is None:
        return "no health figures"
    latency = f"{health.last_latency_s * 1000:.1f} ms" if health.last_latency_s is not None else "-"
    return f"requests {health.requests}, errors {health.errors}, latency {latency}"


async def _read_once(name: str, cfg: DeviceConfig) -> int:
    device = _open(name, cfg)
    try:
        print(f"{name}: {format_reading(await device.read())}")
    except DeviceError as exc:
        raise UserError(str(exc)) from None
    finally:
        await device.close()
    return 0


async def _watch(name: str, cfg: DeviceConfig, interval_s: float, count: int) -> int:
    device = _open(name, cfg)
    failures = 0
    n = 0
    try:
        while True:
            stamp = time.strftime("%H:%M:%S")
            try:
                print(f"{stamp} {name}: {format_reading(await device.read())}", flush=True)
            except DeviceError as exc:
                failures += 1
                print(f"{stamp} {exc}", flush=True)
            n += 1
            if count and n >= count:
                break
            await asyncio.sleep(interval_s)
    finally:
        await device.close()
    return 1 if failures else 0


def cmd_read(args: argparse.Namespace) -> int:
    name, cfg = _device_config(args)
    if args.watch:
        return asyncio.run(_watch(name, cfg, args.interval, args.count))
    return asyncio.run(_read_once(name, cfg))


async def _survey(devices: dict[str, DeviceConfig]) -> int:
    bad = 0
    for name, cfg in devices.items():
        head = f"{name:<18} {cfg.driver:<18} {cfg.url}"
        try:
            device = open_device(name, cfg.driver, cfg.url, **cfg.options)
        except ConfigError as exc:
            bad += 1
            print(f"{head}\n    config error: {exc}")
            continue
        try:
            reading = await device.read()
            health = format_health(getattr(device, "health", None))
            print(f"{head}\n    ok: {format_reading(reading)} ({health})")
        except DeviceError as exc:
            bad += 1
            print(f"{head}\n    {exc.kind}: {exc.detail}")
        finally:
            await device.close()
    return 1 if bad else 0


def cmd_devices(args: argparse.Namespace) -> int:
    devices = _plant_devices(args.config)
    if getattr(args, "json", False):
        return asyncio.run(_survey_json(devices))
    if not devices:
        print("no devices configured")
        return 0
    return asyncio.run(_survey(devices))


def cmd_probe(args: argparse.Namespace) -> int:
    try:
        print(f"{args.url}: {asyncio.run(probe(args.url))}")
    except (ConfigError, DeviceError) as exc:
        raise UserError(str(exc)) from None
    return 0


async def _survey_json(devices: dict[str, DeviceConfig]) -> int:
    """`devices --json`: per device {name, driver, url, ok, reading, health, error}; the
    reading and health as the driver's dataclasses (units in the field names)."""
    bad = 0
    for name, cfg in devices.items():
        row: dict[str, Any] = {"name": name, "driver": cfg.driver, "url": cfg.url, "ok": False}
        row.update(reading=None, health=None, error="")
        try:
            device = open_device(name, cfg.driver, cfg.url, **cfg.options)
        except ConfigError as exc:
            row["error"] = f"config error: {exc}"
        else:
            try:
                row.update(ok=True, reading=asdict(await device.read()))
            except DeviceError as exc:
                row["error"] = f"{exc.kind}: {exc.detail}"
            finally:
                health = getattr(device, "health", None)
                row["health"] = asdict(health) if health is not None else None
                await device.close()
        bad += not row["ok"]
        print(json.dumps(row, default=str), flush=True)
    return 1 if bad else 0
