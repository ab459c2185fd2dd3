"""Faraday's law for the plating line (docs/process.md table).

thickness µm = 100 · Ah · ECE (g/Ah) · efficiency / (density (g/cm³) · area (dm²))

The factor 100: 1 dm² = 100 cm², and g / (g/cm³ · cm²) = cm = 10⁴ µm, so
µm = Ah·ECE·eff / (density · 100·area) · 10⁴ = 100 · Ah·ECE·eff / (density · area).
"""

from __future__ import annotations

from kilnctl.recipes.models import Deposit

# Electrochemical equivalent by bath chemistry; gold and copper from cyanide are the
# monovalent ions (a wrong valence would predict a third / half of the real deposit).
ECE_G_PER_AH: dict[Deposit, float] = {
    Deposit.NICKEL: 1.095,
    Deposit.COPPER_ACID: 1.186,
    Deposit.COPPER_CYANIDE: 2.371,
    Deposit.SILVER: 4.025,
    Deposit.GOLD: 7.356,
}

DENSITY_G_PER_CM3: dict[Deposit, float] = {
    Deposit.NICKEL: 8.9,
    Deposit.COPPER_ACID: 8.96,
    Deposit.COPPER_CYANIDE: 8.96,
    Deposit.SILVER: 10.5,
    Deposit.GOLD: 19.3,
}

# Cathode efficiency defaults: the top of the Watts range for nickel (which reproduces the
# docs/process.md figure of ≈ 5.1 Ah for 5 µm on 12 dm²), mid-range where the range is wide
# (cyanide copper 0.3–0.6, gold 0.3–0.7: calibrate per bath with the recipe's `efficiency`).
DEFAULT_EFFICIENCY: dict[Deposit, float] = {
    Deposit.NICKEL: 0.95,
    Deposit.COPPER_ACID: 0.98,
    Deposit.COPPER_CYANIDE: 0.45,
    Deposit.SILVER: 1.0,
    Deposit.GOLD: 0.5,
}


def _efficiency(deposit: Deposit, efficiency: float | None) -> float:
    value = DEFAULT_EFFICIENCY[deposit] if efficiency is None else efficiency
    if not 0.0 < value <= 1.0:
        raise ValueError(f"cathode efficiency must be in (0, 1], got {value}")
    return value


def _check_area(area_dm2: float) -> None:
    if not area_dm2 > 0.0:
        raise ValueError(f"plated area must be positive, got {area_dm2} dm²")


def thickness_um(
    deposit: Deposit, amp_hours: float, area_dm2: float, efficiency: float | None = None
) -> float:
    """Average deposit thickness in µm after `amp_hours` over `area_dm2`."""
    _check_area(area_dm2)
    eff = _efficiency(deposit, efficiency)
    return 100.0 * amp_hours * ECE_G_PER_AH[deposit] * eff / (DENSITY_G_PER_CM3[deposit] * area_dm2)


def amp_hours_for(
    deposit: Deposit, thickness_um: float, area_dm2: float, efficiency: float | None = None
) -> float:
    """Amp-hours needed to deposit `thickness_um` over `area_dm2`."""
    _check_area(area_dm2)
    eff = _efficiency(deposit, efficiency)
    return (
        thickness_um * DENSITY_G_PER_CM3[deposit] * area_dm2 / (100.0 * ECE_G_PER_AH[deposit] * eff)
    )


def seconds_for(amp_hours: float, current_a: float) -> float:
    """Time in s to pass `amp_hours` at a constant `current_a`."""
    if not current_a > 0.0:
        raise ValueError(f"current must be positive, got {current_a} A")
    return amp_hours / current_a * 3600.0
