"""Riden RD6006 / RD6006P / RD6012 / RD6018 DC supplies, Modbus RTU (USB-serial, 115200 8N1).

The model id in register 0 decides the scaling, so the driver reads it before anything
else (or takes the `model_id` option).
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.codec import DataType, Register, RegisterBlock
from drivers.errors import ConfigError
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
AMP_HOURS = 38  # 38/39, 32-bit high word first, ÷1000

PROTECTION_OVP = 1
PROTECTION_OCP = 2


@dataclass(frozen=True)
class RidenModel:
    """A Riden model and its register scaling (raw / scale = volts or amps)."""

    name: str
    volts_scale: float
    amps_scale: float


def model_for_id(model_id: int) -> RidenModel:
    """Scaling by model id (DEVICES.md); ConfigError for ids we do not know."""
    if 60062 <= model_id <= 60064:
        return RidenModel("RD6006", 100.0, 1000.0)
    if model_id == 60065:
        return RidenModel("RD6006P", 1000.0, 10000.0)
    if 60120 <= model_id <= 60129:
        return RidenModel("RD6012", 100.0, 100.0)
    if 60180 <= model_id <= 60189:
        return RidenModel("RD6018", 100.0, 100.0)
    raise ConfigError(
        f"unknown Riden model id {model_id} "
        "(known: 60062-60064 RD6006, 60065 RD6006P, 6012x RD6012, 6018x RD6018)"
    )


MODEL_REGISTER = Register("model", MODEL_ID)
OUTPUT_REGISTER = Register("output", OUTPUT_ENABLE)
ZERO_CURRENT = Register("i_set", I_SET)
"""The current setpoint as written by safe(): 0 is 0 at every model's scale."""


class Riden(RectifierSafeState):
    """Rectifier for a Riden RD60xx supply."""

    def __init__(self, name: str, link: ModbusLink, *, model_id: int | None = None) -> None:
        self.name = name
        self.link = link
        self.health = link.health
        self.model: RidenModel | None = None
        self._table: dict[str, Register] = {}
        self._block: RegisterBlock | None = None
        if model_id is not None:
            self._use(model_for_id(model_id))

    def _use(self, model: RidenModel) -> None:
        v, i = model.volts_scale, model.amps_scale
        self.model = model
        self._table = {
            r.name: r
            for r in (
                Register("v_set", V_SET, scale=v),
                Register("i_set", I_SET, scale=i),
                Register("v_out", V_OUT, scale=v),
                Register("i_out", I_OUT, scale=i),
                Register("protection", PROTECTION),
                Register("regulation", REGULATION),
                Register("output", OUTPUT_ENABLE),
                Register("amp_hours", AMP_HOURS, DataType.UINT32, scale=1000.0),
            )
        }
        self._block = RegisterBlock(tuple(self._table.values()))  # 8..39: one request

    async def identify(self) -> RidenModel:
        """Read the model id (register 0) and pick the scaling."""
        if self.model is None:
            self._use(model_for_id(int(await read_register(self.link, MODEL_REGISTER))))
        assert self.model is not None
        return self.model

    async def read(self) -> RectifierReading:
        await self.identify()
        assert self._block is not None
        v = await read_block(self.link, self._block)
        protection = int(v["protection"])
        return RectifierReading(
            volts=v["v_out"],
            amps=v["i_out"],
            mode=RegulationMode.CC if v["regulation"] else RegulationMode.CV,
            output_on=bool(v["output"]),
            amp_hours=v["amp_hours"],
            volts_setpoint=v["v_set"],
            amps_setpoint=v["i_set"],
            over_voltage_trip=protection == PROTECTION_OVP,
            over_current_trip=protection == PROTECTION_OCP,
        )

    async def _write(self, name: str, value: float) -> None:
        await self.identify()
        await write_confirmed(self.link, self._table[name], value)

    async def set_current(self, amps: float) -> None:
        await self._write("i_set", amps)

    async def set_voltage_limit(self, volts: float) -> None:
        await self._write("v_set", volts)

    async def enable(self) -> None:
        await self._write("output", 1)

    async def disable(self) -> None:
        # No model id needed: a supply whose id is unknown (or unreadable) still turns off.
        await write_confirmed(self.link, OUTPUT_REGISTER, 0)

    async def _output_off(self) -> None:
        await self.disable()
        await write_confirmed(self.link, ZERO_CURRENT, 0)

    async def close(self) -> None:
        self.link.close()
