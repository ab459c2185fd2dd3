"""Safe means confirmed: the devices whose safe state has not been read back, kept and
retried until it is.

Every way a run ends puts each device it drove safe through `SafeKeeper.make_safe`. A
device whose safe() fails (a dead line, CRC errors, garbage, a refused write) is not given
up: the keeper holds it as *unsafe*, raises the critical `unsafe_device` alarm on the record
of the run that left it, and retries safe() with capped backoff on the engine's clock until
the driver reads the safe state back (drivers/safe_state.py); then it clears the alarm.
One keeper per engine. While it holds a device no run may start on it; `kilnctl run` does
not exit before the keeper is empty (unless the operator says so), the service keeps
retrying for as long as it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from drivers.errors import DeviceError
from kilnctl.clock import Clock
from kilnctl.engine.alarms import ALARM_SPECS, AlarmBook
from kilnctl.engine.messages import AlarmCleared, AlarmRaised, Event, Notice

log = logging.getLogger(__name__)

UNSAFE_CODE = "unsafe_device"
"""Alarm code of a device whose safe state is not confirmed (alarms.ALARM_SPECS)."""

SAFE_ATTEMPTS = 3
"""safe() is tried this often at once before a device is handed to the retry loop: one
write lost on a flaky line must not leave a kiln heating for a whole backoff."""
SAFE_RETRY_GAP_S = 0.2
"""Seconds between those attempts, on the keeper's clock (a line that just dropped may
reconnect in between)."""


async def try_safe(
    device: Any,
    why: str,
    attempts: int = SAFE_ATTEMPTS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    first_attempt: int = 1,
) -> str | None:
    """Call device.safe() up to `attempts` times, `sleep`ing SAFE_RETRY_GAP_S between;
    None once it returned (the driver read the safe state back), else the last failure.
    `first_attempt`: the number the log gives the first of them (the keeper's retries go
    on counting from the attempts before).
    Never raises: a caller in a `finally` must not have its own error masked, and a driver
    bug must not stop the other devices' safe()."""
    name = getattr(device, "name", device)
    problem = ""
    for attempt in range(first_attempt, first_attempt + attempts):
        try:
            await device.safe()
            return None
        except DeviceError as exc:
            problem = str(exc)
        except Exception as exc:
            log.exception("safe() of %s raised", name)
            problem = f"{type(exc).__name__}: {exc}"
        log.info("making %s safe (%s), attempt %d failed: %s", name, why, attempt, problem)
        if attempt < first_attempt + attempts - 1:
            await sleep(SAFE_RETRY_GAP_S)
    return problem


async def make_safe(device: Any, why: str) -> str | None:
    """try_safe, logging a device left unconfirmed (for callers without a keeper)."""
    problem = await try_safe(device, why)
    if problem is not None:
        log.error("could not make %s safe (%s): %s", getattr(device, "name", device), why, problem)
    return problem


@dataclass
class UnsafeDevice:
    """A device held by the keeper: why it was being made safe and how the retries go."""

    name: str
    device: Any
    why: str
    problem: str
    since: float
    """Clock time (s) it was first found unconfirmed."""
    run_id: str
    emit: Callable[[Event], None]
    """Where its alarm goes: the record of the run that left it (journal + subscribers)."""
    attempts: int = SAFE_ATTEMPTS
    """safe() calls so far (SAFE_ATTEMPTS at once before it was held): the log's attempt
    numbers, the retry notices' and the release's count are all this one count."""
    next_try: float = 0.0


class SafeKeeper:
    """Holds the devices whose safe state is unconfirmed and retries them.

    `publish` hands an event to subscribers only (per-retry lines are not journaled);
    `retry_min_s`/`retry_max_s` bound the backoff between retries, in clock seconds.
    """

    def __init__(
        self,
        clock: Clock,
        publish: Callable[[Event], None],
        *,
        retry_min_s: float = 1.0,
        retry_max_s: float = 4.0,
    ) -> None:
        self.clock = clock
        self._publish = publish
        self.retry_min_s = retry_min_s
        self.retry_max_s = max(retry_max_s, retry_min_s)
        self._held: dict[str, UnsafeDevice] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ state

    def unsafe_devices(self) -> dict[str, str]:
        """Device name -> why its safe state is not confirmed (the last failure)."""
        return {name: held.problem for name, held in self._held.items()}

    async def wait_all_safe(self) -> None:
        """Return once no device is held (at once when none is)."""
        while self._held:
            await self.changed().wait()

    def changed(self) -> asyncio.Event:
        """An event set at the next change (a device held, retried or confirmed); take it
        before looking at the state, so no change falls in between."""
        return self._changed

    def _signal_change(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ making safe

    async def make_safe(
        self,
        device: Any,
        why: str,
        *,
        name: str | None = None,
        run_id: str = "",
        emit: Callable[[Event], None] | None = None,
    ) -> bool:
        """Put `device` safe now; True once confirmed. Otherwise the device is held and
        retried in the background, its alarm raised through `emit` (default: publish),
        and False is returned. A device already held is left to the retry loop (another
        attempt now would only add a timeout to the run's end). Never raises."""
        name = name or str(getattr(device, "name", device))
        if name in self._held:
            return False
        async with self._lock(name):
            if name in self._held:
                return False
            problem = await try_safe(device, why, sleep=self.clock.sleep)
        if problem is None:
            return True
        self._hold(
            UnsafeDevice(
                name, device, why, problem, self.clock.now(), run_id, emit or self._publish
            )
        )
        return False

    async def confirm_now(self, device: Any, why: str, *, name: str | None = None) -> str | None:
        """Try now, held or not (an operator asks): None once confirmed (a held device is
        released, its alarm cleared); else why not (the device is held and retried)."""
        name = name or str(getattr(device, "name", device))
        held = self._held.get(name)
        if held is None:
            if await self.make_safe(device, why, name=name):
                return None
            held = self._held.get(name)
            return held.problem if held is not None else None
        async with self._lock(name):
            problem = await try_safe(
                held.device, why, sleep=self.clock.sleep, first_attempt=held.attempts + 1
            )
        held.attempts += SAFE_ATTEMPTS if problem is not None else 1
        if name not in self._held:  # the retry loop confirmed it meanwhile
            return None
        if problem is None:
            self._release(held, self.clock.now())
            return None
        held.problem = problem
        return problem

    def _lock(self, name: str) -> asyncio.Lock:
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = asyncio.Lock()
        return lock

    def _hold(self, held: UnsafeDevice) -> None:
        log.error("could not make %s safe (%s): %s; retrying", held.name, held.why, held.problem)
        held.next_try = held.since + self.retry_min_s
        self._held[held.name] = held
        spec = ALARM_SPECS[UNSAFE_CODE]
        t = self.clock.wall_time()
        alarm_id = AlarmBook.alarm_id(held.name, UNSAFE_CODE)
        held.emit(
            AlarmRaised(
                held.run_id,
                t,
                alarm_id,
                held.name,
                UNSAFE_CODE,
                spec.severity.value,
                spec.action.value,
                f"{held.name}: {spec.title}: {held.problem}",
            )
        )
        held.emit(
            Notice(
                held.run_id,
                t,
                held.name,
                "unsafe",
                f"could not make {held.name} safe ({held.why}): {held.problem}; "
                "retrying until its safe state is read back",
            )
        )
        self._signal_change()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._retry_loop())

    async def _retry_loop(self) -> None:
        while self._held and not self._stopping:
            now = self.clock.now()
            for held in [h for h in self._held.values() if h.next_try <= now]:
                await self._retry(held)
            if self._held:
                due = min(h.next_try for h in self._held.values())
                # wake at least every retry_min_s: a device held meanwhile is due by then
                await self.clock.sleep_until(min(due, self.clock.now() + self.retry_min_s))

    async def _retry(self, held: UnsafeDevice) -> None:
        async with self._lock(held.name):
            # numbered on from the attempts before: the log said "attempt 1 failed" at
            # every retry, as if the keeper never got further
            problem = await try_safe(
                held.device, held.why, attempts=1, first_attempt=held.attempts + 1
            )
        if self._held.get(held.name) is not held:  # confirmed meanwhile (confirm_now)
            return
        now = self.clock.now()
        held.attempts += 1
        if problem is None:
            self._release(held, now)
            return
        held.problem = problem
        retries = held.attempts - SAFE_ATTEMPTS
        backoff = min(self.retry_min_s * 2 ** (retries - 1), self.retry_max_s)
        held.next_try = now + backoff
        self._publish(
            Notice(
                held.run_id,
                self.clock.wall_time(),
                held.name,
                "safe_retry",
                f"{held.name} still not confirmed safe (attempt {held.attempts}, "
                f"{now - held.since:.0f} s): {problem}; next try in {backoff:.0f} s",
            )
        )
        self._signal_change()

    def _release(self, held: UnsafeDevice, now: float) -> None:
        del self._held[held.name]
        unsafe_s = now - held.since
        log.info("%s confirmed safe after %d attempts (%.0f s)", held.name, held.attempts, unsafe_s)
        t = self.clock.wall_time()
        alarm_id = AlarmBook.alarm_id(held.name, UNSAFE_CODE)
        held.emit(AlarmCleared(held.run_id, t, alarm_id, held.name, UNSAFE_CODE))
        held.emit(
            Notice(
                held.run_id,
                t,
                held.name,
                "safe",
                f"{held.name} confirmed safe (read back) after {held.attempts} attempts, "
                f"{unsafe_s:.0f} s unconfirmed",
            )
        )
        self._signal_change()

    async def stop(self) -> dict[str, str]:
        """Stop retrying (the engine is closing); returns what is left unconfirmed, which
        is logged as an error."""
        # the flag too: a cancel can be lost in a device request (PlantWatch.stop says how)
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for name, problem in self.unsafe_devices().items():
            log.error("LEFT UNSAFE: %s: safe state not confirmed: %s", name, problem)
        return self.unsafe_devices()
