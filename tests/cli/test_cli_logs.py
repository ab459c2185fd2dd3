"""The long-running commands' log (kilnctl.cli.logs) in a real process: under systemd
(stderr is the journal, JOURNAL_STREAM names it) each line carries its syslog priority and
no time of its own; elsewhere a time; pymodbus's per-request errors and frame dumps are left
out unless --debug."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

LOGS = """
import logging, sys
from kilnctl.cli.main import log_to_stderr
log_to_stderr(debug=sys.argv[1] == "debug")
logging.getLogger("drivers.link").warning("kiln1 (modbus-tcp://127.0.0.1:5020 unit 1) lost")
modbus = logging.getLogger("pymodbus.logging")
modbus.error("No response received after 0 retries, continue with next request"
             "\\n>>>>> send: 0x1 0x3 0x0 0x0 0x0 0x2")
modbus.error("Connection to (127.0.0.1, 5020) failed\\n>>>>> send: 0x1 0x3")
modbus.debug("send: 0x1 0x3 0x0 0x0 0x0 0x2")
logging.getLogger("drivers.link").info("kiln1 (modbus-tcp://127.0.0.1:5020 unit 1) back")
"""


def _log(tmp_path: Path, mode: str, journal: bool) -> list[str]:
    """The lines LOGS writes on a stderr that is a file (as journald's stream is a socket,
    matched by JOURNAL_STREAM's device and inode)."""
    path = tmp_path / "stderr"
    with path.open("wb") as stderr:
        env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        if journal:
            st = os.fstat(stderr.fileno())
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        subprocess.run(
            [sys.executable, "-c", LOGS, mode], stderr=stderr, env=env, check=True, timeout=30
        )
    return path.read_text().splitlines()


def test_under_journald_each_line_has_its_priority_and_no_time(tmp_path: Path) -> None:
    assert _log(tmp_path, "", journal=True) == [
        "<4>WARNING kiln1 (modbus-tcp://127.0.0.1:5020 unit 1) lost",
        "<3>ERROR Connection to (127.0.0.1, 5020) failed",
        "<6>INFO kiln1 (modbus-tcp://127.0.0.1:5020 unit 1) back",
    ]


@pytest.mark.parametrize("mode", ["", "debug"])
def test_on_a_terminal_or_file_lines_have_times_and_debug_keeps_pymodbus(
    tmp_path: Path, mode: str
) -> None:
    lines = _log(tmp_path, mode, journal=False)
    assert all(line[:4].isdigit() and line[4] == "-" for line in lines if ">>>>>" not in line)
    text = "\n".join(lines)
    assert "WARNING kiln1 (modbus-tcp://127.0.0.1:5020 unit 1) lost" in text
    assert "ERROR Connection to (127.0.0.1, 5020) failed" in text
    if mode == "debug":  # every pymodbus message, frames included
        assert "No response received" in text and "DEBUG send: 0x1 0x3" in text
    else:
        assert len(lines) == 3 and "No response" not in text and ">>>>>" not in text
