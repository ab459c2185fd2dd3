"""`kilnctl run`/`resume` do not exit while a device they drove is not confirmed safe.

After the run's end the engine's SafeKeeper may still hold devices whose safe state was not
read back (comms lost, CRC errors, garbage on the line); this waits while it retries,
printing its line per retry. Only an explicit operator choice ends the wait early: Ctrl-C
asks, and typing "leave" (or a second Ctrl-C at that question) exits leaving them, said
loudly on stderr. SIGTERM/SIGHUP do not end the wait: nobody is there to take the choice.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable

from kilnctl.cli.event_lines import EventLines
from kilnctl.engine.messages import Event
from kilnctl.engine.safekeeper import SafeKeeper

LEFT_UNSAFE_EXIT = 3
"""Exit status of a run process the operator ended leaving a device unconfirmed."""


def _names(unsafe: dict[str, str]) -> str:
    return ", ".join(sorted(unsafe))


def report_left_unsafe(unsafe: dict[str, str]) -> None:
    """The loud lines on stderr for devices left unconfirmed."""
    for name, problem in sorted(unsafe.items()):
        print(
            f"kilnctl: !!! LEFT UNSAFE: {name}: safe state NOT confirmed ({problem}). "
            f"Heat or current may still be ON: run `kilnctl safe {name}` or switch it off "
            "at the device.",
            file=sys.stderr,
            flush=True,
        )


async def stay_until_safe(
    keeper: SafeKeeper,
    queue: asyncio.Queue[Event],
    show: Callable[[Event], None],
    ask: Callable[[str], Awaitable[str]],
) -> bool:
    """Wait until `keeper` holds no device, showing the engine's events (`queue`) as they
    come; True then. False when the operator chose to leave devices unconfirmed (after
    the loud report). `ask(question)` reads the operator's answer ("abort" on EOF)."""
    loop = asyncio.get_running_loop()
    leave = asyncio.Event()
    armed = False
    """After a Ctrl-C: a second one leaves. An answer other than 'leave' disarms it; EOF
    on stdin (the answer "abort") does not, so Ctrl-C twice works without a terminal."""

    async def question() -> None:
        nonlocal armed
        answer = await ask(
            f"\n{_names(keeper.unsafe_devices())} not confirmed safe: type 'leave' (or Ctrl-C "
            "again) to exit leaving it so, Enter to keep trying: "
        )
        if answer in ("leave", "l"):
            leave.set()
        elif answer != "abort":
            armed = False

    asking: list[asyncio.Task[None]] = []

    def on_sigint() -> None:
        nonlocal armed
        if armed:
            leave.set()
            return
        armed = True
        asking.append(loop.create_task(question()))

    def on_terminate(signum: signal.Signals) -> None:
        print(
            f"kilnctl: {signum.name}: not exiting while {_names(keeper.unsafe_devices())} "
            "may be live",
            file=sys.stderr,
            flush=True,
        )

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        for signum in signals[1:]:
            loop.add_signal_handler(signum, on_terminate, signum)
    try:
        unsafe = keeper.unsafe_devices()
        if unsafe:  # said once the signals are ours: a Ctrl-C answering it is caught
            print(
                f"kilnctl: not exiting: {_names(unsafe)} not confirmed safe; retrying until "
                "the safe state is read back (Ctrl-C to choose)",
                file=sys.stderr,
                flush=True,
            )
        while not leave.is_set():
            changed = keeper.changed()  # taken before looking: no change slips between
            if not keeper.unsafe_devices():
                break
            getter = loop.create_task(queue.get())
            others = {loop.create_task(changed.wait()), loop.create_task(leave.wait())}
            await asyncio.wait({getter, *others}, return_when=asyncio.FIRST_COMPLETED)
            for waiter in others:
                waiter.cancel()
            if getter.cancel():
                continue
            show(getter.result())
        while not queue.empty():
            show(queue.get_nowait())
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        for task in asking:
            task.cancel()
    unsafe = keeper.unsafe_devices()
    if unsafe:
        report_left_unsafe(unsafe)
        return False
    return True


def stderr_lines() -> Callable[[Event], None]:
    """`show` for commands without a run console: each event as its line on stderr."""
    lines = EventLines()

    def show(event: Event) -> None:
        line = lines.line(event.to_dict())
        if line:
            print(line, file=sys.stderr, flush=True)

    return show


async def leave_on_ctrl_c(question: str) -> str:
    """`ask` for commands that read no stdin: their operator's Ctrl-C is the choice."""
    return "leave"


async def keep_at_it(keeper: SafeKeeper, queue: asyncio.Queue[Event]) -> bool:
    """stay_until_safe for a command with no run console (tune, safe --wait): the events
    of `queue` (where the keeper's go) as lines on stderr; Ctrl-C leaves."""
    return await stay_until_safe(keeper, queue, stderr_lines(), leave_on_ctrl_c)
