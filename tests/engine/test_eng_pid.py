"""The direct-mode PID: limits, anti-windup, derivative on measurement, feed-forward."""

from __future__ import annotations

import pytest

from kilnctl.engine.pid import Pid, PidGains


def test_output_is_clamped_and_the_integral_does_not_wind_up() -> None:
    pid = Pid(PidGains(kp=1.0, ki=0.1, kd=0.0, kff=0.0))
    for t in range(1000):  # 1000 s far below setpoint: saturated at 100 %
        assert pid.update(800.0, 20.0, float(t)) == 100.0
    # saturated the whole time: nothing was integrated, so nothing must unwind
    assert pid.integral == 0.0
    assert pid.update(800.0, 805.0, 1000.0) == 0.0  # −5 °C error: output off at once


def test_proportional_integral_and_derivative_terms_hand_computed() -> None:
    pid = Pid(PidGains(kp=2.0, ki=0.5, kd=10.0, kff=0.0, bias_pct=10.0))
    assert pid.update(100.0, 90.0, 0.0) == pytest.approx(10 + 2 * 10)  # no dt yet: no I, D
    # 1 s later, PV 92: P = 2·8, I = 0.5·8·1, D = −10·(2 °C/s)
    assert pid.update(100.0, 92.0, 1.0) == pytest.approx(10 + 16 + 4 - 20)


def test_setpoint_step_gives_no_derivative_kick() -> None:
    pid = Pid(PidGains(kp=1.0, ki=0.0, kd=100.0, kff=0.0, bias_pct=50.0))
    pid.update(100.0, 100.0, 0.0)
    assert pid.update(120.0, 100.0, 1.0) == pytest.approx(70.0)


def test_feed_forward_from_ramp_rate() -> None:
    pid = Pid(PidGains(kp=0.0, ki=0.0, kd=0.0, kff=0.1))
    assert pid.update(500.0, 500.0, 0.0, rate_c_per_h=300.0) == pytest.approx(30.0)


def test_reversed_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="reversed"):
        Pid(PidGains(), out_min=100.0, out_max=0.0)
