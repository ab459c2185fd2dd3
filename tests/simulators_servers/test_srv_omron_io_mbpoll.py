"""Debian's mbpoll against the simulated Omron E5CC and I/O module, over Modbus TCP and
over the RTU pty: the registers the manual (H175, E5_C Communications Manual) gives, read
and written by a third-party master."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from srv_helpers import FrozenTime, run_mbpoll

from simulators.devices import build
from simulators.servers.modbus_rtu import ModbusRtuServer
from simulators.servers.modbus_tcp import ModbusTcpServer


@pytest.fixture(params=["tcp", "rtu"])
async def omron_target(request: pytest.FixtureRequest) -> AsyncIterator[list[str]]:
    """mbpoll's mode and target options for a simulated E5CC at one decimal, 61.9 °C."""
    e5cc = build("omron_e5cc", unit=1, time_fn=FrozenTime(), tc_noise_c=0.0, decimals=1,
                 initial_c=61.9)  # fmt: skip
    if request.param == "tcp":
        tcp = ModbusTcpServer({1: e5cc})
        await tcp.start()
        yield ["-m", "tcp", "-p", str(tcp.port), "127.0.0.1"]
        await tcp.close()
    else:
        # H175: no parity takes 2 stop bits (a pty carries no parity bit).
        rtu = ModbusRtuServer({1: e5cc}, baud=19200, turnaround_s=0.002)
        await rtu.start()
        yield ["-m", "rtu", "-b", "19200", "-P", "none", "-s", "2", rtu.path]
        await rtu.close()


async def test_mbpoll_reads_and_writes_the_e5cc_as_h175_says(
    omron_target: list[str], require_binary: Callable[[str], str]
) -> None:
    binary = require_binary("mbpoll")

    *options, target = omron_target

    async def poll(register: int, *values: str, count: int = 1) -> tuple[int, dict[int, str], str]:
        args = [*options, "-a", "1", "-0", "-o", "2", "-r", str(register)]
        counted = ["-c", str(count)] if not values else []  # a write counts its values
        return await run_mbpoll(binary, *args, *counted, target, *values)

    # §5-1: 0x2410 decimal point monitor (1 = one decimal); PV 0x2000 without the point.
    assert (await poll(0x2410))[1] == {0x2410: "1"}
    assert (await poll(0x2000))[1] == {0x2000: "619"}
    # §4-1-3: a write with Communications Writing OFF is an operation error, code 04
    # (libmodbus names code 4 "Slave device or server failure").
    code, _, text = await poll(0x2103, "700")
    assert code != 0 and "Slave device or server failure" in text
    # §4-4-3: operation command 00 / 01 (comms writing ON), then 04 / 01 (RAM write mode).
    assert (await poll(0x0000, str(0x0001)))[0] == 0
    assert (await poll(0x0000, str(0x0401)))[0] == 0
    # §5-2: status bit 25 (comms writing) and bit 20 (RAM write mode) in the high half.
    _, status, _ = await poll(0x2406, count=2)
    assert status == {0x2406: "0", 0x2407: str((1 << 9) | (1 << 4))}
    assert (await poll(0x2103, "700"))[0] == 0
    assert (await poll(0x2103))[1] == {0x2103: "700"}
    code, _, text = await poll(0x0000, str(0x0402))  # write mode 02 does not exist: 03
    assert code != 0 and "Illegal data value" in text
