"""`kilnctl devices / read / probe` as a user runs them: a real process against simulator
servers on real sockets; dead devices give one clear line and a non-zero exit code."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from drivers.registry import open_device
from simulators.devices import build
from simulators.servers.modbus_tcp import ModbusTcpServer


@pytest.fixture
async def server() -> AsyncIterator[ModbusTcpServer]:
    slaves = {
        1: build("eurotherm3216", unit=1, time_fn=lambda: 0.0),
        2: build("generic_rectifier", unit=2, time_fn=lambda: 0.0),
    }
    srv = ModbusTcpServer(slaves)
    await srv.start()
    yield srv
    await srv.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def kilnctl(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from kilnctl.cli.main import main; sys.exit(main(sys.argv[1:]))",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_read_by_url_prints_one_reading(server: ModbusTcpServer) -> None:
    code, out, err = await kilnctl("read", "--url", server.url(1), "--driver", "eurotherm3216")
    assert code == 0, err
    assert out.startswith("device: pv ") and "°C" in out


async def test_read_dead_device_is_one_line_without_traceback() -> None:
    url = f"modbus-tcp://127.0.0.1:{free_port()}?unit=1"
    code, out, err = await kilnctl("read", "kiln1", "--url", url, "--driver", "eurotherm3216")
    assert code != 0
    assert "Traceback" not in err and out == ""
    # the plant used is named first (on stderr), then the one error line
    lines = [line for line in err.strip().splitlines() if not line.startswith("plant: ")]
    assert len(lines) == 1
    assert "kiln1" in lines[0] and "127.0.0.1" in lines[0] and "disconnected" in lines[0]


async def test_unknown_driver_lists_the_known_ones() -> None:
    code, _, err = await kilnctl("read", "--url", "modbus-tcp://h:1", "--driver", "watlow")
    assert code == 2
    assert "unknown driver 'watlow'" in err and "eurotherm3216" in err and "riden" in err


async def test_bad_url_says_what_is_allowed() -> None:
    code, _, err = await kilnctl("probe", "modbus://x")
    assert code == 2 and "allowed: modbus-tcp, modbus-rtu, serial" in err


async def test_probe_names_the_device(server: ModbusTcpServer) -> None:
    code, out, err = await kilnctl("probe", server.url(1))
    assert code == 0, err
    assert "eurotherm3216" in out


async def test_watch_reads_repeatedly(server: ModbusTcpServer) -> None:
    code, out, err = await kilnctl(
        "read", "--url", server.url(2), "--driver", "generic_rectifier",
        "--watch", "--count", "2", "--interval", "0",
    )  # fmt: skip
    assert code == 0, err
    assert len(out.strip().splitlines()) == 2 and " V " in out


async def test_devices_lists_health_from_the_plant_config(
    server: ModbusTcpServer, tmp_path: Path
) -> None:
    plant = tmp_path / "kilnctl.toml"
    dead = f"modbus-tcp://127.0.0.1:{free_port()}?unit=1"
    plant.write_text(
        f'[devices.kiln1]\ndriver = "eurotherm3216"\nurl = "{server.url(1)}"\n'
        f'[devices.line]\ndriver = "generic_rectifier"\nurl = "{server.url(2)}"\n'
        f'[devices.kiln9]\ndriver = "eurotherm3216"\nurl = "{dead}"\n'
    )
    code, out, err = await kilnctl("--config", str(plant), "devices")
    assert code == 1, err
    assert "Traceback" not in err
    assert out.count("ok: ") == 2
    assert "kiln9" in out and "disconnected" in out
    code, out, _ = await kilnctl("--config", str(plant), "devices", "--json")  # for scripts
    rows = {r["name"]: r for r in map(json.loads, out.splitlines())}
    states = [rows[n]["state"] for n in ("kiln1", "line", "kiln9")]
    assert code == 1 and states == ["ok", "ok", "disconnected"]
    assert isinstance(rows["kiln1"]["reading"]["pv_c"], float)
    assert "reading" not in rows["kiln9"] and rows["kiln9"]["detail"]
    code, out, _ = await kilnctl("--config", str(plant), "read", "line")
    assert code == 0 and out.startswith("line: ")
    code, _, err = await kilnctl("--config", str(plant), "read", "nope")
    assert code == 2 and "configured: kiln1, kiln9, line" in err


async def test_devices_shows_a_kiln_in_alarm(tmp_path: Path) -> None:
    """Issue 6 item 3: with a stuck relay heating an idle kiln, `devices` said
    "ok: pv 926.9 °C". Now a stuck relay (PV rising at output 0 between two reads) and a
    PV above the kiln's rating show as ALARM, exit code 1."""
    t0 = time.monotonic()
    fast = build("eurotherm3216", unit=1, time_fn=lambda: (time.monotonic() - t0) * 600,
                 initial_c=400.0)  # fmt: skip
    fast.inject("stuck_relay")  # heats at output 0 (the controller's setpoint is below PV)
    hot = build("eurotherm3216", unit=2, time_fn=lambda: 0.0, initial_c=1010.0)
    fine = build("eurotherm3216", unit=3, time_fn=lambda: 0.0)
    srv = ModbusTcpServer({1: fast, 2: hot, 3: fine})
    await srv.start()
    try:
        plant = tmp_path / "kilnctl.toml"
        plant.write_text(
            "".join(
                f'[devices.k{u}]\ndriver = "eurotherm3216"\nurl = "{srv.url(u)}"\n'
                f'[kilns.kiln{u}]\ncontroller = "k{u}"\nmax_temp = "1000 C"\n'
                for u in (1, 2, 3)
            )
        )
        code, out, err = await kilnctl("--config", str(plant), "devices", "--sample", "0.5")
    finally:
        await srv.close()
    assert code == 1, err
    k1, k2, k3 = (out.split(f"k{u} ")[1] for u in (1, 2, 3))
    assert "ALARM: stuck relay: kiln kiln1 PV rose" in k1.split("k2")[0]
    assert "ALARM: over-temperature: kiln kiln2 PV 10" in k2.split("k3")[0]
    assert "rating of 1000 °C" in k2
    assert "ok: pv" in k3


async def test_contactor_opens_and_reads_back_over_modbus_tcp(tmp_path: Path) -> None:
    """The kiln's mains contactor on the I/O module (register 22): opened by the driver
    (FC06, echo checked) and read back (FC03); opened, a stuck relay no longer heats."""
    from kilnctl.engine.contactor import cut_power

    t = [0.0]
    io = build("io_module", unit=1, time_fn=lambda: t[0], initial_c=400.0)
    io.inject("stuck_relay")
    srv = ModbusTcpServer({1: io})
    await srv.start()
    contactor = open_device("k3_contactor", "contactor", srv.url(1), register=22)
    try:
        assert await contactor.is_closed()  # type: ignore[union-attr]
        what = await cut_power(contactor, "kiln kiln3")  # type: ignore[arg-type]
        assert "opened (read back open)" in what
        assert not await contactor.is_closed()  # type: ignore[union-attr]
        before = io.kiln.chamber_c
        t[0] = 600.0
        io.kiln.sync()
        assert io.kiln.chamber_c < before  # no power: cooling despite the welded relay
        plant = tmp_path / "kilnctl.toml"
        plant.write_text(
            f'[devices.k3_contactor]\ndriver = "contactor"\nurl = "{srv.url(1)}"\n'
            "options = { register = 22 }\n"
        )
        code, out, err = await kilnctl("--config", str(plant), "devices")
        assert code == 0, err
        assert "ok: contactor OPEN (power off)" in out
    finally:
        await contactor.close()
        await srv.close()
