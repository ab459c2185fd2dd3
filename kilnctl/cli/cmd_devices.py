"""`kilnctl devices`, `kilnctl read DEVICE [--watch]`, `kilnctl probe URL`: talk to the
plant's devices directly (no engine), for commissioning and fault-finding."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import asdict
from typing import Any

from drivers.contactor import ContactorReading
from drivers.errors import ConfigError, DeviceError
from drivers.protocols import DeviceHealth, RectifierReading, TemperatureReading
from drivers.registry import probe
from kilnctl.claims import ClaimError, DeviceClaims
from kilnctl.cli.device_source import Held, Source, SourceError, Sources
from kilnctl.cli.main import UserError
from kilnctl.cli.plant_arg import plant_for
from kilnctl.engine.device_alarms import DEFAULT_SAMPLE_S, idle_kiln_controllers, plant_alarms
from kilnctl.plant import DeviceConfig, Plant


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the devices, read and probe subcommands."""
    p = subparsers.add_parser(
        "devices",
        help="list configured devices, their health, and any in alarm",
        description=(
            "Read every configured device once; kilns idle at output 0 are read again after "
            "--sample seconds. A kiln above its rated max_temp, a kiln whose PV rises with "
            "the output at 0 (stuck relay), or a rectifier passing current with its output "
            "off shows as ALARM (exit code 1)."
        ),
    )
    p.add_argument(
        "--sample",
        type=float,
        default=DEFAULT_SAMPLE_S,
        help=f"seconds between the two reads of an idle kiln (default {DEFAULT_SAMPLE_S:g})",
    )
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


def _device_config(args: argparse.Namespace) -> tuple[str, DeviceConfig, str | None]:
    """The device to read, its config, and the plant's claims directory."""
    if args.url or args.driver:
        if not (args.url and args.driver):
            raise UserError("--url and --driver go together")
        name = args.device or "device"
        plant = plant_for(args.config, optional=True)
        return name, DeviceConfig(driver=args.driver, url=args.url), _claims_dir(plant)
    if not args.device:
        raise UserError("name a DEVICE from the plant config, or give --url and --driver")
    plant = plant_for(args.config)
    if args.device not in plant.devices:
        known = ", ".join(sorted(plant.devices)) or "none"
        raise UserError(f"no device {args.device!r} in the plant config (configured: {known})")
    return args.device, plant.devices[args.device], plant.claims_dir


def _claims_dir(plant: Plant | None) -> str | None:
    return plant.claims_dir if plant is not None else None


def format_reading(reading: TemperatureReading | RectifierReading | ContactorReading) -> str:
    """One line: the values, then any status flag that is set."""
    if isinstance(reading, ContactorReading):
        return f"contactor {'closed (power on)' if reading.closed else 'OPEN (power off)'}"
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


def _sources(devices: dict[str, DeviceConfig], command: str, claims_dir: str | None) -> Sources:
    urls = {name: cfg.url for name, cfg in devices.items()}
    return Sources(DeviceClaims(urls, command, directory=claims_dir))


async def _open_source(sources: Sources, name: str, cfg: DeviceConfig) -> Source:
    try:
        return await sources.open(name, cfg)
    except (Held, SourceError) as exc:
        raise UserError(str(exc)) from None


async def _read_once(name: str, cfg: DeviceConfig, claims_dir: str | None) -> int:
    sources = _sources({name: cfg}, "kilnctl read", claims_dir)
    try:
        source = await _open_source(sources, name, cfg)
        try:
            reading, _ = await source.read()
            print(f"{name}: {format_reading(reading)}{source.via}")
        except DeviceError as exc:
            raise UserError(str(exc)) from None
        finally:
            await source.close()
    finally:
        await sources.close()
    return 0


async def _watch(
    name: str, cfg: DeviceConfig, claims_dir: str | None, interval_s: float, count: int
) -> int:
    sources = _sources({name: cfg}, "kilnctl read --watch", claims_dir)
    failures = 0
    n = 0
    try:
        source = await _open_source(sources, name, cfg)
        try:
            while True:
                stamp = time.strftime("%H:%M:%S")
                try:
                    reading, _ = await source.read()
                    print(f"{stamp} {name}: {format_reading(reading)}{source.via}", flush=True)
                except DeviceError as exc:
                    failures += 1
                    print(f"{stamp} {exc}", flush=True)
                n += 1
                if count and n >= count:
                    break
                await asyncio.sleep(interval_s)
        finally:
            await source.close()
    finally:
        await sources.close()
    return 1 if failures else 0


def cmd_read(args: argparse.Namespace) -> int:
    name, cfg, claims_dir = _device_config(args)
    if args.watch:
        return asyncio.run(_watch(name, cfg, claims_dir, args.interval, args.count))
    return asyncio.run(_read_once(name, cfg, claims_dir))


async def _survey(plant: Plant, sample_s: float, as_json: bool = False) -> int:
    """Read every device (through the service where it holds one); kilns idle at output 0
    are read again after `sample_s`; judge what one or two reads can show (plant_alarms).
    One entry per device: two text lines, or (`as_json`, for scripts) one JSON object
    {name, driver, url, state: ok|ALARM|in use|config error|<error kind>, detail, alarms,
    reading, health} with the reading and health as the driver's dataclasses."""
    devices = dict(plant.devices)
    sources = _sources(devices, "kilnctl devices", plant.claims_dir)
    opened: dict[str, Source] = {}
    states: dict[str, tuple[str, str]] = {}  # name -> (state, detail), failures first
    readings: dict[str, Any] = {}
    later: dict[str, Any] = {}
    healths: dict[str, DeviceHealth | None] = {}

    async def read(name: str, into: dict[str, Any]) -> None:
        try:
            into[name], healths[name] = await opened[name].read()
        except DeviceError as exc:
            states[name] = (exc.kind, exc.detail)

    try:
        for name, cfg in devices.items():
            try:
                opened[name] = await sources.open(name, cfg)
            except SourceError as exc:
                states[name] = ("config error", str(exc))
            except Held as exc:  # in use, not broken: the holder answers for it
                states[name] = ("in use", str(exc))
        for name in opened:
            await read(name, readings)
        again = idle_kiln_controllers(plant, readings)
        if again:
            await asyncio.sleep(sample_s)
            for name in again:
                await read(name, later)
        alarms = plant_alarms(plant, readings, later, sample_s)
    finally:
        for source in opened.values():
            await source.close()
        await sources.close()
    for name, cfg in devices.items():
        reading = later.get(name, readings.get(name))
        state, detail = states.get(name, ("ok", ""))
        if name not in states and reading is not None:
            via = opened[name].via
            detail = f"{format_reading(reading)} ({format_health(healths.get(name))}){via}"
            if name in alarms:
                state = "ALARM"
        if as_json:
            health = healths.get(name)
            row = {"name": name, "driver": cfg.driver, "url": cfg.url, "state": state}
            extra: dict[str, object] = {"detail": detail, "alarms": alarms.get(name, [])}
            if reading is not None and name not in states:  # a reading only when one came
                extra["reading"] = asdict(reading)
                extra["health"] = asdict(health) if health is not None else None
            print(json.dumps({**row, **extra}, default=str), flush=True)
        elif state == "ALARM":
            print(f"{name:<18} {cfg.driver:<18} {cfg.url}")
            print(f"    ALARM: {'; '.join(alarms[name])}\n    {detail}")
        else:
            print(f"{name:<18} {cfg.driver:<18} {cfg.url}\n    {state}: {detail}")
    bad = [n for n in devices if states.get(n, ("ok",))[0] not in ("ok", "in use")]
    return 1 if bad or alarms else 0


def cmd_devices(args: argparse.Namespace) -> int:
    if args.sample < 0:
        raise UserError(f"--sample must be >= 0 s, got {args.sample:g}")
    plant = plant_for(args.config)
    if not plant.devices:
        print("no devices configured")
        return 0
    return asyncio.run(_survey(plant, args.sample, args.json))


def cmd_probe(args: argparse.Namespace) -> int:
    plant = plant_for(args.config, optional=True)
    claims = DeviceClaims({args.url: args.url}, "kilnctl probe", directory=_claims_dir(plant))
    try:
        claims.take([args.url])  # probing sends requests: not on a line another process drives
        print(f"{args.url}: {asyncio.run(probe(args.url))}")
    except (ConfigError, ClaimError, DeviceError) as exc:
        raise UserError(str(exc)) from None
    finally:
        claims.release()
    return 0

