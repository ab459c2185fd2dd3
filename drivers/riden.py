"""Riden RD60xx DC supplies (RD6006, RD6006P, RD6012, RD6012P, RD6018, RD6024), Modbus RTU
over USB-serial (115200 8N1).

Riden publishes no register map; the community maps agree on the registers below and on
the model id in register 0 deciding the scaling (sources: Baldanos/rd6006 registers.md and
rd6006/rd6006.py; ShayBox/Riden riden/register.py and riden/riden.py, whose PR #8 added the
RD6012P and its current-range register 20). So the driver reads the id before anything else
(or takes the `model_id` option) and refuses an id it has no scaling for, by name.

| reg | meaning | scaling |
|---|---|---|
| 0 | model id (table MODELS) | |
| 8 / 9 | voltage / current setpoint (R/W) | V, I scale |
| 10 / 11 | output voltage / current | V, I scale |
| 16 | protection: 1 OVP, 2 OCP | |
| 17 | regulation: 0 CV, 1 CC | |
| 18 | output enable (R/W) | |
| 20 | RD6012P current range: 0 = 6 A, 1 = 12 A | |
| 38 / 39 | amp-hours ×1000, 32-bit high word first | |
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.codec import DataType, Register, RegisterBlock
from drivers.errors import ConfigError, FrameError, WriteNotConfirmed
from drivers.protocols import RectifierReading, RegulationMode
from drivers.register_io import read_block, read_register, write_confirmed
from drivers.safe_state import RectifierSafeState
from drivers.transport.modbus_bus import ModbusLink

MODEL_ID = 0
V_SET = 8
I_SET = 9
V_OUT = 10
I_OUT = 11
PROTECTION = 16  # 1 OVP, 2 OCP
REGULATION = 17  # 0 CV, 1 CC
OUTPUT_ENABLE = 18
CURRENT_RANGE = 20  # RD6012P only (ShayBox/Riden PR #8): 0 = 6 A range, 1 = 12 A range
AMP_HOURS = 38  # 38/39, 32-bit high word first, ÷1000

PROTECTION_OVP = 1
PROTECTION_OCP = 2


@dataclass(frozen=True)
class RidenModel:
    """A Riden model and its register scaling (raw / scale = volts or amps).

    `range_amps_scales` is set for a model whose current scale follows its current-range
    register (RD6012P): range value -> amps scale; `amps_scale` is then unused."""

    name: str
    volts_scale: float
    amps_scale: float
    range_amps_scales: tuple[float, ...] = ()

    def amps_scale_for(self, current_range: int) -> float:
        """The amps scale at the range register's value (the fixed scale if not ranged)."""
        if not self.range_amps_scales:
            return self.amps_scale
        if not 0 <= current_range < len(self.range_amps_scales):
            raise ValueError(
                f"{self.name}: current range register {CURRENT_RANGE} reads {current_range} "
                f"(known: 0..{len(self.range_amps_scales) - 1})"
            )
        return self.range_amps_scales[current_range]


RD6006 = RidenModel("RD6006", 100.0, 1000.0)
RD6006P = RidenModel("RD6006P", 1000.0, 10000.0)
RD6012 = RidenModel("RD6012", 100.0, 100.0)
RD6012P = RidenModel("RD6012P", 1000.0, 0.0, range_amps_scales=(10000.0, 1000.0))
RD6018 = RidenModel("RD6018", 100.0, 100.0)
RD6024 = RidenModel("RD6024", 100.0, 100.0)

MODELS: tuple[tuple[range, RidenModel], ...] = (
    (range(60060, 60065), RD6006),  # Baldanos and ShayBox: 60060-60064, I ÷1000
    (range(60065, 60066), RD6006P),  # ShayBox: V ÷1000, I ÷10000
    (range(60120, 60125), RD6012),  # ShayBox PR #8 split 6012x: 60120-60124 ...
    (range(60125, 60130), RD6012P),  # ... and 60125-60129 the P, ranged current
    (range(60180, 60190), RD6018),
    (range(60240, 60250), RD6024),  # Baldanos: id // 10 == 6024; ShayBox: from 60241
)
"""Model id ranges -> model (community maps named in the module docstring)."""

UNSUPPORTED = {60066: "RK6006"}
"""Ids a community map names but gives no scaling for: refused by name."""


def _known_ids() -> str:
    return ", ".join(f"{r.start}-{r.stop - 1} {m.name}" for r, m in MODELS)


def model_for_id(model_id: int) -> RidenModel:
    """The model of a register-0 id; ConfigError naming the id (and the model, if a map
    names it) for ids without a known scaling."""
    for ids, model in MODELS:
        if model_id in ids:
            return model
    if model_id in UNSUPPORTED:
        raise ConfigError(
            f"Riden model id {model_id} is an {UNSUPPORTED[model_id]}: no community register "
            f"map gives its scaling, so it is not supported (supported: {_known_ids()})"
        )
    raise ConfigError(f"unknown Riden model id {model_id} (known: {_known_ids()})")


MODEL_REGISTER = Register("model", MODEL_ID)
OUTPUT_REGISTER = Register("output", OUTPUT_ENABLE)
RANGE_REGISTER = Register("current_range", CURRENT_RANGE)
ZERO_CURRENT = Register("i_set", I_SET)
"""The current setpoint as written by safe(): 0 is 0 at every model's scale."""

# Registers 8..39 in one request; the amps registers are read raw and scaled by the
# model's amps scale at the range read in the same request (one consistent snapshot).
_RAW_AMPS = ("i_set", "i_out")


def _block(volts_scale: float) -> RegisterBlock:
    return RegisterBlock(
        (
            Register("v_set", V_SET, scale=volts_scale),
            Register("i_set", I_SET),
            Register("v_out", V_OUT, scale=volts_scale),
            Register("i_out", I_OUT),
            Register("protection", PROTECTION),
            Register("regulation", REGULATION),
            Register("output", OUTPUT_ENABLE),
            Register("current_range", CURRENT_RANGE),
            Register("amp_hours", AMP_HOURS, DataType.UINT32, scale=1000.0),
        )
    )


class Riden(RectifierSafeState):
    """Rectifier for a Riden RD60xx supply."""

    def __init__(self, name: str, link: ModbusLink, *, model_id: int | None = None) -> None:
        self.name = name
        self.link = link
        self.health = link.health
        self.model: RidenModel | None = None
        self._block: RegisterBlock | None = None
        if model_id is not None:
            self._use(model_for_id(model_id))

    def _use(self, model: RidenModel) -> None:
        self.model = model
        self._block = _block(model.volts_scale)

    async def identify(self) -> RidenModel:
        """Read the model id (register 0) and pick the scaling."""
        if self.model is None:
            self._use(model_for_id(int(await read_register(self.link, MODEL_REGISTER))))
        assert self.model is not None
        return self.model

    def _range_error(self, exc: ValueError) -> FrameError:
        error = FrameError(self.name, self.link.address_text, str(exc))
        self.link.health.last_error = str(error)
        return error

    async def _amps_scale(self) -> float:
        """The amps scale now: a ranged model's range register is read each time, as the
        range can be switched on the front panel at any moment."""
        model = await self.identify()
        if not model.range_amps_scales:
            return model.amps_scale
        current_range = int(await read_register(self.link, RANGE_REGISTER))
        try:
            return model.amps_scale_for(current_range)
        except ValueError as exc:
            raise self._range_error(exc) from None

    async def read(self) -> RectifierReading:
        model = await self.identify()
        assert self._block is not None
        v = await read_block(self.link, self._block)
        try:
            amps_scale = model.amps_scale_for(int(v["current_range"]))
        except ValueError as exc:
            raise self._range_error(exc) from None
        i_set, i_out = (v[name] / amps_scale for name in _RAW_AMPS)
        protection = int(v["protection"])
        return RectifierReading(
            volts=v["v_out"],
            amps=i_out,
            mode=RegulationMode.CC if v["regulation"] else RegulationMode.CV,
            output_on=bool(v["output"]),
            amp_hours=v["amp_hours"],
            volts_setpoint=v["v_set"],
            amps_setpoint=i_set,
            over_voltage_trip=protection == PROTECTION_OVP,
            over_current_trip=protection == PROTECTION_OCP,
        )

    async def set_current(self, amps: float) -> None:
        scale = await self._amps_scale()
        if not 0 <= round(amps * scale) <= 0xFFFF:  # e.g. 8 A on an RD6012P's 6 A range
            error = WriteNotConfirmed(
                self.name,
                self.link.address_text,
                f"{amps:g} A is beyond the current register at this model's scale "
                f"(÷{scale:g}: at most {0xFFFF / scale:g} A)",
            )
            self.link.health.last_error = str(error)
            raise error
        await write_confirmed(self.link, Register("i_set", I_SET, scale=scale), amps)

    async def set_voltage_limit(self, volts: float) -> None:
        model = await self.identify()
        await write_confirmed(self.link, Register("v_set", V_SET, scale=model.volts_scale), volts)

    async def enable(self) -> None:
        await self.identify()
        await write_confirmed(self.link, OUTPUT_REGISTER, 1)

    async def disable(self) -> None:
        # No model id needed: a supply whose id is unknown (or unreadable) still turns off.
        await write_confirmed(self.link, OUTPUT_REGISTER, 0)

    async def _output_off(self) -> None:
        await self.disable()
        await write_confirmed(self.link, ZERO_CURRENT, 0)

    async def close(self) -> None:
        self.link.close()
