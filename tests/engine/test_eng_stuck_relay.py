"""The stuck-relay rule against the thermal lag of a kiln whose heat was just cut: it goes on
rising, ever more slowly (a pause at the PV during a max-rate ramp raised a false critical
`stuck_relay` and cut the power); a welded relay keeps it climbing steadily."""

from __future__ import annotations

import math

from kilnctl.engine.interlocks import KilnLimits, _IdleWindow, stuck_relay_rise


def first_flag(pv_at: object, seconds: int = 600) -> float | None:
    lim, idle = KilnLimits(), _IdleWindow()
    for t in range(seconds):
        if stuck_relay_rise(idle, float(t), pv_at(t), 0.0, lim) is not None:  # type: ignore[operator]
            return float(t)
    return None


def test_the_overshoot_after_the_heat_is_cut_is_no_stuck_relay() -> None:
    # up 8 °C over the next minutes with a 30 s lag: more than the 3 °C rule at first
    assert first_flag(lambda t: 466.0 + 8.0 * (1 - math.exp(-t / 30.0))) is None


def test_a_welded_relay_is_found_once_past_the_lag() -> None:
    # a kiln at 850 °C on a welded relay climbs ~7 °C a minute (the simulator's kiln):
    # found as soon as the output has been 0 for the settle time (90 s)
    flagged = first_flag(lambda t: 850.0 + 7.0 * t / 60.0)
    assert flagged is not None and flagged <= 91
