"""Child processes whose piped output is read all along, for tests that start kilnctl,
simulators or servers as subprocesses.

A pipe holds 64 KiB on Linux: a child that logs more than that into a pipe nobody reads
blocks on its next write, and the test waiting for it hangs until the per-test timeout
(it happened in CI with `kilnctl serve`'s stderr). Here each piped stream the test does not
read as it goes is read by a background reader from the start; what it read is handed back
unchanged by `communicate()` / `read()` afterwards, so a test reads it as before.

- asyncio: `drained(proc)` on a process from `asyncio.create_subprocess_exec`.
- threads: `DrainedPopen(...)` in place of `subprocess.Popen(...)`.

`live` names the streams the test reads line by line while the child runs (JSON events on
stdout): those stay the child's pipe.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Collection
from typing import IO, Any

STREAMS = ("stdout", "stderr")


def drained(
    proc: asyncio.subprocess.Process, live: Collection[str] = ()
) -> asyncio.subprocess.Process:
    """`proc`, its piped streams not in `live` now read all along into memory.

    Each such stream is replaced by a reader fed from the pipe by a task; the test's
    `proc.communicate()`, `proc.stderr.read()` or line iteration read from it as before.
    """
    unknown = set(live) - set(STREAMS)
    if unknown:
        raise ValueError(f"live: unknown streams {sorted(unknown)} (allowed: {STREAMS})")
    loop = asyncio.get_running_loop()
    for name in STREAMS:
        pipe: asyncio.StreamReader | None = getattr(proc, name)
        if pipe is None or name in live:
            continue
        buffered = asyncio.StreamReader(limit=2**30)  # no transport: never pauses the pipe
        task = loop.create_task(_copy(pipe, buffered))
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)
        setattr(proc, name, buffered)
    return proc


_TASKS: set[asyncio.Task[None]] = set()
"""The copy tasks (the loop keeps only weak references to tasks)."""


async def _copy(pipe: asyncio.StreamReader, buffered: asyncio.StreamReader) -> None:
    try:
        while chunk := await pipe.read(65536):
            buffered.feed_data(chunk)
    finally:
        buffered.feed_eof()


class DrainedPopen(subprocess.Popen[Any]):
    """`subprocess.Popen` whose piped stdout/stderr not in `live` are read all along by a
    thread; `communicate()` returns what they read (text or bytes as asked)."""

    def __init__(self, *args: Any, live: Collection[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._drained: dict[str, list[Any]] = {}
        self._readers: list[threading.Thread] = []
        for name in STREAMS:
            pipe: IO[Any] | None = getattr(self, name)
            if pipe is None or name in live:
                continue
            chunks: list[Any] = []
            self._drained[name] = chunks
            reader = threading.Thread(
                target=_read_all, args=(pipe, chunks), name=f"drain {name}", daemon=True
            )
            reader.start()
            self._readers.append(reader)

    def communicate(  # type: ignore[override]
        self, input: Any = None, timeout: float | None = None
    ) -> tuple[Any, Any]:
        if not self._drained:
            return super().communicate(input, timeout)
        if input is not None:
            raise ValueError("DrainedPopen: write stdin yourself before communicate()")
        live_out = (
            self.stdout.read() if self.stdout is not None and "stdout" not in self._drained
            else None
        )  # fmt: skip
        self.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        return self.drained_output("stdout", live_out), self.drained_output("stderr", None)

    def drained_output(self, name: str, default: Any = None) -> Any:
        """What has been read so far from stream `name` (`default`: not drained)."""
        chunks = self._drained.get(name)
        if chunks is None:
            return default
        return "".join(chunks) if self.text_mode else b"".join(chunks)


def _read_all(pipe: IO[Any], chunks: list[Any]) -> None:
    with pipe:
        # read1: whatever bytes have come (a text pipe's read(n) also returns as data comes)
        read = getattr(pipe, "read1", pipe.read)
        while chunk := read(65536):
            chunks.append(chunk)
