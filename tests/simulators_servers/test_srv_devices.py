"""Debian's mbpoll and raw pty clients against the real simulated devices on our servers."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from child_output import drained
from srv_helpers import FrozenTime, PtyClient, rtu

from kilnctl.cli.main import main
from simulators.devices import build
from simulators.korad import KoradKA3005P
from simulators.servers.ascii_pty import AsciiPtyServer
from simulators.servers.modbus_rtu import ModbusRtuServer

_VALUE = re.compile(r"^\[(\d+)\]:\s+(\S+)", re.MULTILINE)


async def mbpoll(
    binary: str, path: str, baud: int, unit: int, *args: str, write: tuple[str, ...] = ()
) -> dict[int, str]:
    """Run mbpoll once in RTU mode on `path` (writing `write` if given); register -> value."""
    proc = await asyncio.create_subprocess_exec(
        binary, "-m", "rtu", "-b", str(baud), "-P", "none", "-a", str(unit), "-0", "-1",
        "-o", "2", *args, path, *write,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, (out + err).decode()
    return {int(reg): value for reg, value in _VALUE.findall(out.decode())}


async def test_mbpoll_reads_the_simulated_eurotherm(
    require_binary: Callable[[str], str],
) -> None:
    binary = require_binary("mbpoll")
    time_fn = FrozenTime()
    kiln = build("eurotherm3216", unit=1, time_fn=time_fn)
    heater = build("eurotherm3216", unit=2, time_fn=time_fn)
    server = ModbusRtuServer({1: kiln, 2: heater}, baud=19200)
    await server.start()
    try:
        pv_tenths = int((await mbpoll(binary, server.path, 19200, 1, "-r", "1"))[1])
        assert 150 <= pv_tenths <= 300  # a cold kiln: 15.0-30.0 °C with one decimal
        # Full resolution at 0x8000 + 2*1, IEEE float32 with the high word first.
        pv = float((await mbpoll(binary, server.path, 19200, 1, "-r", str(0x8002),
                                 "-t", "4:float", "-B"))[0x8002])  # fmt: skip
        assert abs(pv - pv_tenths / 10) <= 0.5
        status = await mbpoll(binary, server.path, 19200, 1, "-r", "75", "-t", "4:hex")
        assert int(status[75], 16) & 0x20 == 0
        kiln.inject("tc_open")  # type: ignore[attr-defined]
        status = await mbpoll(binary, server.path, 19200, 1, "-r", "75", "-t", "4:hex")
        assert int(status[75], 16) & 0x20  # b5 sensor break
        assert int((await mbpoll(binary, server.path, 19200, 1, "-r", "1"))[1]) >= 10000
        # The second unit on the line is unaffected.
        assert int((await mbpoll(binary, server.path, 19200, 2, "-r", "75"))[75]) & 0x20 == 0
    finally:
        await server.close()


async def test_mbpoll_writes_and_reads_the_simulated_riden(
    require_binary: Callable[[str], str],
) -> None:
    binary = require_binary("mbpoll")
    time_fn = FrozenTime()
    riden = build("riden", unit=1, time_fn=time_fn, model="RD6012")
    server = ModbusRtuServer({1: riden}, baud=115200, turnaround_s=0.002)
    await server.start()
    try:
        assert (await mbpoll(binary, server.path, 115200, 1, "-r", "0"))[0] == "60121"
        # 12.50 V and 1.50 A: RD6012 scales both by 100; then output on.
        await mbpoll(binary, server.path, 115200, 1, "-r", "8", write=("1250", "150"))
        await mbpoll(binary, server.path, 115200, 1, "-r", "18", write=("1",))
        time_fn.now = 10.0
        regs = await mbpoll(binary, server.path, 115200, 1, "-r", "8", "-c", "4")
        assert (regs[8], regs[9]) == ("1250", "150")
        assert regs[11] == "150"  # constant current at the setpoint
        volts_out = int(regs[10]) / 100
        assert 0 < volts_out < 12.5  # below the voltage limit: in CC
    finally:
        await server.close()


async def test_mbpoll_reads_each_riden_model_with_its_scaling(
    require_binary: Callable[[str], str],
) -> None:
    """mbpoll (libmodbus) over the RTU pty and over Modbus TCP: the RD6012P answers 60125
    and scales current by 10000 on its 6 A range, 1000 on its 12 A range (register 20;
    ShayBox/Riden PR #8); an RD6024 by 100 (Baldanos/rd6006 rd6006.py)."""
    from simulators.servers.modbus_tcp import ModbusTcpServer

    binary = require_binary("mbpoll")
    time_fn = FrozenTime()
    p_model = build("riden", unit=1, time_fn=time_fn, model="RD6012P")
    rd6024 = build("riden", unit=2, time_fn=time_fn, model="RD6024")
    server = ModbusRtuServer({1: p_model, 2: rd6024}, baud=115200, turnaround_s=0.002)
    tcp = ModbusTcpServer({1: p_model})
    await server.start()
    await tcp.start()
    try:
        regs = await mbpoll(binary, server.path, 115200, 1, "-r", "0")
        assert regs[0] == "60125"
        await mbpoll(binary, server.path, 115200, 1, "-r", "8", write=("12500", "20000"))
        assert p_model.cell.current_setpoint_a == 2.0  # type: ignore[attr-defined]
        assert p_model.cell.voltage_limit_v == 12.5  # type: ignore[attr-defined]
        await mbpoll(binary, server.path, 115200, 1, "-r", "20", write=("1",))  # 12 A range
        regs = await mbpoll(binary, server.path, 115200, 1, "-r", "8", "-c", "2")
        assert (regs[8], regs[9]) == ("12500", "2000")  # 2.0 A at ÷1000 now
        await mbpoll(binary, server.path, 115200, 2, "-r", "9", write=("250",))
        assert rd6024.cell.current_setpoint_a == 2.5  # type: ignore[attr-defined]
        out = await asyncio.create_subprocess_exec(
            binary, "-m", "tcp", "-p", str(tcp.port), "-a", "1", "-0", "-1", "-r", "8",
            "-c", "2", "127.0.0.1", stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        text, _ = await asyncio.wait_for(out.communicate(), 20)
        tcp_regs = {int(reg): value for reg, value in _VALUE.findall(text.decode())}
        assert (tcp_regs[8], tcp_regs[9]) == ("12500", "2000")
    finally:
        await tcp.close()
        await server.close()


async def test_korad_on_a_pty_answers_idn_and_a_voltage_round_trip() -> None:
    server = AsciiPtyServer(KoradKA3005P(FrozenTime()))
    await server.start()
    client = PtyClient(server.path)
    try:
        gap_s = 0.06  # the master keeps the unit's 50 ms between commands
        assert await client.transact(b"*IDN?", 30) == b"KORAD KA3005P V5.5 SN:00000001"
        await asyncio.sleep(gap_s)
        client.write(b"VSET1:12.50")
        await asyncio.sleep(gap_s)
        assert await client.transact(b"VSET1?", 5) == b"12.50"
        await asyncio.sleep(gap_s)
        client.write(b"VSET1:3.3")  # fewer decimals: the idle gap ends the command
        assert await client.transact(b"", 1, timeout_s=0.1) == b""
        assert await client.transact(b"VSET1?", 5) == b"03.30"
        await asyncio.sleep(gap_s)
        # ISET1? is answered in its fixed 5 characters, then a stray sixth byte follows.
        assert await client.transact(b"ISET1?", 6) == b"0.0000"
    finally:
        client.close()
        await server.close()


async def read_listing(stdout: asyncio.StreamReader) -> list[list[str]]:
    """The words of each line `kilnctl sim` prints, up to "URLs written" (it is ready then)."""
    lines = []
    while True:
        line = (await asyncio.wait_for(stdout.readline(), 20)).decode()
        assert line, "kilnctl sim ended early"
        if line.startswith("URLs written"):
            return lines
        lines.append(line.split())


async def test_kilnctl_sim_runs_the_default_plant_and_takes_faults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = tmp_path / "urls.json"
    proc = drained(await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kilnctl.cli.main", "sim", "--urls", str(urls), "--speed", "60",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    ))  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = await read_listing(proc.stdout)
        names = {words[0] for words in lines[1:]}
        assert {"kiln1", "nickel_heater", "kiln2", "kiln3_io", "nickel_rectifier",
                "gold_rectifier", "line_rectifier", "control"} <= names  # fmt: skip
        kiln1 = next(words for words in lines if words[0] == "kiln1")
        assert kiln1[1] == "eurotherm3216" and kiln1[2].endswith("?baud=19200&unit=1")

        fault = ["sim-fault", "kiln1", "tc_open", "--urls", str(urls)]
        assert await asyncio.to_thread(main, fault) == 0
        bus = PtyClient(kiln1[2].removeprefix("modbus-rtu://").split("?")[0])
        reply = await bus.transact(rtu("0103004b0001"), 7)  # read reg 75
        assert reply[:3] == bytes.fromhex("010302") and reply[4] & 0x20
        assert await asyncio.to_thread(main, [*fault, "--clear"]) == 0
        reply = await bus.transact(rtu("0103004b0001"), 7)
        assert reply[4] & 0x20 == 0
        bus.close()
        assert await asyncio.to_thread(main, ["sim-ctl", "list", "--urls", str(urls)]) == 0
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["sim-fault", "kiln1", "melted", "--urls",
                                              str(urls)]) == 2  # fmt: skip
        err = capsys.readouterr().err  # every fault a tester may name
        assert "tc_open" in err and "no_response" in err and "door_open" in err
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0
    assert "Traceback" not in err.decode()
    assert not urls.exists()
