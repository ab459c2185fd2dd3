"""Run a simulator server in a child process for a benchmark (so the simulator does not
share the client's event loop or CPU core), and read back where it listens."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_SERVE = """
import asyncio, sys
from simulators.devices import build
from simulators.timebase import ScaledTime
from simulators.servers.modbus_rtu import ModbusRtuServer
from simulators.servers.modbus_tcp import ModbusTcpServer

async def main(kind, baud):
    clock = ScaledTime(1.0)
    slaves = {1: build("eurotherm3216", unit=1, time_fn=clock)}
    if kind == "tcp":
        server = ModbusTcpServer(slaves)
    else:
        server = ModbusRtuServer(slaves, baud=baud, turnaround_s=0.0)
    await server.start()
    print(server.url(1), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


@contextmanager
def simulator(kind: str, baud: int = 19200) -> Iterator[str]:
    """Start a simulated Eurotherm 3216 at unit 1 over `kind` ("tcp" or "rtu"); yield its
    device URL; stop it on exit (closing its stdin)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE, kind, str(baud)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url:
            raise RuntimeError("simulator did not start")
        yield url
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(coro: object) -> object:
    """asyncio.run, typed loosely for bench scripts."""
    return asyncio.run(coro)  # type: ignore[arg-type]
