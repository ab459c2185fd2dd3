"""One owner per device, across processes: an exclusive claim per serial line and per
Modbus TCP unit, held as an OS file lock.

Two processes writing to one controller fight (each streams its own setpoint, neither
sees an alarm), and two masters on one RS-485 line garble each other's frames (a false
"comms loss"). So `run`, `resume`, `serve` and `tune` claim what they will talk to before
their first request, and `devices`, `read` and `probe` for the moment they read.

A claim is `flock(LOCK_EX | LOCK_NB)` on one file per claim key in the claims directory
(see `claims_dir`). The kernel drops the lock when the holder's process ends, however it
ends (kill -9, power cut of a container), so no stale claim can outlive its holder; the
files themselves stay (deleting a lock file would let a second process lock a fresh file
of the same name while the first still holds the old one). The holder writes who it is
(command, pid, run ids, since, service socket) into the file it locked, as one JSON
object, so a refused claimant can name it: the lock is advisory, reading is never blocked.

Claim keys say what "the same device" means whatever the config calls it:
- a serial line (`modbus-rtu:`, `serial:`) is one key, by its real device path (symlinks
  such as /dev/serial/by-id/... resolved) or pyserial URL: one master per line, all its
  units included;
- a Modbus TCP device is one key per resolved address, port and unit (a TCP gateway
  serves several clients, but one controller must take setpoints from one owner).
Two config names for one address share the key, so a process takes it once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.address import parse_address
from drivers.errors import ConfigError

CLAIMS_DIR_ENV = "KILNCTL_CLAIMS_DIR"

_RECORD_TRIES = 50
"""Attempts to find a holder's record: a holder writes it right after taking the lock."""
_RECORD_PAUSE_S = 0.002


class ClaimError(Exception):
    """A claim that cannot be attempted (bad URL, claims directory not writable)."""


class ClaimRefused(ClaimError):
    """Another process holds the device's claim; `holder` says who (None if unknown)."""

    def __init__(self, device: str, key: str, holder: Holder | None) -> None:
        who = holder.describe() if holder is not None else "another process"
        super().__init__(f"{device} ({key}) is held by {who}")
        self.device = device
        self.key = key
        self.holder = holder

    @property
    def advice(self) -> str:
        """What the refused user can do instead."""
        if self.holder is not None and self.holder.is_service:
            return "start the job through that service (kilnctl tui) instead"
        return "wait until it ends: one process drives a device at a time"


@dataclass(frozen=True)
class Holder:
    """Who holds a claim, as written in its lock file."""

    command: str
    """e.g. "kilnctl serve", "kilnctl run"."""
    pid: int
    since: float
    """Unix time the claim was taken."""
    devices: tuple[str, ...] = ()
    """The holder's names for the devices behind this key."""
    runs: tuple[str, ...] = ()
    """Run ids using those devices now."""
    socket: str | None = None
    """The service socket, when the holder is `kilnctl serve`."""

    @property
    def is_service(self) -> bool:
        return self.socket is not None

    def describe(self) -> str:
        """e.g. "kilnctl run (pid 4711, run 20261130-013705-f7a796, since 01:37:05)"."""
        parts = [f"pid {self.pid}"]
        if self.runs:
            parts.append(("run " if len(self.runs) == 1 else "runs ") + ", ".join(self.runs))
        parts.append("since " + time.strftime("%H:%M:%S", time.localtime(self.since)))
        return f"{self.command} ({', '.join(parts)})"

    def to_json(self) -> str:
        return json.dumps(
            {
                "command": self.command,
                "pid": self.pid,
                "since": self.since,
                "devices": list(self.devices),
                "runs": list(self.runs),
                "socket": self.socket,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Holder | None:
        """The record, or None while it is empty or half-written."""
        try:
            doc: Any = json.loads(text)
            return cls(
                command=str(doc["command"]),
                pid=int(doc["pid"]),
                since=float(doc["since"]),
                devices=tuple(str(d) for d in doc.get("devices", ())),
                runs=tuple(str(r) for r in doc.get("runs", ())),
                socket=None if doc.get("socket") is None else str(doc["socket"]),
            )
        except (ValueError, TypeError, KeyError):
            return None


def claims_dir(configured: str | Path | None = None) -> Path:
    """Where the lock files live: the plant config's `claims_dir` (a plant whose service
    runs as a system user names a directory every operator shares, e.g. /run/kilnctl/claims),
    else $KILNCTL_CLAIMS_DIR, else $XDG_RUNTIME_DIR/kilnctl-claims, else a per-user
    directory under the temp dir. (Not $XDG_RUNTIME_DIR/kilnctl: a directory of the
    package's name would shadow it for `python -m kilnctl` run from there.)"""
    if configured:
        return Path(configured)
    override = os.environ.get(CLAIMS_DIR_ENV)
    if override:
        return Path(override)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "kilnctl-claims"
    return Path(tempfile.gettempdir()) / f"kilnctl-{os.getuid()}" / "claims"


def _host_key(host: str, port: int) -> str:
    """One spelling per TCP endpoint: "localhost" and "127.0.0.1" are the same device."""
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host))
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return host.lower()  # unresolvable now: the driver will say so when it connects
    addresses = [str(info[4][0]) for info in infos]
    ipv4 = [a for a in addresses if ":" not in a]
    return (ipv4 or addresses or [host.lower()])[0]


def claim_key(url: str) -> str | None:
    """The claim key of a device URL (None for pyserial's in-process loop://).
    Raises ClaimError for a URL that does not parse."""
    try:
        address = parse_address(url)
    except ConfigError as exc:
        raise ClaimError(str(exc)) from None
    if address.scheme == "modbus-tcp":
        host = _host_key(address.host, address.port)
        return f"modbus-tcp {host}:{address.port} unit {address.unit}"
    device = address.device
    if device.startswith("loop://"):
        return None
    if device.startswith("/"):
        device = os.path.realpath(device)
    return f"serial line {device}"


def _file_name(key: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9.]+", "_", key).strip("_")[:80]
    return f"{slug}-{hashlib.sha1(key.encode()).hexdigest()[:8]}.lock"


def read_holder(path: Path) -> Holder | None:
    """The holder record in a lock file (None if empty, half-written or missing)."""
    try:
        return Holder.from_json(path.read_text(encoding="utf-8"))
    except OSError:
        return None


@dataclass
class _Claim:
    key: str
    path: Path
    fd: int
    names: set[str] = field(default_factory=set)

    def write(self, holder: Holder) -> None:
        data = holder.to_json().encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)  # an operator's `cat` then shows the claim is free
        os.close(self.fd)  # drops the lock


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _lock(directory: Path, key: str, device: str) -> _Claim:
    """Take the claim on `key` or raise ClaimRefused naming its holder."""
    path = directory / _file_name(key)
    for _ in range(_RECORD_TRIES):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o664)
        except OSError as exc:
            raise ClaimError(
                f"cannot claim {device}: {path}: {exc.strerror or exc} "
                "(set claims_dir in the plant config to a directory you may write)"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = read_holder(path)
            if holder is not None and _alive(holder.pid):
                raise ClaimRefused(device, key, holder) from None
            # taken a moment ago and its record not yet written (the file may still hold
            # the record of a holder killed before), or let go meanwhile: look again
            time.sleep(_RECORD_PAUSE_S)
            continue
        return _Claim(key, path, fd)
    raise ClaimRefused(device, key, None)


class DeviceClaims:
    """This process's claims on the devices it talks to.

    `urls` maps device names to URLs (the plant config's devices); `take(names)` claims
    them all or none (ClaimRefused names the holder); `note_run` records which run uses
    them; `release()` lets them go. The kernel releases them anyway when the process ends.
    """

    def __init__(
        self,
        urls: Mapping[str, str],
        command: str,
        *,
        directory: str | Path | None = None,
        socket: str | Path | None = None,
    ) -> None:
        self._urls = dict(urls)
        self.command = command
        self.directory = claims_dir(directory)
        self.socket = None if socket is None else str(socket)
        self.since = time.time()
        self._claims: dict[str, _Claim] = {}
        self._runs: dict[str, str] = {}
        """device name -> run id using it"""

    def key_of(self, name: str) -> str | None:
        if name not in self._urls:
            raise ClaimError(f"no device {name!r} to claim (known: {', '.join(self._urls)})")
        return claim_key(self._urls[name])

    def holds(self, name: str) -> bool:
        return any(name in c.names for c in self._claims.values())

    def take(self, names: Iterable[str]) -> None:
        """Claim every device in `names` (those already held stay held), or none."""
        wanted: dict[str, set[str]] = {}
        for name in names:
            key = self.key_of(name)
            if key is not None:
                wanted.setdefault(key, set()).add(name)
        if not wanted:
            return
        self._make_directory()
        new: list[str] = []
        try:
            for key in sorted(wanted):
                if key not in self._claims:
                    self._claims[key] = _lock(self.directory, key, min(wanted[key]))
                    new.append(key)
        except ClaimError:
            for key in new:
                self._claims.pop(key).close()
            raise
        for key, group in wanted.items():
            self._claims[key].names |= group
            self._write(self._claims[key])

    def note_run(self, names: Iterable[str], run_id: str | None) -> None:
        """Record that `run_id` uses these devices now (None: no run uses them)."""
        touched = set()
        for name in names:
            if run_id is None:
                self._runs.pop(name, None)
            else:
                self._runs[name] = run_id
            touched |= {k for k, c in self._claims.items() if name in c.names}
        for key in touched:
            self._write(self._claims[key])

    def release(self, names: Iterable[str] | None = None) -> None:
        """Let go of these devices (default: all); a key goes when none of its names is left."""
        for key, claim in list(self._claims.items()):
            claim.names -= claim.names if names is None else set(names)
            if not claim.names:
                del self._claims[key]
                claim.close()
            else:
                self._write(claim)
        for name in list(self._runs):
            if not self.holds(name):
                del self._runs[name]

    def _write(self, claim: _Claim) -> None:
        runs = sorted({self._runs[n] for n in claim.names if n in self._runs})
        claim.write(
            Holder(
                command=self.command,
                pid=os.getpid(),
                since=self.since,
                devices=tuple(sorted(claim.names)),
                runs=tuple(runs),
                socket=self.socket,
            )
        )

    def _make_directory(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ClaimError(
                f"cannot create the claims directory {self.directory}: {exc.strerror or exc}"
            ) from None
