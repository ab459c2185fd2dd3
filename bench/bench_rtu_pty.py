"""Modbus RTU on the simulator's paced pty at 19200 baud: our stack reading 10 registers,
in transactions per second, as a ratio of the line's theoretical rate.

Theory (docs/devices.md, Modbus RTU timing: 43.6 tx/s): an FC03 of 10 registers is an
8-byte request and
a 25-byte reply, plus the 3.5-character silence that ends each frame: 40 characters of
11 bits = 22.9 ms at 19200 baud. The simulator paces its bytes at the baud rate and runs
with zero device turnaround, so only the line and our stack remain.
Target (issue 2): ratio >= 0.85.
"""

from __future__ import annotations

import asyncio
import sys
import time

from bench.sim_process import simulator
from drivers.registry import open_device

BAUD = 19200
REGISTERS = 10
DURATION_S = 5.0


def theoretical_rate(baud: int, registers: int) -> float:
    """Transactions/s of FC03 reads of `registers` registers with no turnaround:
    request + reply characters + two 3.5-character frame silences, 11 bits each."""
    return baud / ((8 + 5 + 2 * registers + 7) * 11)


async def measure(url: str) -> tuple[float, float]:
    """(transactions/s, mean gap used) reading 10 registers through a driver's link."""
    kiln = open_device("bench", "eurotherm3216", url)
    link = kiln.link  # type: ignore[union-attr]
    await link.read_holding(0x8002, REGISTERS)
    count = 0
    start = time.perf_counter()
    end = start + DURATION_S
    while time.perf_counter() < end:
        await link.read_holding(0x8002, REGISTERS)  # PV..WKG.SP as floats: 10 registers
        count += 1
    rate = count / (time.perf_counter() - start)
    gap = link.bus.gap_s
    await kiln.close()
    return rate, gap


def main() -> int:
    with simulator("rtu", BAUD) as url:
        rate, gap = asyncio.run(measure(url))
    theory = theoretical_rate(BAUD, REGISTERS)
    ratio = rate / theory
    print(f"line theory  : {theory:6.1f} tx/s at {BAUD} baud, {REGISTERS} registers")
    print(f"our stack    : {rate:6.1f} tx/s (inter-transaction gap {gap * 1000:.1f} ms)")
    print(f"ratio = {ratio:.3f} (target >= 0.85)")
    return 0 if ratio >= 0.85 else 1


if __name__ == "__main__":
    sys.exit(main())
