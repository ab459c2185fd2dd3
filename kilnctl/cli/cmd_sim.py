"""`kilnctl sim` runs the simulated plant; `kilnctl sim-fault` / `sim-ctl` drive its faults.

This module may import simulators: only `sim`, `simulate` and `demo` do (docs/architecture.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from kilnctl.cli.main import UserError
from kilnctl.sim_link import SimAlreadyRunning, hold_urls_file, sim_urls_path
from simulators.plant import run_plant
from simulators.plant_config import PlantConfig, PlantConfigError, load_plant_config
from simulators.plant_control import ControlError, control

WIRE_FAULTS = ("no_response", "crc", "garbage", "slow")
DOOR_FAULT = "door_open"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the sim, sim-fault and sim-ctl subcommands."""
    p = subparsers.add_parser(
        "sim",
        help="run the simulated plant until Ctrl-C",
        description="Start every simulated device of a plant file on its protocol, print "
        "where each listens, and serve the fault-control port until Ctrl-C.",
    )
    p.add_argument(
        "--sim-plant", dest="plant_file", metavar="FILE", default=None,
        help="simulated plant TOML (default: the bundled simulators/default_plant.toml)",
    )  # fmt: skip
    p.add_argument("--speed", type=float, default=1.0, help="simulated time runs N times faster")
    p.add_argument("--seed", type=int, default=0, help="noise seed, for repeatable runs")
    p.add_argument(
        "--urls", metavar="FILE", default=None,
        help=f"write device URLs here as JSON (default: {sim_urls_path()})",
    )  # fmt: skip
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    p.add_argument("--control-port", type=int, default=None, help="fault-control TCP port")
    p.set_defaults(func=cmd_sim)

    p = subparsers.add_parser(
        "sim-fault",
        help="inject or clear a fault in the running simulated plant",
        description="Device faults: tc_open, element_failure, stuck_relay, open_circuit, "
        "over_temperature. Wire faults: no_response, crc, garbage, slow (--seconds). "
        "door_open opens a kiln's door. --clear clears it (without FAULT: everything).",
    )
    p.add_argument("device", help="device name, as `kilnctl sim` lists it")
    p.add_argument("fault", nargs="?", help="fault name")
    p.add_argument("--clear", action="store_true", help="clear the fault instead")
    p.add_argument("--seconds", type=float, default=0.5, help="delay for the slow fault")
    _control_options(p)
    p.set_defaults(func=cmd_sim_fault)

    p = subparsers.add_parser(
        "sim-ctl",
        help="send one raw command to the simulated plant's control port (e.g. list)",
    )
    p.add_argument("words", nargs="+", metavar="WORD", help="e.g. list | door kiln1 open")
    _control_options(p)
    p.set_defaults(func=cmd_sim_ctl)


def _control_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--urls", metavar="FILE", default=None, help="URLs file of the running sim")
    p.add_argument("--control", metavar="HOST:PORT", default=None, help="control port address")


def _load(path: str | None) -> PlantConfig:
    try:
        return load_plant_config(path)
    except PlantConfigError as exc:
        raise UserError(str(exc)) from None


async def _serve(config: PlantConfig, args: argparse.Namespace, urls: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_plant(
        config,
        args.speed,
        args.seed,
        urls_path=urls,
        host=args.host,
        control_port=args.control_port,
        stop=stop,
    )


def cmd_sim(args: argparse.Namespace) -> int:
    """Run the plant until Ctrl-C or SIGTERM."""
    if args.speed <= 0:
        raise UserError(f"--speed must be > 0, got {args.speed:g}")
    config = _load(args.plant_file)
    urls = Path(args.urls) if args.urls else sim_urls_path()
    try:
        hold_urls_file(urls)  # held until this process ends
    except SimAlreadyRunning as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot lock the URLs file {urls}: {exc}") from None
    try:
        asyncio.run(_serve(config, args, urls))
    except PlantConfigError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot start the simulated plant: {exc}") from None
    print("simulated plant stopped", file=sys.stderr)
    return 0


def _control_address(args: argparse.Namespace) -> str:
    if args.control:
        return str(args.control)
    path = Path(args.urls) if args.urls else sim_urls_path()
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["control"])
    except FileNotFoundError:
        raise UserError(
            f"no running simulated plant: {path} does not exist "
            "(start `kilnctl sim`, or give --urls FILE / --control HOST:PORT)"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not a simulator URLs file ({exc})") from None


def fault_command(device: str, fault: str | None, clear: bool, seconds: float) -> str:
    """The control-port command line for `kilnctl sim-fault`."""
    if fault is None:
        if not clear:
            raise UserError("name a FAULT, or use --clear to clear every fault of the device")
        return f"clear {device}"
    if fault in WIRE_FAULTS:
        if clear:
            return f"wire {device} ok"
        return f"wire {device} slow {seconds:g}" if fault == "slow" else f"wire {device} {fault}"
    if fault == DOOR_FAULT:
        return f"door {device} {'closed' if clear else 'open'}"
    return f"{'clear' if clear else 'fault'} {device} {fault}"


def _send(args: argparse.Namespace, command: str) -> str:
    try:
        return control(_control_address(args), command)
    except ControlError as exc:
        raise UserError(str(exc)) from None


def cmd_sim_fault(args: argparse.Namespace) -> int:
    """Inject or clear one fault."""
    try:
        _send(args, fault_command(args.device, args.fault, args.clear, args.seconds))
    except UserError as exc:
        if "unknown fault" not in str(exc):
            raise
        # the simulator knows its device faults; the wire faults and the door are ours
        others = ", ".join([*sorted(WIRE_FAULTS), DOOR_FAULT])
        raise UserError(f"{exc}; or a wire fault / the door: {others}") from None
    print("ok")
    return 0


def cmd_sim_ctl(args: argparse.Namespace) -> int:
    """Send a raw control command and print the reply."""
    reply = _send(args, " ".join(args.words))
    if args.words[0] == "list" and reply:
        for name, info in json.loads(reply).items():
            faults = ", ".join([*info["faults"], *info["wire"]]) or "-"
            print(f"{name:<18}{info['kind']:<19}{info['url']}  faults: {faults}")
    else:
        print(reply or "ok")
    return 0
