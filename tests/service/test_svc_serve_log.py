"""`kilnctl serve`'s log when a device stops answering and comes back, over real wires:
one line each way naming the device and its address, none of pymodbus's per-request
errors or frame dumps (they come with --debug)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from test_svc_serve_cli import _SIMS, attach, ended, serve, simulated_plant

from kilnctl.service.client import RequestFailed


async def _log_until(proc: asyncio.subprocess.Process, text: bytes, log: list[bytes]) -> None:
    """Read the service's log (into `log`) up to a line holding `text`."""
    assert proc.stderr is not None
    async with asyncio.timeout(20):
        while text not in (line := await proc.stderr.readline()):
            assert line, f"the service ended before logging {text!r}: {b''.join(log)!r}"
            log.append(line)
    log.append(line)


async def test_a_silent_device_is_one_lost_line_then_one_back_line(tmp_path: Path) -> None:
    async with simulated_plant(tmp_path) as url:
        proc = await serve(tmp_path)
        log: list[bytes] = []
        try:
            client = await attach(tmp_path, proc)
            wire = _SIMS[tmp_path].devices["kiln2"].wire
            wire.no_response = True  # the watch polls kiln2 (in no run) every period
            await _log_until(proc, b" lost: ", log)
            for _ in range(3):  # more failed requests: no more lines
                with pytest.raises(RequestFailed, match="no response"):
                    await client.request("read", device="kiln2")
            await client.close()
            wire.clear()
            await _log_until(proc, b" back after ", log)
            proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(30):
                    log.append(await ended(proc))
            except TimeoutError:
                proc.kill()
                log.append(await ended(proc))
                raise AssertionError(f"no exit on SIGTERM: {b''.join(log).decode()}") from None
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    text = b"".join(log).decode()
    assert proc.returncode == 0, text
    port = url.split("?")[0].rsplit(":", 1)[1]
    device = f"kiln2 (modbus-tcp://127.0.0.1:{port} unit 1)"
    lost = [line for line in text.splitlines() if " lost: " in line]
    back = [line for line in text.splitlines() if " back after " in line]
    assert len(lost) == 1 and f" WARNING {device} lost: no response: " in lost[0], text
    assert len(back) == 1 and f" INFO {device} back after " in back[0], text
    assert "No response received" not in text and ">>>>>" not in text, text
