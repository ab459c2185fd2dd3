"""`kilnctl status` puts a device whose safe state is not confirmed first (the breaker saw
"no active runs" while kiln1, left by a failed run, was still being retried)."""

from __future__ import annotations

from kilnctl.cli.cmd_control import status_text


def test_a_device_not_confirmed_safe_comes_first() -> None:
    snapshot = {
        "plant": "kiln room",
        "time": 1_790_000_000.0,
        "speed": 1.0,
        "runs": [],
        "unsafe": {"kiln1": "kiln1 (modbus-rtu:/dev/ttyUSB0 unit 1): no response"},
    }
    lines = status_text(snapshot).splitlines()
    assert lines[2].startswith("!!! kiln1: NOT CONFIRMED SAFE (kiln1 (modbus-rtu")
    assert "keeps retrying" in lines[2]
    assert lines[3].startswith("no active runs")
