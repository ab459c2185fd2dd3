"""What `kilnctl safe` reports per device: confirmed or not, and the state read back
after safe(): a controller's setpoint and output %, a rectifier's output on/off and
current setpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from drivers.errors import DeviceError
from kilnctl.clock import Clock

SETTLE_READS = 5
"""Reads (a control period apart) a controller gets to show its output at 0 %: it acts on
a new setpoint at its next control update, not at the write."""


@dataclass(frozen=True)
class SafeReport:
    """One device's safe state. `confirmed`: safe() read the safe state back."""

    device: str
    confirmed: bool
    problem: str = ""
    """Why it is not confirmed, or why the state could not be read after it was."""
    sp_c: float | None = None
    pv_c: float | None = None
    output_pct: float | None = None
    output_on: bool | None = None
    amps_setpoint: float | None = None
    amps: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SafeReport:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})

    def line(self) -> str:
        """One line for the terminal."""
        if not self.confirmed:
            return (
                f"{self.device}: NOT confirmed safe: {self.problem} "
                "(heat or current may still be on)"
            )
        state = []
        if self.sp_c is not None:
            state.append(f"SP {self.sp_c:.1f} °C")
        if self.output_pct is not None:
            state.append(f"output {self.output_pct:.1f} %")
        if self.output_on is not None:
            state.append(f"output {'ON' if self.output_on else 'off'}")
        if self.amps_setpoint is not None:
            state.append(f"current setpoint {self.amps_setpoint:.2f} A")
        extra = []
        if self.pv_c is not None:
            extra.append(f"PV {self.pv_c:.1f} °C")
        if self.amps is not None:
            extra.append(f"{self.amps:.2f} A")
        text = f"{self.device}: safe, confirmed by read-back"
        if state:
            text += ": " + ", ".join(state)
        if extra:
            text += f" ({', '.join(extra)})"
        if self.problem:
            text += f"; {self.problem}"
        return text


async def read_safe_state(
    name: str, device: Any, clock: Clock, period_s: float, problem: str | None
) -> SafeReport:
    """The report of a device after safe(): `problem` None when safe() confirmed it."""
    if problem is not None:
        return SafeReport(name, False, problem)
    try:
        reading = await device.read()
        for _ in range(SETTLE_READS):
            if getattr(reading, "output_pct", 0.0) <= 0.0:
                break
            await clock.sleep(period_s)
            reading = await device.read()
    except DeviceError as exc:
        return SafeReport(name, True, f"state not readable after: {exc}")
    if hasattr(reading, "output_on"):
        return SafeReport(
            name,
            True,
            output_on=bool(reading.output_on),
            amps_setpoint=reading.amps_setpoint,
            amps=reading.amps,
        )
    output = float(reading.output_pct)
    note = f"output still {output:.1f} %: check the controller" if output > 0 else ""
    return SafeReport(name, True, note, sp_c=reading.sp_c, pv_c=reading.pv_c, output_pct=output)
