"""Eurotherm 3216: byte-exact frames from manual HA028651 §15.5 on a real pty.

Addresses: HA028651 Issue 7 §15.5 "Parameter Modbus Addresses" (PV.IN 1, WRK.OP 4, WKG.SP 5,
Rm.SP 26, StAt 75 with b14 "Remote (comms) SP Fail", L-R 276); SP.HI 111 / SP.LO 112 as a
minimalmodbus 3216 script reads them; the IEEE region at 0x8000 + 2*addr, high word first
(HA028651 §15; minimalmodbus eurotherm3200.py read_float)."""

from __future__ import annotations

import asyncio

import pytest
from drv_wire import (
    PtyDevice,
    exception_reply,
    fc03,
    fc03_reply,
    fc06,
    float_words,
    pty_device,
)

from drivers.errors import ConfigError, DeviceTimeout, WriteNotConfirmed
from drivers.eurotherm3216 import Eurotherm3216
from drivers.protocols import TemperatureController
from drivers.registry import open_device

UNIT = 1


class ManualTime:
    """Injected time that moves only when the test says so (the pty is real, so a virtual
    clock that jumps on idle would not wait for it)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def floats(*values: float) -> list[int]:
    return [w for v in values for w in float_words(v)]


async def answer_read(dev: PtyDevice, pv: float, wrk_op: float, wkg_sp: float, stat: int) -> None:
    # Float region 0x8000 + 2*addr for addr 1..5: PV.IN, TG.SP, MAN.OP, WRK.OP, WKG.SP.
    await dev.expect(fc03(UNIT, 0x8002, 10), fc03_reply(UNIT, floats(pv, 0, 0, wrk_op, wkg_sp)))
    await dev.expect(fc03(UNIT, 75, 1), fc03_reply(UNIT, [stat]))


async def answer_connect(
    dev: PtyDevice, decimals: int = 1, sp_hi: float = 1372.0, sp_lo: float = -200.0
) -> None:
    """The four reads of connect: SP.HI/SP.LO as integers and as floats, PV both ways."""
    scale = 10**decimals
    await dev.expect(
        fc03(UNIT, 111, 2),
        fc03_reply(UNIT, [round(sp_hi * scale) & 0xFFFF, round(sp_lo * scale) & 0xFFFF]),
    )
    await dev.expect(fc03(UNIT, 0x8000 + 2 * 111, 4), fc03_reply(UNIT, floats(sp_hi, sp_lo)))
    await dev.expect(fc03(UNIT, 1, 1), fc03_reply(UNIT, [20 * scale]))
    await dev.expect(fc03(UNIT, 0x8002, 2), fc03_reply(UNIT, floats(20.0)))


async def expect_written(dev: PtyDevice, address: int, word: int) -> None:
    """A confirmed write: FC06 and its echo, then the FC03 read-back holding the word."""
    await dev.expect(fc06(UNIT, address, word), fc06(UNIT, address, word))
    await dev.expect(fc03(UNIT, address, 1), fc03_reply(UNIT, [word]))


def open_kiln(dev: PtyDevice, **options: object) -> Eurotherm3216:
    url = f"modbus-rtu://{dev.path}?baud=9600&unit={UNIT}&timeout=0.3&retries=0"
    kiln = open_device("kiln1", "eurotherm3216", url, **{"decimals": 1, **options})
    assert isinstance(kiln, TemperatureController)
    assert isinstance(kiln, Eurotherm3216)
    return kiln


async def test_read_uses_full_resolution_floats_and_status_word() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.read())
        await answer_read(dev, 851.25, 37.5, 850.0, 0)
        reading = await task
        assert (reading.pv_c, reading.sp_c, reading.output_pct) == (851.25, 850.0, 37.5)
        assert not (reading.sensor_break or reading.alarm or reading.manual)
        await kiln.close()


@pytest.mark.parametrize(
    "stat, flag",
    [
        (1 << 5, "sensor_break"),
        (1 << 4, "manual"),
        (1 << 10, "over_range"),
        (1 << 14, "remote_sp_fail"),
        (1 << 0, "alarm"),
        (1 << 3, "alarm"),
    ],
)
async def test_status_bits(stat: int, flag: str) -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.read())
        await answer_read(dev, 20.0, 0.0, 20.0, stat)
        reading = await task
        flags = {
            f
            for f in ("sensor_break", "manual", "over_range", "remote_sp_fail", "alarm")
            if getattr(reading, f)
        }
        assert flags == {flag}
        await kiln.close()


async def test_setpoint_selects_remote_when_local_then_streams_rm_sp_never_tg_sp() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.set_setpoint(512.3))
        await answer_connect(dev)
        # L-R (276) is read first: local (0), so it is written 1, echo, read back
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [0]))
        await expect_written(dev, 276, 1)
        # Rm.SP (26) = 5123 with one decimal, echo, read back
        await expect_written(dev, 26, 5123)
        await task
        # L-R just checked: not read again before the cadence is due, only Rm.SP
        task = asyncio.create_task(kiln.set_setpoint(515.0))
        await expect_written(dev, 26, 5150)
        await task
        await kiln.close()


async def test_remote_setpoint_reasserted_after_panel_switch_or_power_cycle() -> None:
    """Someone switched the controller to local at its panel (or it was power-cycled):
    the next check of L-R selects remote again instead of writing an unused Rm.SP."""
    async with pty_device() as dev:
        kiln = open_kiln(dev, lr_check_s=0.0)  # check L-R before every write
        task = asyncio.create_task(kiln.set_setpoint(500.0))
        await answer_connect(dev)
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        await expect_written(dev, 26, 5000)
        await task
        task = asyncio.create_task(kiln.set_setpoint(501.0))
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [0]))  # local now
        await expect_written(dev, 276, 1)
        await expect_written(dev, 26, 5010)
        await task
        await kiln.close()


async def test_setpoint_read_back_mismatch_is_not_confirmed() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.set_setpoint(100.0))
        await answer_connect(dev)
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [0]))
        await expect_written(dev, 276, 1)
        await dev.expect(fc06(UNIT, 26, 1000), fc06(UNIT, 26, 1000))
        await dev.expect(fc03(UNIT, 26, 1), fc03_reply(UNIT, [900]))
        with pytest.raises(WriteNotConfirmed, match=r"Rm\.SP"):
            await task
        await kiln.close()


async def test_acknowledge_alarms_writes_ac_all() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.acknowledge_alarms())  # type: ignore[attr-defined]
        await dev.expect(fc06(UNIT, 274, 1), fc06(UNIT, 274, 1))  # AC.ALL
        await task
        await kiln.close()


async def test_safe_sets_remote_setpoint_to_zero() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.safe())
        await dev.expect(fc03(UNIT, 273, 1), fc03_reply(UNIT, [0]))  # A-M: auto
        await answer_connect(dev)
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [0]))  # L-R: local
        await expect_written(dev, 276, 1)
        await expect_written(dev, 26, 0)
        await dev.expect(fc03(UNIT, 2, 1), fc03_reply(UNIT, [0]))  # TG.SP already 0
        await task
        await kiln.close()


async def test_safe_when_put_in_manual_at_the_panel_zeroes_the_output_first() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.safe())
        await dev.expect(fc03(UNIT, 273, 1), fc03_reply(UNIT, [1]))  # A-M: manual
        await expect_written(dev, 3, 0)  # MAN.OP 0 at once
        await answer_connect(dev)
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        await expect_written(dev, 273, 0)  # back to auto
        await expect_written(dev, 26, 0)
        await dev.expect(fc03(UNIT, 2, 1), fc03_reply(UNIT, [0]))  # TG.SP already 0
        await task
        await kiln.close()


async def test_safe_goes_on_when_the_unit_has_no_auto_manual_register() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.safe())
        await dev.expect(fc03(UNIT, 273, 1), exception_reply(UNIT, 0x03, 2))
        await answer_connect(dev)
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        await expect_written(dev, 26, 0)
        await dev.expect(fc03(UNIT, 2, 1), fc03_reply(UNIT, [0]))  # TG.SP already 0
        await task
        await kiln.close()


async def test_a_unit_that_stopped_answering_is_learned_again() -> None:
    """It may come back reconfigured (here: whole degrees): connect's reads run again."""
    async with pty_device() as dev:
        kiln = open_kiln(dev, decimals=None)
        task = asyncio.create_task(kiln.set_setpoint(100.0))
        await answer_connect(dev)
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        await expect_written(dev, 26, 1000)
        await task
        task = asyncio.create_task(kiln.read())
        await dev.expect(fc03(UNIT, 0x8002, 10), None)  # no answer: timeout
        with pytest.raises(DeviceTimeout):
            await task
        task = asyncio.create_task(kiln.set_setpoint(100.0))
        await answer_connect(dev, decimals=0)
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        await expect_written(dev, 26, 100)
        await task
        await kiln.close()


async def test_safe_on_a_dead_line_raises_every_time() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        with pytest.raises(DeviceTimeout):
            await kiln.safe()
        with pytest.raises(DeviceTimeout):
            await kiln.safe()  # every failure is reported: the caller retries
        await kiln.close()


def test_rm_sp_frame_for_123_4_is_the_one_in_the_issue() -> None:
    """FC06 to Rm.SP (26 = 0x001A) with 1234: 01 06 00 1A 04 D2 + CRC (Modbus spec §6.6;
    HA028651 §15.5 address 26). A unit set to whole degrees reads 1234 °C from it."""
    assert fc06(1, 26, 1234)[:6] == bytes.fromhex("01 06 00 1A 04 D2")


async def test_a_config_decimals_the_controller_does_not_show_is_refused_by_name() -> None:
    """The unit shows whole degrees (SP.HI 1372 reads 1372 as integer and 1372.0 as float);
    the config says one decimal. Before: set_setpoint(123.4) sent 01 06 00 1A 04 D2, which
    that unit reads as 1234 °C, and the raw read-back "confirmed" it. Now nothing is
    written and the error names the device and both values."""
    async with pty_device() as dev:
        kiln = open_kiln(dev, decimals=1)
        task = asyncio.create_task(kiln.set_setpoint(123.4))
        await answer_connect(dev, decimals=0)
        with pytest.raises(ConfigError, match=r"kiln1 .*shows 0 decimal.*decimals = 1"):
            await task
        # ...while the safe state still goes out, in the unit's own resolution (0 °C = 0)
        task = asyncio.create_task(kiln.safe())
        await dev.expect(fc03(UNIT, 273, 1), fc03_reply(UNIT, [0]))
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        await expect_written(dev, 26, 0)
        await dev.expect(fc03(UNIT, 2, 1), fc03_reply(UNIT, [0]))  # TG.SP already 0
        await task
        await kiln.close()


@pytest.mark.parametrize("decimals, word", [(0, 123), (1, 1234), (2, 12340)])
async def test_without_a_configured_decimals_the_learned_one_scales_rm_sp(
    decimals: int, word: int
) -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev, decimals=None)
        task = asyncio.create_task(kiln.set_setpoint(123.4))
        await answer_connect(dev, decimals=decimals, sp_hi=300.0, sp_lo=0.0)
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        await expect_written(dev, 26, word)
        await task
        assert kiln.learned is not None and kiln.learned.decimals == decimals
        await kiln.close()


async def test_safe_writes_sp_lo_when_the_controller_refuses_zero() -> None:
    """SP.LO 50.0: a unit refuses 0 °C (exception 3) rather than clamp it. Before: safe()
    wrote 0 and failed. Now it writes the lowest allowed setpoint, read at connect."""
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.safe())
        await dev.expect(fc03(UNIT, 273, 1), fc03_reply(UNIT, [0]))
        await answer_connect(dev, sp_lo=50.0)
        await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
        await expect_written(dev, 26, 500)
        await dev.expect(fc03(UNIT, 2, 1), fc03_reply(UNIT, [8000]))  # TG.SP 800.0 °C
        await expect_written(dev, 2, 500)  # down to SP.LO too
        await task
        await kiln.close()


async def test_a_setpoint_outside_the_limits_is_refused_with_both_values() -> None:
    async with pty_device() as dev:
        kiln = open_kiln(dev)
        task = asyncio.create_task(kiln.set_setpoint(1250.0))
        await answer_connect(dev, sp_hi=1200.0)
        with pytest.raises(ConfigError, match=r"kiln1 .*1250 °C is outside .*SP\.HI 1200"):
            await task
        await kiln.close()


async def test_l_r_is_checked_on_a_cadence_and_after_a_sign_of_trouble() -> None:
    """L-R (276) is read at connect, then only every lr_check_s of the injected clock, or
    on the next write after a reading with StAt b14 (remote SP fail)."""
    clock = ManualTime()
    async with pty_device() as dev:
        kiln = open_kiln(dev, lr_check_s=30.0)
        kiln.time_fn = clock

        async def write(sp_word: int, check_lr: bool) -> None:
            task = asyncio.create_task(kiln.set_setpoint(sp_word / 10))
            if kiln.learned is None:
                await answer_connect(dev)
            if check_lr:
                await dev.expect(fc03(UNIT, 276, 1), fc03_reply(UNIT, [1]))
            await expect_written(dev, 26, sp_word)
            await task

        await write(1000, check_lr=True)  # connect
        for second in range(1, 30):
            clock.advance(1.0)
            await write(1000 + second, check_lr=False)
        clock.advance(1.0)
        await write(1030, check_lr=True)  # 30 s later
        task = asyncio.create_task(kiln.read())
        await answer_read(dev, 100.0, 50.0, 103.0, 1 << 14)
        assert (await task).remote_sp_fail
        clock.advance(1.0)
        await write(1031, check_lr=True)  # trouble seen: checked at once
        clock.advance(1.0)
        await write(1032, check_lr=False)
        await kiln.close()


@pytest.mark.parametrize("options", [{"decimals": 3}, {"lr_check_s": -1.0}])
def test_bad_options_name_the_device_and_the_allowed_values(options: dict[str, float]) -> None:
    with pytest.raises(
        ConfigError, match=r"kiln1: (decimals must be 0, 1 or 2|lr_check_s must be >= 0)"
    ):
        open_device("kiln1", "eurotherm3216", "modbus-tcp://127.0.0.1:1?unit=1", **options)
