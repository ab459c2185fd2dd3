"""Control quality on the in-process simulated kiln (thermocouple lag and noise on), on the
virtual clock, in setpoint mode (the controller's own PID follows the streamed setpoint)
and direct mode (kilnctl's PID with ramp feed-forward writes the output).

Prints RMS error on ramps (target <= 1 °C) and overshoot at holds (target <= 2 °C).
Run: .venv/bin/python bench/bench_control_quality.py [--kp 6 --ki 0.01 --kd 60 --kff 0.13]
"""

from __future__ import annotations

import argparse
import asyncio
import math
from collections import deque
from types import SimpleNamespace

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import Sample, SegmentChanged, StartJob
from kilnctl.recipes.models import FiringProfile
from simulators.inprocess import SimKilnController

PROFILE = FiringProfile.model_validate(
    {
        "name": "quality",
        "max_temp": 850,
        "segments": [
            {"rate": 300, "target": 500, "hold": 1200},
            {"rate": 150, "target": 790, "hold": 1800},
        ],
    }
)
RMS_TARGET_C = 1.0
OVERSHOOT_TARGET_C = 2.0
SETTLE_S = 300.0
"""Start-up transient at the beginning of each ramp, not counted in the RMS."""
SMOOTH_N = 15
"""Overshoot is judged on a 15 s mean of the PV: thermocouple noise (σ 0.3 °C) is not
overshoot; the raw maximum is printed too."""


async def run(mode: str, gains: dict[str, float], seed: int) -> tuple[float, float, float]:
    clock = VirtualClock()
    kiln = SimKilnController("kiln1", clock.now, seed=seed)
    plant = SimpleNamespace(
        kilns={
            "kiln1": SimpleNamespace(
                controller="kiln1", mode=mode, max_temp_c=1000.0, pid=SimpleNamespace(**gains)
            )
        },
        tanks={},
    )
    engine = Engine({"kiln1": kiln}, plant, None, None, clock)
    queue = engine.subscribe(maxsize=1_000_000)
    run_id = await engine.submit(StartJob(ref="quality", kiln="kiln1", recipe=PROFILE))
    assert run_id is not None
    await engine.wait(run_id)
    phase, target, since = "ramp", 0.0, 0.0
    ramp_sq: list[float] = []
    overshoot = raw = -math.inf
    window: deque[float] = deque(maxlen=SMOOTH_N)
    while not queue.empty():
        event = queue.get_nowait()
        if isinstance(event, SegmentChanged):
            phase, target, since = event.phase, event.target_c, event.t
        elif isinstance(event, Sample):
            error = event.values["pv_c"] - event.values["sp_c"]
            if phase == "ramp" and event.t - since >= SETTLE_S:
                ramp_sq.append(error * error)
            window.append(event.values["pv_c"])
            if phase == "hold":
                raw = max(raw, event.values["pv_c"] - target)
                overshoot = max(overshoot, sum(window) / len(window) - target)
    return math.sqrt(sum(ramp_sq) / len(ramp_sq)), overshoot, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kp", type=float, default=6.0)
    parser.add_argument("--ki", type=float, default=0.01)
    parser.add_argument("--kd", type=float, default=60.0)
    parser.add_argument("--kff", type=float, default=0.13)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    gains = {"kp": args.kp, "ki": args.ki, "kd": args.kd, "kff": args.kff}
    for mode in ("setpoint", "direct"):
        rms, overshoot, raw = asyncio.run(run(mode, gains, args.seed))
        ok = rms <= RMS_TARGET_C and overshoot <= OVERSHOOT_TARGET_C
        print(
            f"{mode:8s} mode: RMS error on ramps {rms:.2f} °C (target <= {RMS_TARGET_C}), "
            f"overshoot at holds {overshoot:.2f} °C (target <= {OVERSHOOT_TARGET_C}; raw "
            f"max incl. noise {raw:.2f}): "
            f"{'ok' if ok else 'below target'}"
        )


if __name__ == "__main__":
    main()
