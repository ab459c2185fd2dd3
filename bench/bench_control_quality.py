"""Control quality on the in-process simulated kiln (thermocouple lag and noise on), on the
virtual clock, in setpoint mode (the controller's own PID follows the streamed setpoint)
and direct mode (kilnctl's PID with ramp feed-forward writes the output).

Prints RMS error on ramps (target <= 1 °C) and overshoot at holds (target <= 2 °C).
Run: .venv/bin/python bench/bench_control_quality.py [--kp 4 --ki 0.02 --kd 40 --kff 0.09]
"""

from __future__ import annotations

import argparse
import asyncio
import math
from types import SimpleNamespace

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import Sample, SegmentChanged, StartJob
from kilnctl.recipes.models import FiringProfile
from simulators.inprocess import SimKilnController

PROFILE = FiringProfile.model_validate({
    "name": "quality", "max_temp": 850,
    "segments": [{"rate": 300, "target": 500, "hold": 1200},
                 {"rate": 150, "target": 790, "hold": 1800}],
})
RMS_TARGET_C = 1.0
OVERSHOOT_TARGET_C = 2.0
SETTLE_S = 300.0
"""Start-up transient at the beginning of each ramp, not counted in the RMS."""


async def run(mode: str, gains: dict[str, float], seed: int) -> tuple[float, float]:
    clock = VirtualClock()
    kiln = SimKilnController("kiln1", clock.now, seed=seed)
    plant = SimpleNamespace(
        kilns={"kiln1": SimpleNamespace(controller="kiln1", mode=mode, max_temp_c=1000.0,
                                        pid=SimpleNamespace(**gains))},
        tanks={},
    )
    engine = Engine({"kiln1": kiln}, plant, None, None, clock)
    queue = engine.subscribe(maxsize=1_000_000)
    run_id = await engine.submit(StartJob(ref="quality", kiln="kiln1", recipe=PROFILE))
    assert run_id is not None
    await engine.wait(run_id)
    phase, target, since = "ramp", 0.0, 0.0
    ramp_sq: list[float] = []
    overshoot = -math.inf
    while not queue.empty():
        event = queue.get_nowait()
        if isinstance(event, SegmentChanged):
            phase, target, since = event.phase, event.target_c, event.t
        elif isinstance(event, Sample):
            error = event.values["pv_c"] - event.values["sp_c"]
            if phase == "ramp" and event.t - since >= SETTLE_S:
                ramp_sq.append(error * error)
            elif phase == "hold":
                overshoot = max(overshoot, event.values["pv_c"] - target)
    return math.sqrt(sum(ramp_sq) / len(ramp_sq)), overshoot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kp", type=float, default=6.0)
    parser.add_argument("--ki", type=float, default=0.02)
    parser.add_argument("--kd", type=float, default=60.0)
    parser.add_argument("--kff", type=float, default=0.09)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    gains = {"kp": args.kp, "ki": args.ki, "kd": args.kd, "kff": args.kff}
    for mode in ("setpoint", "direct"):
        rms, overshoot = asyncio.run(run(mode, gains, args.seed))
        ok = rms <= RMS_TARGET_C and overshoot <= OVERSHOOT_TARGET_C
        print(f"{mode:8s} mode: RMS error on ramps {rms:.2f} °C (target <= {RMS_TARGET_C}), "
              f"overshoot at holds {overshoot:.2f} °C (target <= {OVERSHOOT_TARGET_C}): "
              f"{'ok' if ok else 'below target'}")


if __name__ == "__main__":
    main()
