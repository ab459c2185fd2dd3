"""The running simulator plant as kilnctl sees it: the URLs file `kilnctl sim` writes.

With no ./kilnctl.toml, commands use the bundled example plant, whose device names match
the simulated plant; this file tells them where each simulated device really listens and
how fast simulated time runs, so `kilnctl sim` in one terminal and `kilnctl run` in another
work together with no editing.

One simulated plant per URLs file: `kilnctl sim` holds a lock beside the file
(`hold_urls_file`) for as long as it runs, so a second one given the same file is refused
with the first one's pid and control port, instead of overwriting the file (the commands
would then talk to the second) and deleting it when it stops (the first one orphaned). A
second plant runs with its own file (`--urls FILE`), which the other commands find through
$KILNCTL_SIM_URLS.
"""

from __future__ import annotations

import fcntl
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
    pid: int | None = None
    """the `kilnctl sim` process"""


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
            pid,
        )
    except (OSError, ValueError, KeyError, TypeError):
        # no file, a stale file from a killed simulator, or one we cannot read: no simulator
        return None


class SimAlreadyRunning(Exception):
    """Another simulated plant holds this URLs file; str() names it and what to do."""


def hold_urls_file(path: Path) -> int:
    """Lock the URLs file `path` for this process's simulated plant, for as long as the
    process lives (the kernel drops the lock when it ends, however it ends); the lock's
    file descriptor. SimAlreadyRunning when another plant holds it."""
    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        sim = running_sim(path)
        who = (
            f"pid {sim.pid}, control port {sim.control}"
            if sim is not None
            else "it is still starting"
        )
        raise SimAlreadyRunning(
            f"a simulated plant already runs with the URLs file {path} ({who}): stop it "
            f"first, or give this one its own file (--urls OTHER.json) and point the other "
            f"commands at it with {SIM_URLS_ENV}=OTHER.json"
        ) from None
    return fd
