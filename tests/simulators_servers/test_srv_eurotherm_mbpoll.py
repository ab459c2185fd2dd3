"""Debian's mbpoll against the simulated Eurotherm 3216, over Modbus TCP and over the RTU pty:
the registers the real unit serves beyond the readings, with the encodings the sources give.

Sources: HA028651 Issue 7 §15.5 "Parameter Modbus Addresses" (CTRL.A 7, Ti 8, SP.SEL 15,
SP1 24, SP2 25, Rm.SP 26, StAt 75 b14 "Remote (comms) SP Fail", L-R 276); SP.HI 111 / SP.LO
112 (a minimalmodbus 3216 script); error 39 and RAMP.U 531 (minimalmodbus eurotherm3200.py);
time parameters as a 32-bit integer of milliseconds at 0x8000 + 2*addr, high word first
(Series 2000 handbook HA026230 §7.5; eurotherm3200.py read_time).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from simulators.devices.eurotherm3216 import Eurotherm3216
from simulators.servers.modbus_rtu import ModbusRtuServer
from simulators.servers.modbus_tcp import ModbusTcpServer

_VALUE = re.compile(r"^\[(\d+)\]:\s+(\S+)", re.MULTILINE)
BAUD = 19200


class FrozenTime:
    """Simulated time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


Poll = Callable[..., Any]


@pytest.fixture(params=["tcp", "rtu"])
async def unit(
    request: pytest.FixtureRequest, require_binary: Callable[[str], str]
) -> AsyncIterator[Callable[..., Any]]:
    """unit(**sim_options) -> (poll, sim, time): poll(*mbpoll args, write=()) -> values."""
    binary = require_binary("mbpoll")
    servers: list[ModbusTcpServer | ModbusRtuServer] = []

    async def start(**options: Any) -> tuple[Poll, Eurotherm3216, FrozenTime]:
        clock = FrozenTime()
        sim = Eurotherm3216(1, time_fn=clock, tc_noise_c=0.0, **options)
        server: ModbusTcpServer | ModbusRtuServer
        if request.param == "tcp":
            server = ModbusTcpServer({1: sim})
            where = ["-m", "tcp", "-p", str(0)]
        else:
            server = ModbusRtuServer({1: sim}, baud=BAUD)
            where = ["-m", "rtu", "-b", str(BAUD), "-P", "none"]
        await server.start()
        servers.append(server)
        if isinstance(server, ModbusTcpServer):
            where[-1], target = str(server.port), "127.0.0.1"
        else:
            target = server.path

        async def poll(*args: str, write: tuple[str, ...] = ()) -> dict[int, str]:
            proc = await asyncio.create_subprocess_exec(
                binary, *where, "-a", "1", "-0", "-1", "-o", "2", *args, target, *write,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await asyncio.wait_for(proc.communicate(), 20)
            assert proc.returncode == 0, (out + err).decode()
            return {int(reg): value for reg, value in _VALUE.findall(out.decode())}

        return poll, sim, clock

    yield start
    for server in servers:
        await server.close()


async def test_mbpoll_reads_the_registers_beyond_the_readings(unit: Callable[..., Any]) -> None:
    poll, _, _ = await unit()
    await poll("-r", "24", write=("3000", "4500"))  # SP1 300.0, SP2 450.0 °C (one decimal)
    block = await poll("-r", "1", "-c", "40")  # one block read across the gaps
    assert (block[24], block[25], block[27], block[7]) == ("3000", "4500", "0", "0")
    assert block[2] == "3000"  # TG.SP is SP1 while SP.SEL (15) = 0
    # mbpoll prints raw words: signed values in two's complement
    assert block[39] == str((200 - 3000) & 0xFFFF)  # error = PV - working SP: -280.0
    limits = await poll("-r", "111", "-c", "2")
    assert (limits[111], limits[112]) == ("13720", str(-2000 & 0xFFFF))  # 1372.0 / -200.0
    assert (await poll("-r", "531"))[531] == "0"  # RAMP.U: per minute
    await poll("-r", "8", write=("360",))  # Ti 360 s in the integer region...
    ti_ms = await poll("-r", str(0x8000 + 2 * 8), "-t", "4:int", "-B")
    assert ti_ms[0x8010] == "360000"  # ...360000 ms, 32-bit, high word first
    sp_hi = await poll("-r", str(0x8000 + 2 * 111), "-t", "4:float", "-B")
    assert float(sp_hi[0x8000 + 2 * 111]) == 1372.0


async def test_mbpoll_sees_the_configured_decimal_point(unit: Callable[..., Any]) -> None:
    poll, _, _ = await unit(decimals=0)
    assert (await poll("-r", "1"))[1] == "20"  # 20 °C in whole degrees
    await poll("-r", "276", write=("1",))
    await poll("-r", "26", write=("1234",))  # 01 06 00 1A 04 D2: 1234 °C on this unit
    rm_sp = await poll("-r", str(0x8000 + 2 * 26), "-t", "4:float", "-B")
    assert float(rm_sp[0x8000 + 2 * 26]) == 1234.0


async def test_mbpoll_sees_the_remote_setpoint_fall_back(unit: Callable[..., Any]) -> None:
    poll, _, clock = await unit()
    await poll("-r", "2", write=("200",))  # TG.SP 20.0 °C
    await poll("-r", "276", write=("1",))  # L-R remote
    await poll("-r", "26", write=("5000",))  # Rm.SP 500.0 °C
    assert (await poll("-r", "5"))[5] == "5000"
    clock.now += 6.0  # past the 5 s timeout with no Rm.SP write
    status = await poll("-r", "75", "-t", "4:hex")
    assert int(status[75], 16) & (1 << 14)  # b14 remote SP fail
    assert (await poll("-r", "5"))[5] == "200"  # working SP: the local setpoint
    await poll("-r", "112", write=("500",))  # SP.LO 50.0 °C
    with pytest.raises(AssertionError, match=r"(?i)illegal data value"):
        await poll("-r", "26", write=("0",))  # below SP.LO: refused, not clamped
