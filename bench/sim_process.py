"""Run a simulator server in a child process for a benchmark (so the simulator does not
share the client's event loop or CPU core), and read back where it listens: one simulated
Eurotherm (`simulator`) or a whole plant file through `kilnctl sim` (`plant_simulator`)."""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1

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


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it if the bench dies, so no simulator is left
    behind even when the bench itself is killed (Linux prctl PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@contextmanager
def plant_simulator(
    plant_file: Path, urls_file: Path, *, speed: float = 1.0, start_timeout_s: float = 60.0
) -> Iterator[tuple[dict[str, Any], subprocess.Popen[bytes]]]:
    """Run `kilnctl sim --config plant_file` in a child process; yield (its URLs document,
    the process) once every device listens; on exit SIGTERM it (then SIGKILL) and reap it.
    Its output is kept out of the bench's report; its stderr is told when it fails to start."""
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kilnctl.cli.main", "sim", "--config", str(plant_file),
             "--urls", str(urls_file), "--speed", f"{speed:g}"],
            stdout=subprocess.DEVNULL,
            stderr=errors,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + start_timeout_s
            while not urls_file.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    errors.seek(0)
                    said = errors.read().decode(errors="replace").strip()
                    raise RuntimeError(f"simulated plant did not start: {said or 'no output'}")
                time.sleep(0.05)
            yield json.loads(urls_file.read_text(encoding="utf-8")), proc
        finally:
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a live process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # after "pid (comm)": state is field 3, utime 14 and stime 15 (1-based, proc(5))
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
