"""Faraday's law against hand-computed values (docs/process.md table)."""

from __future__ import annotations

import pytest

from kilnctl.recipes import faraday
from kilnctl.recipes.models import Deposit


def test_nickel_5um_on_12dm2_is_about_5_1_ah_and_8_6_min_at_36a() -> None:
    # amp-hours = thickness · density · area / (100 · ECE · efficiency)
    #           = 5 µm · 8.9 g/cm³ · 12 dm² / (100 · 1.095 g/Ah · 0.95)
    #           = 534 / 104.025 = 5.1334 Ah
    ah = faraday.amp_hours_for(Deposit.NICKEL, 5.0, 12.0)
    assert ah == pytest.approx(534 / 104.025, rel=1e-9)
    assert round(ah, 1) == 5.1
    # 3 A/dm² × 12 dm² = 36 A; 5.1334 Ah / 36 A = 0.14259 h = 8.556 min
    seconds = faraday.seconds_for(ah, 3.0 * 12.0)
    assert seconds / 60 == pytest.approx(8.556, abs=0.001)
    assert round(seconds / 60, 1) == 8.6


def test_thickness_inverts_amp_hours() -> None:
    for deposit in Deposit:
        ah = faraday.amp_hours_for(deposit, 2.5, 7.0, efficiency=0.8)
        assert faraday.thickness_um(deposit, ah, 7.0, efficiency=0.8) == pytest.approx(2.5)


def test_gold_flash_18s_at_1_2_a_dm2() -> None:
    # charge per dm² = 1.2 A/dm² · 18 s / 3600 = 0.006 Ah/dm²
    # thickness = 100 · 0.006 · 7.356 · 0.5 / 19.3 = 0.11434 µm (docs/process.md: 0.08–0.13 µm)
    um = faraday.thickness_um(Deposit.GOLD, 1.2 * 18 / 3600, 1.0)
    assert um == pytest.approx(100 * 0.006 * 7.356 * 0.5 / 19.3)
    assert 0.08 <= um <= 0.13


def test_cyanide_copper_strike() -> None:
    # 1.5 A/dm² for 2 min = 0.05 Ah/dm² at 45 %:
    # 100 · 0.05 · 2.371 · 0.45 / 8.96 = 0.5954 µm
    um = faraday.thickness_um(Deposit.COPPER_CYANIDE, 0.05, 1.0)
    assert um == pytest.approx(0.5954, abs=1e-4)


def test_valence_matters_gold_from_cyanide_is_au_plus() -> None:
    # Au+ : 196.97 g/mol / 26.801 Ah/mol = 7.349 g/Ah; Au3+ would be a third of that.
    assert faraday.ECE_G_PER_AH[Deposit.GOLD] == pytest.approx(196.967 / 26.801, rel=2e-3)
    assert faraday.ECE_G_PER_AH[Deposit.COPPER_CYANIDE] == pytest.approx(
        2 * faraday.ECE_G_PER_AH[Deposit.COPPER_ACID], rel=1e-3
    )


def test_explicit_efficiency_overrides_default() -> None:
    default = faraday.amp_hours_for(Deposit.NICKEL, 5.0, 12.0)
    lower = faraday.amp_hours_for(Deposit.NICKEL, 5.0, 12.0, efficiency=0.5)
    assert lower == pytest.approx(default * 0.95 / 0.5)


@pytest.mark.parametrize(("area", "eff"), [(0.0, None), (-1.0, None), (1.0, 0.0), (1.0, 1.5)])
def test_bad_inputs(area: float, eff: float | None) -> None:
    with pytest.raises(ValueError):
        faraday.amp_hours_for(Deposit.NICKEL, 5.0, area, efficiency=eff)
