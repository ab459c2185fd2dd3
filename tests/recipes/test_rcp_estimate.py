"""Planning estimates of `kilnctl show` against hand-computed values."""

from __future__ import annotations

import pytest

from kilnctl.recipes import estimate
from kilnctl.recipes.loader import parse_recipe
from kilnctl.recipes.models import FiringProfile, PlatingStep


def profile(segments: str) -> FiringProfile:
    recipe = parse_recipe(f'kind = "firing"\nname = "p"\nmax_temp = 1000\n{segments}')
    assert isinstance(recipe, FiringProfile)
    return recipe


def test_controlled_ramp_and_hold() -> None:
    # 20 -> 620 °C at 400 °C/h = 1.5 h, then 30 min hold
    est = estimate.estimate_firing(profile("[[segments]]\nrate = 400\ntarget = 620\nhold = 1800\n"))
    assert est.segments[0].ramp_s == pytest.approx(5400)
    assert est.duration_s == pytest.approx(7200)
    assert est.trajectory == [(0.0, 20.0), (5400.0, 620.0), (7200.0, 620.0)]


def test_free_cooling_is_calibrated_790_to_500_in_one_hour() -> None:
    segs = '[[segments]]\nrate = "max"\ntarget = 790\n[[segments]]\nrate = "max"\ntarget = 500\n'
    est = estimate.estimate_firing(profile(segs), start_c=790)
    assert est.segments[1].ramp_s == pytest.approx(3600)
    assert est.segments[1].on_time_s == 0
    # the plotted curve runs from 790 down to 500 through the exponential
    assert est.trajectory[-1] == pytest.approx((3600.0, 500.0))


def test_controlled_cooling_no_faster_than_free_cooling() -> None:
    # asking for 1000 °C/h down from 790 to 500: the kiln cannot, free cooling takes 1 h
    segs = "[[segments]]\nrate = 1000\ntarget = 500\n"
    est = estimate.estimate_firing(profile(segs), start_c=790)
    assert est.segments[0].ramp_s == pytest.approx(3600)


def test_energy_is_kw_times_on_time() -> None:
    # full power 20 -> 520 °C: 0.5 h on; hold 1 h at 520 °C at 0.5 × 500/770 duty
    segs = '[[segments]]\nrate = "max"\ntarget = 520\nhold = "1 h"\n'
    est = estimate.estimate_firing(profile(segs), power_kw=2.0)
    on_h = 0.5 + 0.5 * 500 / 770
    assert est.on_time_s == pytest.approx(on_h * 3600)
    assert est.energy_kwh == pytest.approx(2.0 * on_h)


def test_current_step_estimates() -> None:
    step = PlatingStep.model_validate(
        {"name": "n", "kind": "electro", "tank": "t", "current": "10 A", "end": {"amp_hours": 1}}
    )
    est = estimate.estimate_step(step, None)
    assert (est.current_a, est.amp_hours, est.duration_s) == (10.0, 1.0, 360.0)
