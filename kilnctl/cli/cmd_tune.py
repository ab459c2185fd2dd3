"""`kilnctl tune KILN [--simulate]`: relay autotune, proposing PID gains for direct mode."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from drivers.errors import ConfigError, DeviceError
from kilnctl.cli.main import UserError
from kilnctl.cli.plant_arg import plant_for
from kilnctl.cli.plant_devices import device_claims, take_claims
from kilnctl.cli.unsafe_wait import LEFT_UNSAFE_EXIT, keep_at_it
from kilnctl.clock import Clock, RealClock, ScaledClock, VirtualClock
from kilnctl.engine.autotune import TuneError, TuneResult, relay_autotune
from kilnctl.engine.messages import Event
from kilnctl.engine.safekeeper import SafeKeeper


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the tune subcommand."""
    p = subparsers.add_parser("tune", help="relay autotune of a kiln: propose PID gains")
    p.add_argument("kiln", help="kiln name in the plant config")
    p.add_argument("--setpoint", type=float, default=790.0, help="°C to oscillate around")
    p.add_argument("--bias", type=float, default=50.0, help="relay centre output %%")
    p.add_argument("--swing", type=float, default=50.0, help="relay half-swing %%")
    p.add_argument("--cycles", type=int, default=4, help="oscillations to measure")
    p.add_argument(
        "--simulate",
        action="store_true",
        help="tune the in-process simulated kiln on the virtual clock",
    )
    p.add_argument("--speed", type=float, help="scaled clock for a kiln simulator")
    p.add_argument("--json", action="store_true", help="the proposed gains as one JSON object")
    p.set_defaults(func=cmd_tune)


async def _tune(args: argparse.Namespace) -> tuple[TuneResult, bool]:
    """The relay test's result, and whether the kiln's heat-off was confirmed."""
    plant = plant_for(args.config)
    if args.kiln not in plant.kilns:
        raise UserError(
            f"no kiln {args.kiln!r} in the plant config (allowed: {', '.join(plant.kilns)})"
        )
    device_name = plant.kilns[args.kiln].controller
    clock: Clock
    controller: Any  # a driver, or a simulator that satisfies the Protocol structurally
    claims = device_claims(plant, "kilnctl tune")
    if args.simulate:
        from simulators.inprocess import SimKilnController  # dry run only

        clock = VirtualClock()
        controller = SimKilnController(device_name, clock.now)
    else:
        from drivers.registry import open_device

        cfg = plant.devices[device_name]
        clock = ScaledClock(args.speed) if args.speed else RealClock()
        # the relay test drives the output: nobody else may drive this kiln meanwhile
        take_claims(claims, [device_name], "tune the kiln when no run uses it")
        try:
            controller = open_device(device_name, cfg.driver, cfg.url, **cfg.options)
        except ConfigError as exc:
            raise UserError(str(exc)) from exc
    events: asyncio.Queue[Event] = asyncio.Queue()
    keeper = SafeKeeper(clock, events.put_nowait)
    failure: TuneError | DeviceError | None = None
    result: TuneResult | None = None
    try:
        result = await relay_autotune(
            controller,
            clock,
            args.setpoint,
            bias_pct=args.bias,
            swing_pct=args.swing,
            cycles=args.cycles,
            keeper=keeper,
        )
    except (TuneError, DeviceError) as exc:
        failure = exc
    finally:
        # the relay drove the heat: no exit while heat-off is not read back, unless asked
        confirmed = await keep_at_it(keeper, events)
        await keeper.stop()
        await controller.close()
        claims.release()
    if failure is not None:
        raise UserError(str(failure)) from failure
    assert result is not None
    return result, confirmed


def cmd_tune(args: argparse.Namespace) -> int:
    r, confirmed = asyncio.run(_tune(args))
    code = 0 if confirmed else LEFT_UNSAFE_EXIT
    g = r.gains
    if args.json:
        print(
            json.dumps(
                {
                    "period_s": r.period_s,
                    "amplitude_c": r.amplitude_c,
                    "ultimate_gain": r.ultimate_gain,
                    "kp": g.kp,
                    "ki": g.ki,
                    "kd": g.kd,
                }
            )
        )
        return code
    print(
        f"relay test around {r.setpoint_c:.0f} °C: period {r.period_s:.0f} s, "
        f"amplitude ±{r.amplitude_c:.2f} °C, ultimate gain {r.ultimate_gain:.2f} %/°C"
    )
    print("proposed gains (Ziegler-Nichols PID); paste into the plant config:")
    print(f"[kilns.{args.kiln}.pid]\nkp = {g.kp:.3f}\nki = {g.ki:.4f}\nkd = {g.kd:.2f}")
    return code
