"""How many Eurotherm kilns fit on one 19200-baud RS-485 line at a 1 s control period,
before and after the L-R cadence (issue 7): bus time used per kiln per period, as a
fraction of the line's capacity, measured on the simulator's paced RTU pty in this run.

Each control period the engine reads a kiln (the IEEE block PV..WKG.SP, 10 registers, and
StAt) and streams its setpoint (Rm.SP write, read back). Before: L-R (276) was read before
every Rm.SP write. After: L-R is read every `lr_check_s` (30 s of the injected clock) or
on a sign of trouble. The baseline is the "before" path (lr_check_s = 0, the same driver
reading L-R before every write) measured in the same run on the same line.

Theory (as bench_rtu_pty): request + reply characters plus two 3.5-character silences per
transaction, 11 bits a character, no device turnaround.
"""

from __future__ import annotations

import asyncio
import sys
import time

from bench.sim_process import simulator
from drivers.eurotherm3216 import Eurotherm3216
from drivers.registry import open_device

BAUD = 19200
PERIOD_S = 1.0
TICKS = 40
LR_CHECK_S = 30.0


def chars(request: int, reply: int) -> float:
    """Characters one transaction holds the line for, frame silences included."""
    return request + reply + 7


def fc03(registers: int) -> float:
    """Characters of an FC03 read of `registers` registers."""
    return chars(8, 5 + 2 * registers)


FC06 = chars(8, 8)
PER_PERIOD_AFTER = fc03(10) + fc03(1) + FC06 + fc03(1)  # readings, StAt, Rm.SP, read-back
PER_PERIOD_BEFORE = PER_PERIOD_AFTER + fc03(1)  # + L-R before every write


def line_s(characters: float) -> float:
    return characters * 11 / BAUD


async def bus_time_per_period(url: str, lr_check_s: float) -> float:
    """Seconds of line time one kiln's control period takes (read, then stream a setpoint),
    averaged over TICKS periods run back to back; the driver's clock moves 1 s a period."""
    now = [0.0]
    kiln = open_device("bench", "eurotherm3216", url, lr_check_s=lr_check_s)
    assert isinstance(kiln, Eurotherm3216)
    kiln.time_fn = lambda: now[0]
    await kiln.read()
    await kiln.set_setpoint(100.0)  # connect: resolution, limits, L-R
    start = time.perf_counter()
    for tick in range(TICKS):
        now[0] += PERIOD_S
        await kiln.read()
        await kiln.set_setpoint(100.0 + 0.1 * (tick + 1))  # a ramp: a write every period
    used = (time.perf_counter() - start) / TICKS
    await kiln.close()
    return used


def main() -> int:
    with simulator("rtu", BAUD) as url:
        before = asyncio.run(bus_time_per_period(url, lr_check_s=0.0))
        after = asyncio.run(bus_time_per_period(url, lr_check_s=LR_CHECK_S))
    theory_before = line_s(PER_PERIOD_BEFORE)
    theory_after = line_s(PER_PERIOD_AFTER + fc03(1) * PERIOD_S / LR_CHECK_S)
    print(
        f"line theory : before {theory_before * 1000:5.1f} ms, after "
        f"{theory_after * 1000:5.1f} ms of line time per kiln per {PERIOD_S:g} s period"
    )
    for label, used in (("before", before), ("after", after)):
        share = used / PERIOD_S
        print(f"{label:<7}: {used * 1000:5.1f} ms per kiln-period = {share:.3f} of the line "
              f"-> {int(1 / share)} kilns on one {BAUD}-baud line")  # fmt: skip
    ratio = before / after
    print(
        f"kilns per line after/before = {ratio:.2f} "
        f"(bus time per kiln after/before = {after / before:.2f}; target <= 0.9)"
    )
    return 0 if after / before <= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
