"""Poll rate of our driver stack vs raw pymodbus on the same simulator TCP server.

Both sides make the same requests as one Eurotherm3216.read(): FC03 of the float block
(0x8002, 10 registers) and of StAt (75, 1 register). "ours" goes through the registry,
driver, codec, shared bus (lock, health, typed errors); "raw" is a bare pymodbus client.
Polls alternate one by one and each is timed, so load from other processes hits both
sides alike; rates are polls per second of time spent polling.
Target (issue 2): ratio = ours/raw >= 0.9.
"""

from __future__ import annotations

import asyncio
import sys
import time

from pymodbus.client import AsyncModbusTcpClient

from bench.sim_process import simulator
from drivers.address import parse_address
from drivers.registry import open_device

DURATION_S = 4.0


async def measure(url: str) -> tuple[float, float]:
    """(raw polls/s, our polls/s). Polls alternate one by one (raw then ours, then ours
    then raw) on two open connections and each is timed, so load from other processes on
    the machine hits both sides alike."""
    address = parse_address(url)
    client = AsyncModbusTcpClient(address.host, port=address.port, timeout=1, retries=0)
    await client.connect()
    unit = address.unit

    async def raw_poll() -> None:
        block = await client.read_holding_registers(0x8002, count=10, device_id=unit)
        stat = await client.read_holding_registers(75, count=1, device_id=unit)
        if block.isError() or stat.isError():
            raise RuntimeError("simulator answered an exception")

    kiln = open_device("bench", "eurotherm3216", url)
    await raw_poll()
    await kiln.read()  # both connected before timing
    clock = time.perf_counter
    raw_s = ours_s = 0.0
    polls = 0
    end = clock() + DURATION_S
    while clock() < end:
        for first_raw in (True, False):
            t0 = clock()
            await (raw_poll() if first_raw else kiln.read())
            t1 = clock()
            await (kiln.read() if first_raw else raw_poll())
            t2 = clock()
            raw_s += (t1 - t0) if first_raw else (t2 - t1)
            ours_s += (t2 - t1) if first_raw else (t1 - t0)
        polls += 2
    client.close()
    await kiln.close()
    return polls / raw_s, polls / ours_s


def main() -> int:
    with simulator("tcp") as url:
        raw, ours = asyncio.run(measure(url))
    ratio = ours / raw
    print(f"raw pymodbus : {raw:8.1f} polls/s ({2 * raw:.0f} FC03 transactions/s)")
    print(f"our stack    : {ours:8.1f} polls/s ({2 * ours:.0f} FC03 transactions/s)")
    print(f"ratio = ours/raw = {ratio:.3f} (target >= 0.9)")
    return 0 if ratio >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
