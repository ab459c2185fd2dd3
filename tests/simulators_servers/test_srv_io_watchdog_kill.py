"""kill -9 of a `kilnctl run` driving a direct kiln: the simulated I/O module's watchdog
(armed by that run from the shipped map: 5 s, fail-safe duty 0 %) drops the SSR duty to
its fail-safe value exactly at its timeout on the module's clock, as a fresh process
(Debian's mbpoll) reads back. Reads alone do not keep the output alive."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from srv_helpers import FrozenTime, run_mbpoll

from simulators.devices import build
from simulators.devices.io_module import IOModule
from simulators.servers.modbus_tcp import ModbusTcpServer

PROFILE = """kind = "firing"
name = "direct-bake"
max_temp = "300 C"
[[segments]]
rate = "600 C/h"
target = "250 C"
hold = "1 h"
"""
TIMEOUT_S = 5.0  # drivers/maps/io_module.toml [watchdog] timeout_s
STATUS, DUTY, WATCHDOG = 1, 10, 20


async def test_kill_9_of_a_direct_firing_drops_the_ssr_to_its_fail_safe_duty(
    tmp_path: Path, require_binary: Callable[[str], str]
) -> None:
    mbpoll = require_binary("mbpoll")
    clock = FrozenTime(1000.0)  # the module's; the firing keeps its own scaled clock
    module = build("io_module", unit=1, time_fn=clock, tc_noise_c=0.0)
    assert isinstance(module, IOModule)
    server = ModbusTcpServer({1: module})
    await server.start()
    (tmp_path / "direct-bake.toml").write_text(PROFILE)
    (tmp_path / "kilnctl.toml").write_text(
        f'journal = "{tmp_path / "journal.sqlite"}"\n'
        f'[devices.kiln3_io]\ndriver = "direct_kiln"\nurl = "{server.url(1)}"\n'
        '[kilns.kiln3]\ncontroller = "kiln3_io"\nmode = "direct"\nmax_temp = "1000 C"\n'
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kilnctl.cli.main", "run", "direct-bake.toml", "--kiln", "kiln3",
        "--lot", "L1", "--speed", "60", cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )  # fmt: skip
    try:
        async with asyncio.timeout(30):  # polling the firing's progress, not passing time
            while not (module.watchdog_tenths and module.kiln.power_frac > 0):
                assert proc.returncode is None, "the firing ended before it could be killed"
                await asyncio.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        assert await proc.wait() == -signal.SIGKILL
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    duty = round(module.kiln.power_frac * 1000)
    last_write = module.last_write_t
    target = ["-m", "tcp", "-p", str(server.port), "-a", "1", "-0", "-o", "2"]

    async def read(register: int, count: int = 1) -> dict[int, str]:
        code, values, text = await run_mbpoll(
            mbpoll, *target, "-r", str(register), "-c", str(count), "127.0.0.1"
        )
        assert code == 0, text
        return values

    try:
        # Armed as the map says: 5.0 s (×10) with a fail-safe duty of 0 %.
        assert await read(WATCHDOG, 2) == {WATCHDOG: "50", WATCHDOG + 1: "0"}
        clock.now = last_write + TIMEOUT_S - 0.1
        assert await read(DUTY) == {DUTY: str(duty)}  # not yet; the reads fed nothing
        assert await read(STATUS) == {STATUS: "0"}
        clock.now = last_write + TIMEOUT_S + 0.1
        assert await read(DUTY) == {DUTY: "0"}
        assert await read(STATUS) == {STATUS: "2"}  # b1: watchdog expired
        assert module.expired_at == last_write + TIMEOUT_S
    finally:
        await server.close()
