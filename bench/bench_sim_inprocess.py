"""The in-process simulated kiln alone: CPU time of one control period's setpoint write
plus read over a 10-hour firing at 1 s ticks (36,000 pairs), on a plain time value (no
event loop sleeps, no engine). Target: under 30 µs a pair, so a dry run's simulated
devices stay a small part of bench_engine_virtual's budget. This figure was a timed
assertion in tests/simulators/test_sim_inprocess.py, which failed on a loaded machine.

Run: .venv/bin/python -m bench bench_sim_inprocess
"""

from __future__ import annotations

import asyncio
import time

from simulators.inprocess import SimKilnController

TICKS = 36_000
TARGET_S_PER_PAIR = 30e-6


async def fire(ticks: int) -> tuple[float, float]:
    """(CPU seconds, last PV in °C) of `ticks` setpoint + read pairs, 1 s apart."""
    now = 0.0
    kiln = SimKilnController("kiln1", lambda: now, seed=0)
    pv_c = float("nan")
    cpu = time.process_time()
    for tick in range(ticks):
        now = float(tick)
        await kiln.set_setpoint(min(790.0, 20.0 + tick * 300.0 / 3600.0))
        pv_c = (await kiln.read()).pv_c
    return time.process_time() - cpu, pv_c


def main() -> None:
    best = min(asyncio.run(fire(TICKS))[0] for _ in range(3))
    per_pair = best / TICKS
    verdict = "ok" if per_pair < TARGET_S_PER_PAIR else "over target"
    print(
        f"in-process kiln, 10 h at 1 s ticks: {per_pair * 1e6:.1f} µs CPU a setpoint + read "
        f"pair (best of 3; target < {TARGET_S_PER_PAIR * 1e6:.0f} µs: {verdict})"
    )


if __name__ == "__main__":
    main()
