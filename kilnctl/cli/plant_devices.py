"""What the long-running commands (run, resume, serve) share: the live plant, its
devices opened from the plant config, and the clock."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Iterable
from pathlib import Path

from drivers.errors import ConfigError, DeviceError
from kilnctl.claims import ClaimError, DeviceClaims
from kilnctl.cli.main import UserError
from kilnctl.cli.plant_arg import plant_and_sim
from kilnctl.clock import Clock, RealClock, ScaledClock
from kilnctl.plant import Plant
from kilnctl.sim_link import running_sim


def live_plant(args: argparse.Namespace) -> tuple[Plant, Clock]:
    """The plant to control and the clock to control it by: `--speed`, or on the bundled
    simulator plant the simulators' own speed and time."""
    plant, sim = plant_and_sim(args.config)
    if sim is not None and args.speed in (None, sim.speed):
        print(f"kilnctl: on the running simulator plant, clock at {sim.speed:g}x", file=sys.stderr)
        return plant, clock_for(sim.speed, sim.epoch)
    # A plant config of one's own pointed at the running simulators: at their speed, take
    # their time too. Each process starting its own scaled clock made a run resumed by
    # another process restart minutes before its last sample (a negative "outage").
    running = running_sim() if args.speed else None
    if running is not None and running.speed == args.speed and running.epoch is not None:
        return plant, clock_for(args.speed, running.epoch)
    return plant, clock_for(args.speed)


def clock_for(speed: float | None, epoch: float | None = None) -> Clock:
    return ScaledClock(speed, epoch) if speed and speed != 1.0 else RealClock()


def device_claims(plant: Plant, command: str, *, socket: Path | None = None) -> DeviceClaims:
    """This process's claims on the plant's devices (kilnctl.claims); none taken yet."""
    urls = {name: cfg.url for name, cfg in plant.devices.items()}
    return DeviceClaims(urls, command, directory=plant.claims_dir, socket=socket)


def take_claims(claims: DeviceClaims, names: Iterable[str], advice: str) -> None:
    """Claim `names` before the first request, or stop: UserError naming the holder."""
    try:
        claims.take(names)
    except ClaimError as exc:
        raise UserError(f"{exc}; {advice}") from None


def open_devices(plant: Plant) -> dict[str, object]:
    """Every device of the plant config (opening sends nothing: a dead device shows on use)."""
    from drivers.registry import open_device

    devices: dict[str, object] = {}
    try:
        for name, cfg in plant.devices.items():
            devices[name] = open_device(name, cfg.driver, cfg.url, **cfg.options)
    except ConfigError as exc:
        raise UserError(str(exc)) from exc
    return devices


async def close_devices(devices: dict[str, object]) -> None:
    for device in devices.values():
        try:
            await device.close()  # type: ignore[attr-defined]
        except DeviceError as exc:
            print(f"kilnctl: closing {exc.device}: {exc}", file=sys.stderr)


def freeze_startup_objects() -> None:
    """Move everything built at start-up out of the garbage collector's sight: its first
    full collection otherwise walks them all and delays a control step by 15-70 ms
    (bench_many_devices)."""
    gc.collect()
    gc.freeze()
