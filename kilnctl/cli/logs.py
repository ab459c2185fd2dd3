"""The log of the long-running commands (serve, telemetry) on stderr.

- Each line says its level; on a terminal or in a file it starts with the time. Under
  systemd, when stderr is the journal (JOURNAL_STREAM names it, systemd.exec(5)), the
  journal stamps the time itself and a `<N>` prefix gives each line its syslog priority
  (sd-daemon(3)), so `journalctl -p warning` shows the warnings.
- A device's link changes are one line each (drivers.link_log: lost, back).
- pymodbus logs at WARNING and above only. Its per-request "No response received" errors
  are left out (the link lines say it once, with the device's name and address), and so
  are the hex dumps of the last frames it appends to its errors. `debug` (serve --debug)
  keeps everything: pymodbus's DEBUG lines show each frame sent and received.
"""

from __future__ import annotations

import logging
import os
import sys

PYMODBUS = "pymodbus"
FRAME_DUMP = "\n>>>>> "
"""How pymodbus 3.16.1 appends its last frames to an error (pymodbus/logging.py)."""
PER_REQUEST = ("No response received",)
"""Starts of pymodbus messages repeated for every failed request."""

SYSLOG_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}
"""Python level -> syslog priority (sd-daemon(3) SD_DEBUG .. SD_CRIT)."""


def stderr_is_journal() -> bool:
    """True when stderr is systemd's journal stream: JOURNAL_STREAM is "DEVICE:INODE" of
    that stream (systemd.exec(5)); a child whose stderr was redirected does not match."""
    value = os.environ.get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    try:
        st = os.fstat(sys.stderr.fileno())
        return (st.st_dev, st.st_ino) == (int(device), int(inode))
    except (ValueError, OSError):
        return False


class JournalFormatter(logging.Formatter):
    """`<priority>LEVEL message`: the journal adds the time."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        priority = SYSLOG_PRIORITY.get(record.levelno, 6)
        return f"<{priority}>{super().format(record)}"


class PymodbusChatter(logging.Filter):
    """Drops pymodbus's per-request errors and strips its frame dumps (not in debug)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(PYMODBUS):
            return True
        message = record.getMessage()
        if message.startswith(PER_REQUEST):
            return False
        if FRAME_DUMP in message:
            record.msg, record.args = message.split(FRAME_DUMP, 1)[0], None
        return True


def log_to_stderr(debug: bool = False) -> None:
    """Log to stderr as the module says (once: a configured root logger is kept)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    if stderr_is_journal():
        handler.setFormatter(JournalFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    if not debug:
        handler.addFilter(PymodbusChatter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    logging.getLogger(PYMODBUS).setLevel(logging.DEBUG if debug else logging.WARNING)
