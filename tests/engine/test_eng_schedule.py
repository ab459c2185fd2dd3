"""The travelling setpoint, against hand-computed trajectories (no clock, no devices)."""

from __future__ import annotations

import pytest

from kilnctl.engine.schedule import DONE, HOLD, RAMP, FiringSchedule, ScheduleSegment


def seg(rate: float | None, target: float, hold: float = 0.0, **kw: float) -> ScheduleSegment:
    return ScheduleSegment(rate_c_per_h=rate, target_c=target, hold_s=hold, **kw)


def follow(s: FiringSchedule, until: float, step: float = 1.0, start: float = 0.0) -> list[float]:
    """Advance with the PV exactly on the setpoint; returns the setpoints."""
    out = []
    t = start
    while t < until - 1e-9:
        t = min(until, t + step)
        out.append(s.advance(t, s.sp_c))
    return out


def test_ramp_300_per_hour_from_20_reaches_790_at_9240_s() -> None:
    s = FiringSchedule([seg(300, 790, hold=600)], catchup_band_c=None)
    s.start(0.0, 20.0)
    assert s.advance(3600.0, None) == pytest.approx(320.0)
    assert s.advance(9239.0, None) == pytest.approx(790 - 300 / 3600)
    assert s.state.phase == RAMP
    assert s.advance(9240.0, None) == pytest.approx(790.0)
    assert s.state.phase == HOLD
    s.advance(9240.0 + 599.0, 790.0)
    assert not s.done
    s.advance(9240.0 + 600.0, 790.0)
    assert s.done


def test_multi_segment_crossing_in_one_advance_and_cooling() -> None:
    # 600 °C/h to 620 (1 h from 20), hold 10 min, cool at 300 °C/h to 500 (24 min)
    s = FiringSchedule([seg(600, 620, 600), seg(300, 500)], catchup_band_c=None)
    s.start(0.0, 20.0)
    assert s.advance(3600 + 600 + 12 * 60, None) == pytest.approx(560.0)
    assert s.state.index == 1 and s.heating is False
    assert s.rate_c_per_h == pytest.approx(-300.0)
    s.advance(3600 + 600 + 24 * 60, None)
    assert s.done and s.sp_c == pytest.approx(500.0)


def test_max_rate_jumps_and_hold_starts_when_pv_arrives() -> None:
    s = FiringSchedule([seg(None, 790, 120)], reach_band_c=2.0)
    s.start(0.0, 20.0)
    assert s.advance(1.0, 25.0) == 790.0
    assert s.state.phase == RAMP  # kiln still far below: the hold has not begun
    s.advance(1800.0, 787.0)
    assert s.state.phase == RAMP
    s.advance(1801.0, 788.5)
    assert s.state.phase == HOLD
    s.advance(1801.0 + 119.0, 790.0)
    assert not s.done
    s.advance(1801.0 + 120.0, 790.0)
    assert s.done


def test_guaranteed_soak_counts_only_inside_the_band() -> None:
    s = FiringSchedule([seg(None, 800, 60, soak_band_c=5.0)])
    s.start(0.0, 800.0)
    s.advance(0.0, 800.0)
    assert s.state.phase == HOLD
    s.advance(30.0, 801.0)  # 30 s counted
    s.advance(100.0, 700.0)  # door open: 70 s not counted
    assert s.state.hold_elapsed_s == pytest.approx(30.0)
    assert s.state.hold_wall_s == pytest.approx(100.0)
    s.advance(129.0, 799.0)  # +29 s counted = 59
    assert not s.done
    s.advance(130.0, 799.0)
    assert s.done


def test_catch_up_waits_while_pv_lags() -> None:
    s = FiringSchedule([seg(360, 1000)], catchup_band_c=10.0)  # 0.1 °C/s
    s.start(0.0, 20.0)
    assert s.advance(100.0, 30.0) == pytest.approx(30.0)
    assert s.advance(300.0, 35.0) == pytest.approx(50.0)  # PV ahead: moves 20 °C
    # lag is now 50 - 35 = 15 > 10: the schedule waits
    assert s.advance(400.0, 38.0) == pytest.approx(50.0)
    assert s.state.waiting
    assert s.advance(500.0, 45.0) == pytest.approx(60.0)  # lag 5: moves 100 s × 0.1
    assert not s.state.waiting


def test_seek_start_skips_ramp_portions_below_pv() -> None:
    segments = [seg(100, 200), seg(300, 790, 60)]
    s = FiringSchedule(segments, catchup_band_c=None)
    s.start(0.0, 400.0, seek=True)
    assert s.state.index == 1 and s.sp_c == 400.0
    # from 400 to 790 at 300 °C/h: 4680 s, not the 9240 s from 20 °C
    s.advance(4680.0, None)
    assert s.state.phase == HOLD
    cold = FiringSchedule(segments, catchup_band_c=None)
    cold.start(0.0, 400.0, seek=False)
    assert cold.state.index == 0 and cold.rate_c_per_h == pytest.approx(-100.0)


def test_start_taking_over_a_held_setpoint_ramps_from_it_not_from_a_low_pv() -> None:
    # kiln held at 790 by a standby; the door was just opened to load: PV 700
    s = FiringSchedule([seg(300, 760), seg(60, 800, 120)], catchup_band_c=None)
    s.start(0.0, 700.0, from_c=790.0)
    assert s.state.index == 1 and s.sp_c == 790.0  # 760 is below the held 790: sought past
    assert s.advance(60.0, 700.0) == pytest.approx(791.0)  # 60 °C/h from 790, no dip


def test_seek_start_keeps_a_segment_with_a_hold() -> None:
    s = FiringSchedule([seg(100, 200, 600), seg(300, 790)])
    s.start(0.0, 400.0)
    assert s.state.index == 0


def test_skip_moves_on_without_a_setpoint_jump() -> None:
    s = FiringSchedule([seg(300, 790, 600), seg(300, 500)], catchup_band_c=None)
    s.start(0.0, 20.0)
    before = s.advance(3600.0, None)  # 320 °C
    s.skip()
    assert s.state.index == 1 and s.sp_c == pytest.approx(before)
    assert s.advance(3600.0 + 360.0, None) == pytest.approx(before + 30.0)  # heads to 500
    s.skip()
    assert s.done


def test_pause_freezes_setpoint_and_hold() -> None:
    s = FiringSchedule([seg(300, 790, 600)], catchup_band_c=None)
    s.start(0.0, 20.0)
    s.advance(3600.0, None)
    s.pause()
    assert s.advance(7200.0, None) == pytest.approx(320.0)
    s.resume()
    assert s.advance(10800.0, None) == pytest.approx(620.0)  # only the unpaused hour counts


def test_extend_hold_adds_time_and_remaining_estimate() -> None:
    s = FiringSchedule([seg(None, 790, 120)])
    s.start(0.0, 790.0)
    s.advance(0.0, 790.0)
    s.advance(100.0, 790.0)
    assert s.remaining_s() == pytest.approx(20.0)
    assert s.extend(60.0)
    assert s.remaining_s() == pytest.approx(80.0)
    s.advance(120.0, 790.0)
    assert not s.done
    s.advance(180.0, 790.0)
    assert s.done and not s.extend(10.0)


def test_setpoint_never_exceeds_max_temp() -> None:
    s = FiringSchedule([seg(None, 900)], max_temp_c=850.0)
    s.start(0.0, 20.0)
    assert s.advance(1.0, 20.0) == 850.0


def test_state_round_trips_through_a_checkpoint() -> None:
    s = FiringSchedule([seg(300, 790, 600)], catchup_band_c=None)
    s.start(0.0, 20.0)
    s.advance(1000.0, None)
    copy = FiringSchedule([seg(300, 790, 600)], catchup_band_c=None)
    copy.restore(s.to_dict())
    assert copy.advance(2000.0, None) == s.advance(2000.0, None)


def test_done_schedule_reports_done_phase() -> None:
    s = FiringSchedule([seg(None, 100)])
    s.start(0.0, 150.0)
    s.advance(1.0, 99.0)
    assert s.state.phase == DONE
    assert follow(s, 5.0, start=1.0) == [100.0] * 4
