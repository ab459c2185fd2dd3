"""Riden RD60xx Modbus DC supplies (RD6006, RD6006P, RD6012, RD6012P, RD6018, RD6024) used
as small plating rectifiers, answering as one configurable model with that model's id and
scaling (community maps: Baldanos/rd6006 registers.md; ShayBox/Riden riden/register.py and
riden/riden.py, PR #8 for the RD6012P's current range).

| reg | meaning | scaling |
|---|---|---|
| 0 | model id: RD6006 60062, RD6006P 60065, RD6012 60121, RD6012P 60125, ... (MODELS) | |
| 1 / 2 | serial number high / low | |
| 3 | firmware version ×100 | |
| 4 / 5 | internal temperature °C: sign (1 = negative) / value | |
| 6 / 7 | internal temperature °F: sign / value | |
| 8 / 9 | voltage setpoint / current setpoint (R/W) | V, I scale |
| 10 / 11 | output voltage / output current | V, I scale |
| 12 / 13 | output power, 32-bit high / low | P scale |
| 14 | input voltage | V scale |
| 15 | keypad lock (0) | |
| 16 | protection: 0 none, 1 OVP, 2 OCP | |
| 17 | regulation: 0 CV, 1 CC | |
| 18 | output enable (R/W) | |
| 20 | RD6012P current range (R/W): 0 = 6 A, 1 = 12 A; 0 on other models | |
| 38 / 39 | amp-hours ×1000, 32-bit high / low | |
| 40 / 41 | watt-hours ×1000, 32-bit high / low | |
| 82 / 83 | M0 (active preset) OVP / OCP level (R/W) | V, I scale |

V scale: ×100 (RD6006, RD6012, RD6018, RD6024), ×1000 (RD6006P, RD6012P); I scale: ×1000
(RD6006), ×10000 (RD6006P; RD6012P on its 6 A range), ×1000 (RD6012P on its 12 A range),
×100 (RD6012, RD6018, RD6024); P scale ×1000 on the P models, else ×100. Other registers
below 120 read 0 (the presets' V / I at 80 / 81 and M1-M9 at 84-119 are not simulated);
addresses from 120 up answer exception 2. Writes go to 8, 9, 18, 20 (RD6012P), 82 and 83
only (others: exception 3); setpoints beyond the model's 60 V / rated current (on the
RD6012P: the range's 6 or 12 A) answer exception 3. Switching the RD6012P's range keeps the
current setpoint in amps, cut to the new range's rating.

Protection, as the real unit: when the output voltage reaches the OVP level or the output
current the OCP level, the output switches off and register 16 reads 1 (OVP) or 2 (OCP)
until the output is enabled again (which trips again at once if the cause remains).
Choices (the public register lists give addresses, not ranges): OVP settable 0..62 V and
OCP 0..(rated current + 0.2 A), both defaulting to that maximum, so they never trip
unless set lower; a V/I setpoint above the level is accepted and trips on enable.
The over_temperature fault trips the output off and shows 85 °C.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulators.device import SlaveException
from simulators.devices.registers import (
    SimulatedDevice,
    check_range,
    uint16_word,
    uint32_words,
)
from simulators.physics.plating import PlatingCell, PlatingParams


@dataclass(frozen=True)
class CurrentRange:
    """One current range of a model: its amps scale and rating."""

    amps_scale: int
    max_amps: float

    @property
    def max_ocp_a(self) -> float:
        """Highest OCP level accepted (and the default)."""
        return self.max_amps + 0.2


@dataclass(frozen=True)
class RidenModel:
    """Identity and scaling of one Riden model; `ranges` has one entry unless the model has
    a current-range register (RD6012P: index = register 20's value)."""

    model_id: int
    volts_scale: int
    power_scale: int
    ranges: tuple[CurrentRange, ...]
    max_volts: float = 60.0

    @property
    def max_ovp_v(self) -> float:
        """Highest OVP level accepted (and the default)."""
        return self.max_volts + 2.0

    @property
    def max_amps(self) -> float:
        """Rated current on the widest range."""
        return max(r.max_amps for r in self.ranges)


MODELS: dict[str, RidenModel] = {
    "RD6006": RidenModel(60062, 100, 100, (CurrentRange(1000, 6.0),)),
    "RD6006P": RidenModel(60065, 1000, 1000, (CurrentRange(10000, 6.0),)),
    "RD6012": RidenModel(60121, 100, 100, (CurrentRange(100, 12.0),)),
    "RD6012P": RidenModel(60125, 1000, 1000, (CurrentRange(10000, 6.0), CurrentRange(1000, 12.0))),
    "RD6018": RidenModel(60181, 100, 100, (CurrentRange(100, 18.0),)),
    "RD6024": RidenModel(60241, 100, 100, (CurrentRange(100, 24.0),)),
}

V_SET, I_SET, V_OUT, I_OUT = 8, 9, 10, 11
INPUT_VOLTS = 14
PROTECTION = 16
REGULATION = 17
OUTPUT = 18
CURRENT_RANGE = 20
AMP_HOURS = 38
WATT_HOURS = 40
OVP_LEVEL = 82
OCP_LEVEL = 83
ADDRESS_LIMIT = 120  # M9's OCP is 119 (registers.md)

SERIAL = 12345
FIRMWARE = 128
INPUT_V = 65.0
PROTECTION_CODES = {"OVP": 1, "OCP": 2}
"""Register 16 by PlatingCell.trip."""
"""The bench supply feeding the Riden (its 65 V input)."""


class Riden(SimulatedDevice):
    """A simulated Riden RD60xx driving a PlatingCell; faults: open_circuit, over_temperature."""

    def __init__(
        self,
        unit: int = 1,
        *,
        time_fn: Callable[[], float],
        seed: int = 0,
        model: str = "RD6006",
        current_range: int = 0,
        params: PlatingParams | None = None,
        **cell_params: Any,
    ) -> None:
        """`cell_params`: PlatingParams fields overriding `params` (or the model's defaults);
        `current_range`: the RD6012P's range at power-up (0 = 6 A, 1 = 12 A)."""
        if model not in MODELS:
            raise ValueError(f"unknown Riden model {model!r}; known: {', '.join(MODELS)}")
        self.model_name = model
        self.model = m = MODELS[model]
        if not 0 <= current_range < len(m.ranges):
            raise ValueError(
                f"{model}: current_range must be 0..{len(m.ranges) - 1}, got {current_range}"
            )
        self.current_range = current_range
        # A small rack in a beaker-sized tank: higher resistance than an industrial tank.
        params = params or PlatingParams(
            bath_resistance_ohm=0.5, max_current_a=m.max_amps, max_voltage_v=m.max_volts
        )
        self.cell = PlatingCell(dataclasses.replace(params, **cell_params), time_fn, seed)
        self.cell.set_protection(m.max_ovp_v, self.range.max_ocp_a)
        super().__init__(unit, self.cell)

    @property
    def range(self) -> CurrentRange:
        """The current range in use (the only one, unless the model has several)."""
        return self.model.ranges[self.current_range]

    def _sync(self) -> None:
        self.cell.sync()

    def _registers(self) -> dict[int, int]:
        m = self.model
        i_scale = self.range.amps_scale
        cell = self.cell
        op = cell.read()
        temp_c = cell.internal_temp_c()
        temp_f = temp_c * 9 / 5 + 32
        power_hi, power_lo = uint32_words(op.volts * op.amps, m.power_scale)
        ah_hi, ah_lo = uint32_words(cell.amp_hours, 1000)
        wh_hi, wh_lo = uint32_words(cell.watt_hours, 1000)
        return {
            0: m.model_id,
            1: SERIAL >> 16,
            2: SERIAL & 0xFFFF,
            3: FIRMWARE,
            4: 1 if temp_c < 0 else 0,
            5: uint16_word(abs(temp_c)),
            6: 1 if temp_f < 0 else 0,
            7: uint16_word(abs(temp_f)),
            V_SET: uint16_word(cell.voltage_limit_v, m.volts_scale),
            I_SET: uint16_word(cell.current_setpoint_a, i_scale),
            V_OUT: uint16_word(op.volts, m.volts_scale),
            I_OUT: uint16_word(op.amps, i_scale),
            12: power_hi,
            13: power_lo,
            INPUT_VOLTS: uint16_word(INPUT_V, m.volts_scale),
            PROTECTION: PROTECTION_CODES.get(cell.trip or "", 0),
            REGULATION: 1 if op.mode == "CC" else 0,
            OUTPUT: 1 if cell.output_on else 0,
            CURRENT_RANGE: self.current_range,
            AMP_HOURS: ah_hi,
            AMP_HOURS + 1: ah_lo,
            WATT_HOURS: wh_hi,
            WATT_HOURS + 1: wh_lo,
            OVP_LEVEL: uint16_word(cell.ovp_v, m.volts_scale),
            OCP_LEVEL: uint16_word(cell.ocp_a, i_scale),
        }

    def read_holding(self, address: int, count: int) -> list[int]:
        if address < 0 or address + count > ADDRESS_LIMIT:
            raise SlaveException(2)
        regs = self._registers()
        return [regs.get(a, 0) for a in range(address, address + count)]

    def write_register(self, address: int, value: int) -> None:
        if not 0 <= address < ADDRESS_LIMIT:
            raise SlaveException(2)
        m = self.model
        r = self.range
        cell = self.cell
        try:
            if address == OVP_LEVEL:
                cell.set_protection(check_range(value / m.volts_scale, 0, m.max_ovp_v), cell.ocp_a)
            elif address == OCP_LEVEL:
                cell.set_protection(cell.ovp_v, check_range(value / r.amps_scale, 0, r.max_ocp_a))
            elif address == V_SET:
                cell.set_voltage_limit(check_range(value / m.volts_scale, 0, m.max_volts))
            elif address == I_SET:
                cell.set_current(check_range(value / r.amps_scale, 0, r.max_amps))
            elif address == CURRENT_RANGE and len(m.ranges) > 1:
                self._switch_range(int(check_range(value, 0, len(m.ranges) - 1)))
            elif address == OUTPUT:
                if check_range(value, 0, 1):
                    cell.enable()
                else:
                    cell.disable()
            else:
                raise SlaveException(3)
        except ValueError as exc:  # beyond the cell's own (possibly lower) rating
            raise SlaveException(3) from exc

    def _switch_range(self, index: int) -> None:
        old = self.range
        self.current_range = index
        new = self.range
        cell = self.cell
        cell.set_current(min(cell.current_setpoint_a, new.max_amps))
        # An OCP left at the old range's maximum (its default) follows to the new maximum.
        ocp = new.max_ocp_a if cell.ocp_a >= old.max_ocp_a else min(cell.ocp_a, new.max_ocp_a)
        cell.set_protection(cell.ovp_v, ocp)
