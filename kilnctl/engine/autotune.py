"""Relay autotune (Åström-Hägglund): bang-bang the output around a setpoint, measure the
oscillation's period and amplitude, and propose PID gains by Ziegler-Nichols.

Ultimate gain Ku = 4·d / (π·a) for a relay of half-swing d (%) and PV half-amplitude a (°C);
ultimate period Tu. Classic ZN PID: kp = 0.6·Ku, Ti = Tu/2, Td = Tu/8 (ki = kp/Ti, kd = kp·Td).
The controller must be in direct mode (set_output); its output watchdog, if it has one, is
armed first; it is made safe at the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from drivers.protocols import TemperatureController
from kilnctl.clock import Clock
from kilnctl.engine.output_watchdog import arm_watchdog
from kilnctl.engine.pid import PidGains
from kilnctl.engine.safekeeper import SafeKeeper, make_safe


@dataclass(frozen=True)
class TuneResult:
    """What the relay test measured and the gains it proposes."""

    setpoint_c: float
    period_s: float
    amplitude_c: float
    ultimate_gain: float
    cycles: int
    gains: PidGains


class TuneError(Exception):
    """The relay test found no usable oscillation (kiln cannot reach the setpoint, ...)."""


async def relay_autotune(
    controller: TemperatureController,
    clock: Clock,
    setpoint_c: float,
    *,
    bias_pct: float = 50.0,
    swing_pct: float = 50.0,
    hysteresis_c: float = 1.0,
    cycles: int = 4,
    period_s: float = 1.0,
    timeout_s: float = 6 * 3600.0,
    keeper: SafeKeeper | None = None,
) -> TuneResult:
    """Run the relay test; raises TuneError when no steady oscillation appears in time.
    The kiln is made safe at the end through `keeper` when given (held and retried until
    confirmed), else with a few attempts."""
    high = min(100.0, bias_pct + swing_pct)
    low = max(0.0, bias_pct - swing_pct)
    d = (high - low) / 2.0
    start = clock.now()
    output = 100.0
    crossings: list[float] = []  # times the PV rose through the setpoint
    peaks: list[float] = []
    troughs: list[float] = []
    hi_pv, lo_pv = -math.inf, math.inf
    reached = False
    try:
        # It writes the output like a direct firing: the module's watchdog must be armed.
        await arm_watchdog(controller)
        while clock.now() - start < timeout_s:
            pv = (await controller.read()).pv_c
            now = clock.now()
            if not reached:
                reached = pv >= setpoint_c  # heat up at full power first
                output = 100.0 if not reached else low
            elif output == high and pv > setpoint_c + hysteresis_c:
                output = low
                crossings.append(now)
                troughs.append(lo_pv)
                hi_pv = pv
            elif output == low and pv < setpoint_c - hysteresis_c:
                output = high
                peaks.append(hi_pv)
                lo_pv = pv
            hi_pv, lo_pv = max(hi_pv, pv), min(lo_pv, pv)
            await controller.set_output(output)
            # the first cycle is the approach transient: measure the ones after it
            if len(crossings) >= cycles + 2 and len(peaks) >= cycles + 1:
                break
            await clock.sleep(period_s)
        else:
            raise TuneError(
                f"no steady oscillation around {setpoint_c:.0f} °C within {timeout_s / 3600:.1f} h"
            )
    finally:
        if keeper is None:
            await make_safe(controller, "end of autotune")
        else:  # not confirmed: the keeper holds it and retries until it is
            await keeper.make_safe(controller, "end of autotune")
    used = crossings[-(cycles + 1) :]
    tu = (used[-1] - used[0]) / cycles
    amplitude = (sum(peaks[-cycles:]) / cycles - sum(troughs[-cycles:]) / cycles) / 2.0
    if amplitude <= 0 or tu <= 0:
        raise TuneError("the PV did not oscillate: check the kiln and its thermocouple")
    ku = 4.0 * d / (math.pi * amplitude)
    kp = 0.6 * ku
    ti, td = tu / 2.0, tu / 8.0
    gains = PidGains(kp=kp, ki=kp / ti, kd=kp * td, bias_pct=0.0)
    return TuneResult(setpoint_c, tu, amplitude, ku, cycles, gains)
