"""The running simulator plant as kilnctl sees it: the URLs file `kilnctl sim` writes.

With no ./kilnctl.toml, commands use the bundled example plant, whose device names match
the simulated plant; this file tells them where each simulated device really listens and
how fast simulated time runs, so `kilnctl sim` in one terminal and `kilnctl run` in another
work together with no editing.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

SIM_URLS_ENV = "KILNCTL_SIM_URLS"


def sim_urls_path() -> Path:
    """Where `kilnctl sim` writes its URLs file unless told otherwise (one per user;
    $KILNCTL_SIM_URLS names another, as the demo does for its private simulators)."""
    override = os.environ.get(SIM_URLS_ENV)
    if override:
        return Path(override)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) if runtime else Path(tempfile.gettempdir())
    return base / f"kilnctl-sim-{os.getuid()}.json"


@dataclass(frozen=True)
class RunningSim:
    urls: dict[str, str]
    """device name -> URL"""
    speed: float
    control: str
    """address of the fault-injection control port"""
    epoch: float | None = None
    """Unix time at which the simulators' time started (their clock runs `speed` x)"""


def running_sim(path: Path | None = None) -> RunningSim | None:
    """The simulator plant whose URLs file is at `path`, if its process is alive."""
    path = path or sim_urls_path()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        pid = int(doc["pid"])
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
        urls = {name: str(dev["url"]) for name, dev in doc["devices"].items()}
        epoch = doc.get("epoch")
        return RunningSim(
            urls,
            float(doc.get("speed", 1.0)),
            str(doc.get("control", "")),
            None if epoch is None else float(epoch),
        )
    except (OSError, ValueError, KeyError, TypeError):
        # no file, a stale file from a killed simulator, or one we cannot read: no simulator
        return None
