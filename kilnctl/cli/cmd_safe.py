"""`kilnctl safe DEVICE... | --all`: make devices safe now and show the state read back.

With a `kilnctl serve` answering on its socket (it holds the devices), the service does it:
a run driving one of them is aborted first, and a device not confirmed stays with the
service's keeper, retried for as long as the service runs. Without a service the devices
are claimed and opened here; a `kilnctl run` (or `tune`) of this machine that drives one
of them is stopped first with SIGTERM — it aborts its run and makes its devices safe
itself, as on any SIGTERM — and its claim taken once it has let go, so the run can never
write its next setpoint over the safe state. `--wait` then keeps retrying until every one
is confirmed (Ctrl-C gives up, loudly). Exit 0 when every device is confirmed safe by
read-back, else 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

from kilnctl.claims import ClaimError, ClaimRefused, DeviceClaims
from kilnctl.cli.main import UserError
from kilnctl.cli.plant_devices import close_devices, device_claims, live_plant, open_devices
from kilnctl.cli.unsafe_wait import keep_at_it
from kilnctl.clock import Clock
from kilnctl.engine.engine import Engine, EngineError
from kilnctl.engine.safe_report import SafeReport
from kilnctl.engine.settings import EngineSettings
from kilnctl.plant import Plant
from kilnctl.service.client import RequestFailed, ServiceClient, ServiceUnavailable
from kilnctl.service.protocol import default_socket_path

WHO = "kilnctl safe"
SERVICE_TIMEOUT_S = 300.0
"""How long the service may take: each dead device costs a few request timeouts."""
HOLDER_TIMEOUT_S = 60.0
"""How long a stopped `kilnctl run` may take to make its devices safe and let go."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the safe subcommand."""
    p = subparsers.add_parser(
        "safe",
        help="make devices safe now and show the state read back",
        description="Heat off / output off now, confirmed by read-back; exit 1 if any is "
        "not confirmed. Asks the running service when there is one.",
    )
    p.add_argument("devices", nargs="*", metavar="DEVICE", help="device names (plant config)")
    p.add_argument("--all", action="store_true", help="every device of the plant config")
    p.add_argument("--wait", action="store_true", help="without a service: retry until confirmed")
    p.add_argument("--json", action="store_true", help="one JSON object per device")
    p.add_argument("--socket", help=f"service socket (default: {default_socket_path()})")
    p.add_argument("--speed", type=float, help="clock speed of the simulated plant")
    p.set_defaults(func=cmd_safe)


def cmd_safe(args: argparse.Namespace) -> int:
    if bool(args.devices) == bool(args.all):
        raise UserError("safe: give DEVICE names or --all (not both)")
    reports = asyncio.run(_make_safe(args))
    for report in reports:
        print(json.dumps(report.to_dict()) if args.json else report.line(), flush=True)
    return 0 if all(r.confirmed for r in reports) else 1


async def _make_safe(args: argparse.Namespace) -> list[SafeReport]:
    path = Path(args.socket) if args.socket else default_socket_path()
    try:
        client = await ServiceClient.connect(path, timeout_s=2.0)
    except ServiceUnavailable as exc:
        if args.socket:  # a socket the user named must answer
            raise UserError(str(exc)) from None
        return await _here(args)
    which = {"all": True} if args.all else {"devices": list(args.devices)}
    try:
        reply = await client.request("safe", timeout_s=SERVICE_TIMEOUT_S, who=WHO, **which)
    except (RequestFailed, ServiceUnavailable) as exc:
        raise UserError(str(exc)) from None
    finally:
        await client.close()
    print(f"kilnctl: asked the service on {path}", file=sys.stderr)
    return [SafeReport.from_dict(d) for d in reply["devices"]]


async def _take_from_holders(claims: DeviceClaims, names: list[str]) -> None:
    """Claim `names`; a process of this machine that holds one (a `kilnctl run`) is sent
    SIGTERM and its claim taken once it has made its devices safe and ended. UserError when
    a holder cannot be stopped from here or does not let go in time."""
    deadline = time.monotonic() + HOLDER_TIMEOUT_S
    stopped: set[int] = set()
    while True:
        try:
            claims.take(names)
            return
        except ClaimRefused as exc:
            holder = exc.holder
            if holder is None or holder.is_service or holder.pid == os.getpid():
                raise UserError(f"{exc}: make it safe through its holder") from None
            if holder.pid not in stopped:
                print(
                    f"kilnctl: {exc}: stopping it (SIGTERM: it aborts its run and makes its "
                    "devices safe)",
                    file=sys.stderr,
                )
                try:
                    os.kill(holder.pid, signal.SIGTERM)
                except OSError as err:
                    raise UserError(f"{exc}; cannot stop it: {err.strerror}") from None
                stopped.add(holder.pid)
            if time.monotonic() > deadline:
                raise UserError(
                    f"{exc}: still holding it {HOLDER_TIMEOUT_S:g} s after SIGTERM (its device "
                    "may be unconfirmed: see its terminal)"
                ) from None
            await asyncio.sleep(0.2)
        except ClaimError as exc:
            raise UserError(str(exc)) from None


async def _here(args: argparse.Namespace) -> list[SafeReport]:
    plant, clock = live_plant(args)
    names = sorted(plant.devices) if args.all else list(args.devices)
    unknown = [n for n in names if n not in plant.devices]
    if unknown:
        known = ", ".join(sorted(plant.devices))
        raise UserError(f"unknown device {', '.join(unknown)} (known: {known})")
    claims = device_claims(plant, WHO)
    await _take_from_holders(claims, names)
    try:
        return await _make_safe_claimed(args, plant, clock, names)
    finally:
        claims.release()


async def _make_safe_claimed(
    args: argparse.Namespace, plant: Plant, clock: Clock, names: list[str]
) -> list[SafeReport]:
    devices = open_devices(plant)
    engine = Engine(
        devices, plant, None, None, clock, EngineSettings(period_s=plant.sample_period_s)
    )
    queue = engine.subscribe()
    try:
        try:
            reports = await engine.make_safe_now(names, WHO)
        except EngineError as exc:
            raise UserError(str(exc)) from None
        if args.wait and engine.safekeeper.unsafe_devices():
            for report in reports:
                print(report.line(), file=sys.stderr)
            if await keep_at_it(engine.safekeeper, queue):
                reports = await engine.make_safe_now(names, WHO)
        return reports
    finally:
        await engine.close()
        await close_devices(devices)
