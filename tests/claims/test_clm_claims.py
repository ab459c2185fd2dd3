"""kilnctl.claims in one process: what counts as the same device, all-or-nothing claims,
the holder record readable while the lock is held, and a release that frees the device.
(flock locks belong to an open file, so two DeviceClaims in one process exclude each other
just as two processes do; the cross-process behaviour is in tests/engine/test_eng_claims.py.)"""

from __future__ import annotations

import fcntl
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from kilnctl.claims import ClaimError, ClaimRefused, DeviceClaims, claim_key, read_holder


def test_one_key_per_wire_whatever_the_config_calls_it(tmp_path: Path) -> None:
    # a TCP device is its resolved address, port and unit; a name spelling is not a device
    assert claim_key("modbus-tcp://localhost:5021?unit=1") == claim_key(
        "modbus-tcp://127.0.0.1:5021?unit=1&timeout=0.5"
    )
    assert claim_key("modbus-tcp://127.0.0.1:5021?unit=1") != claim_key(
        "modbus-tcp://127.0.0.1:5021?unit=2"
    )
    # a serial line is one key for every unit on it and every protocol spoken over it,
    # by its real path (a /dev/serial/by-id/... symlink is the same line)
    master, slave = pty.openpty()
    try:
        path = os.ttyname(slave)
        link = tmp_path / "by-id-kiln-line"
        link.symlink_to(path)
        keys = {
            claim_key(f"modbus-rtu://{path}?baud=19200&unit=1"),
            claim_key(f"modbus-rtu://{path}?baud=19200&unit=3"),
            claim_key(f"modbus-rtu://{link}?baud=9600&unit=2"),
            claim_key(f"serial://{path}?baud=9600"),
        }
        assert keys == {f"serial line {path}"}
    finally:
        os.close(master)
        os.close(slave)
    assert claim_key("modbus-rtu:loop://?unit=1") is None  # in-process loopback: no wire
    with pytest.raises(ClaimError, match="unknown scheme"):
        claim_key("modbus-udp://127.0.0.1:502")


def test_a_second_claimant_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    urls = {
        "kiln2": "modbus-tcp://127.0.0.1:5021?unit=1",
        "kiln2_alias": "modbus-tcp://localhost:5021?unit=1",
        "kiln3": "modbus-tcp://127.0.0.1:5023?unit=1",
    }
    service = DeviceClaims(urls, "kilnctl serve", directory=tmp_path, socket="/run/k.sock")
    other = DeviceClaims(urls, "kilnctl run", directory=tmp_path)
    service.take(["kiln2"])
    service.note_run(["kiln2"], "20261130-013705-f7a796")
    with pytest.raises(ClaimRefused) as refused:
        other.take(["kiln3", "kiln2_alias"])  # all or none: kiln3 must not stay claimed
    holder = refused.value.holder
    assert holder is not None
    assert (holder.command, holder.pid, holder.runs) == (
        "kilnctl serve",
        os.getpid(),
        ("20261130-013705-f7a796",),
    )
    assert holder.socket == "/run/k.sock" and holder.devices == ("kiln2",)
    assert str(refused.value).startswith(
        "kiln2_alias (modbus-tcp 127.0.0.1:5021 unit 1) is held by kilnctl serve "
        f"(pid {os.getpid()}, run 20261130-013705-f7a796, since "
    )
    assert "through that service" in refused.value.advice
    assert not other.holds("kiln3")
    DeviceClaims(urls, "kilnctl tune", directory=tmp_path).take(["kiln3"])  # kiln3 is free

    # the record is readable while the lock is held (the lock is advisory)
    (lock_file,) = [p for p in tmp_path.iterdir() if "5021" in p.name]
    record = read_holder(lock_file)
    assert record is not None and record.command == "kilnctl serve"

    service.note_run(["kiln2"], None)  # the run ended; the service keeps the kiln
    with pytest.raises(ClaimRefused, match=r"held by kilnctl serve \(pid \d+, since "):
        other.take(["kiln2"])
    service.release()
    other.take(["kiln2", "kiln2_alias"])  # free at once; one lock for both names
    assert other.holds("kiln2") and other.holds("kiln2_alias")
    other.release(["kiln2"])
    with pytest.raises(ClaimRefused, match="kilnctl run"):
        service.take(["kiln2"])  # kiln2_alias still holds the address
    other.release()
    service.take(["kiln2"])
    service.release()


def test_an_unwritable_claims_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    claims = DeviceClaims(
        {"kiln2": "modbus-tcp://127.0.0.1:5021?unit=1"}, "kilnctl run", directory=blocker / "x"
    )
    with pytest.raises(ClaimError, match=r"cannot create the claims directory .*/file/x"):
        claims.take(["kiln2"])
    with pytest.raises(ClaimError, match="no device 'kiln9' to claim"):
        claims.take(["kiln9"])


HOLDER = """
import sys
from kilnctl.claims import DeviceClaims
claims = DeviceClaims({"kiln2": sys.argv[1]}, "kilnctl run", directory=sys.argv[2])
claims.take(["kiln2"])
claims.note_run(["kiln2"], "R1")
print("held", flush=True)
sys.stdin.read()
"""


def test_kill_9_of_the_holder_frees_the_claim_at_once(tmp_path: Path) -> None:
    url = "modbus-tcp://127.0.0.1:5021?unit=1"
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    ) as holder:  # fmt: skip
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            claims = DeviceClaims({"kiln2": url}, "kilnctl run", directory=tmp_path)
            with pytest.raises(ClaimRefused, match=rf"kilnctl run \(pid {holder.pid}, run R1, "):
                claims.take(["kiln2"])
            holder.kill()
            holder.wait()
            claims.take(["kiln2"])  # no stale lock: the kernel dropped it with the process
            assert claims.holds("kiln2")
            claims.release()
        finally:
            holder.kill()


def test_a_dead_holders_record_is_never_named(tmp_path: Path) -> None:
    # a holder killed with -9 leaves its record in the file; the next holder locks the file
    # a moment before it writes its own: a claimant looking in between must not name the
    # dead process
    url = "modbus-tcp://127.0.0.1:5021?unit=1"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = DeviceClaims({"kiln2": url}, "kilnctl serve", directory=tmp_path)
    stale.take(["kiln2"])
    (lock_file,) = tmp_path.iterdir()
    record = lock_file.read_text().replace(f'"pid": {os.getpid()}', f'"pid": {dead.stdout.strip()}')
    stale.release()
    lock_file.write_text(record)
    fd = os.open(lock_file, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # locked, record not yet rewritten
        with pytest.raises(ClaimRefused, match=r"is held by another process$"):
            DeviceClaims({"kiln2": url}, "kilnctl run", directory=tmp_path).take(["kiln2"])
    finally:
        os.close(fd)
