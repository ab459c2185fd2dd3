"""Comms-loss policy shared by every unit: a few consecutive device errors hold the
schedule (alarm comms_loss); errors lasting longer stop the run with devices safe."""

from __future__ import annotations

from enum import StrEnum

from drivers.errors import DeviceError
from kilnctl.engine.runtime import RunAborted, RunContext


class Link(StrEnum):
    OK = "ok"
    RETRYING = "retrying"
    HOLD = "hold"


class CommsWatch:
    """Counts consecutive errors of one device and raises/clears the comms alarms."""

    def __init__(self, ctx: RunContext, source: str) -> None:
        self.ctx = ctx
        self.source = source
        self.errors = 0
        self._first_error_t: float | None = None

    def ok(self) -> None:
        if self.errors:
            self.ctx.alarms.clear(self.source, "comms_loss")
        self.errors = 0
        self._first_error_t = None

    def failed(self, exc: DeviceError) -> Link:
        """Record an error; raises RunAborted("failed") once the device is lost too long."""
        s = self.ctx.settings
        t = self.ctx.clock.now()
        self.errors += 1
        if self._first_error_t is None:
            self._first_error_t = t
        if t - self._first_error_t >= s.comms_stop_s:
            self.ctx.alarms.raise_alarm(self.source, "comms_lost", str(exc))
            raise RunAborted(
                f"{self.source}: no answer for {t - self._first_error_t:.0f} s: {exc}",
                outcome="failed",
            )
        if self.errors >= s.comms_error_limit:
            self.ctx.alarms.raise_alarm(self.source, "comms_loss", f"{self.errors} errors: {exc}")
            return Link.HOLD
        return Link.RETRYING
