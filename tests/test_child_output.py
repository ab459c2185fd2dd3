"""The shared helper that reads a child's pipes all along (tests/child_output.py): a child
writing far more than a pipe holds (64 KiB) on both streams ends, though the test waits
for it before reading anything, and the test then reads every byte as before."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from child_output import DrainedPopen, drained

CHATTY = (
    "import sys\n"
    "sys.stderr.write('e' * 1_000_000); sys.stderr.flush()\n"
    "sys.stdout.write('first line\\n' + 'o' * 1_000_000); sys.stdout.flush()\n"
)


async def test_asyncio_child_never_blocks_on_a_full_pipe() -> None:
    proc = drained(await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHATTY,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    ))  # fmt: skip
    async with asyncio.timeout(20):
        assert await proc.wait() == 0  # without the helper it blocks on its stderr write
        assert proc.stdout is not None
        assert await proc.stdout.readline() == b"first line\n"  # line reads work as before
        out, err = await proc.communicate()
    assert out == b"o" * 1_000_000 and err == b"e" * 1_000_000


def test_popen_child_never_blocks_on_a_full_pipe() -> None:
    with DrainedPopen(
        [sys.executable, "-c", CHATTY], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.wait(timeout=20) == 0
        out, err = proc.communicate(timeout=20)
    assert out == "first line\n" + "o" * 1_000_000 and err == "e" * 1_000_000


def test_popen_live_stream_stays_the_tests_to_read() -> None:
    with DrainedPopen(
        [sys.executable, "-c", CHATTY], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, live=("stdout",),
    ) as proc:  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline() == "first line\n"
        out, err = proc.communicate(timeout=20)
    assert out == "o" * 1_000_000 and err == "e" * 1_000_000
