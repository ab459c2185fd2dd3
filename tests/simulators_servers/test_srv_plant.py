"""The plant launcher and its control port, with stand-in device models on real wires."""

from __future__ import annotations

import asyncio
import io
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from srv_helpers import FaultyBank, PtyClient, TcpClient, TinyAsciiSupply, rtu

from simulators.plant import Plant, run_plant
from simulators.plant_config import (
    DEFAULT_PLANT,
    DeviceSpec,
    PlantConfigError,
    load_plant_config,
    parse_plant_config,
)
from simulators.plant_control import ControlError, control
from simulators.timebase import TimeFn

PLANT_TOML = """
[[device]]
name = "kiln1"
kind = "bank"
protocol = "modbus-rtu"
line = "bus"
unit = 1

[[device]]
name = "heater"
kind = "bank"
protocol = "modbus-rtu"
line = "bus"
unit = 2

[[device]]
name = "kiln2"
kind = "bank"
protocol = "modbus-tcp"

[[device]]
name = "gold"
kind = "korad_ka3005p"
protocol = "korad-serial"
"""


def stand_in(spec: DeviceSpec, time_fn: TimeFn, seed: int) -> object:
    return TinyAsciiSupply() if spec.protocol == "korad-serial" else FaultyBank(spec.unit)


def _url_path(url: str) -> str:
    return url.split("://", 1)[1].split("?", 1)[0]


async def test_run_plant_serves_every_device_and_the_control_port(tmp_path: Path) -> None:
    config = parse_plant_config(tomllib.loads(PLANT_TOML), "plant.toml")
    urls_file = tmp_path / "urls.json"
    out = io.StringIO()
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_plant(config, 60, 1, urls_path=urls_file, stop=stop, out=out, factory=stand_in)
    )
    for _ in range(200):  # the file appears once every server listens
        if urls_file.exists():
            break
        await asyncio.sleep(0.01)
    doc = json.loads(urls_file.read_text())
    devices = doc["devices"]
    assert set(devices) == {"kiln1", "heater", "kiln2", "gold"}
    assert devices["kiln1"]["url"].endswith("?baud=19200&unit=1")
    assert devices["heater"]["url"] == devices["kiln1"]["url"].replace("unit=1", "unit=2")
    assert devices["kiln2"]["url"].startswith("modbus-tcp://127.0.0.1:")
    assert devices["gold"]["url"].endswith("?baud=9600")
    listing = [line.split() for line in out.getvalue().splitlines()]
    assert ["kiln1", "bank", devices["kiln1"]["url"]] in listing
    assert ["gold", "korad_ka3005p", devices["gold"]["url"]] in listing
    assert ["control", doc["control"]] in listing

    bus = PtyClient(_url_path(devices["kiln1"]["url"]))
    assert await bus.transact(rtu("020300050001"), 7) == rtu("0203020005")
    port = int(devices["kiln2"]["url"].split(":")[2].split("?")[0])
    tcp = await TcpClient.connect(port)
    reply = await tcp.transact(bytes.fromhex("000100000006010300050001"), 11)
    assert reply == bytes.fromhex("0001000000050103020005")
    gold = PtyClient(_url_path(devices["gold"]["url"]))
    assert await gold.transact(b"VSET1?", 5) == b"00.00"

    address = doc["control"]
    send = asyncio.to_thread
    assert await send(control, address, "fault heater tc_open") == ""
    state = json.loads(await send(control, address, "list"))
    assert state["heater"]["faults"] == ["tc_open"] and state["kiln1"]["faults"] == []
    assert await send(control, address, "clear heater tc_open") == ""
    assert json.loads(await send(control, address, "list"))["heater"]["faults"] == []
    assert await send(control, address, "wire heater no_response") == ""
    assert await bus.transact(rtu("020300050001"), 7, timeout_s=0.2) == b""
    assert await bus.transact(rtu("010300050001"), 7) == rtu("0103020005")  # neighbour fine
    assert await send(control, address, "wire heater slow 0.25") == ""
    assert json.loads(await send(control, address, "list"))["heater"]["wire"] == [
        "no_response", "slow 0.25",
    ]  # fmt: skip
    assert await send(control, address, "clear heater") == ""
    assert await bus.transact(rtu("020300050001"), 7) == rtu("0203020005")
    assert await send(control, address, "wire gold no_response") == ""
    assert await gold.transact(b"VSET1?", 5, timeout_s=0.2) == b""
    assert await send(control, address, "wire gold ok") == ""
    assert await gold.transact(b"VSET1?", 5) == b"00.00"
    assert await send(control, address, "door kiln2 open") == ""
    assert "door_open" in json.loads(await send(control, address, "list"))["kiln2"]["faults"]
    assert await send(control, address, "clear kiln2") == ""  # everything: the door shuts
    assert json.loads(await send(control, address, "list"))["kiln2"]["faults"] == []
    with pytest.raises(ControlError, match="unknown fault 'melted'"):
        await send(control, address, "fault kiln1 melted")
    with pytest.raises(ControlError, match="no device 'kiln9'"):
        await send(control, address, "fault kiln9 tc_open")
    with pytest.raises(ControlError, match="unknown command"):
        await send(control, address, "explode kiln1")
    with pytest.raises(ControlError, match="does not support 'set_door'"):
        await send(control, address, "door gold open")
    with pytest.raises(ControlError, match="slow needs seconds"):
        await send(control, address, "wire kiln1 slow soon")
    with pytest.raises(ControlError, match="usage: wire"):
        await send(control, address, "wire kiln1 sideways")

    bus.close()
    gold.close()
    await tcp.close()
    stop.set()
    await asyncio.wait_for(task, 5)
    assert not urls_file.exists()
    with pytest.raises(ControlError, match="no simulated plant answers"):
        await send(control, address, "list")


async def test_plant_start_failure_leaves_nothing_running() -> None:
    config = parse_plant_config(tomllib.loads(PLANT_TOML), "plant.toml")

    def breaks_on_gold(spec: DeviceSpec, time_fn: TimeFn, seed: int) -> object:
        if spec.name == "gold":
            return FaultyBank(1)  # not an ASCII device
        return stand_in(spec, time_fn, seed)

    plant = Plant(config, factory=breaks_on_gold)
    with pytest.raises(PlantConfigError, match=r"'gold'.*not an ASCII device"):
        await plant.start()


def test_the_default_plant_file_is_valid() -> None:
    config = load_plant_config()
    assert load_plant_config(DEFAULT_PLANT) == config
    by_name = {d.name: d for d in config.devices}
    assert by_name["kiln1"].line == by_name["nickel_heater"].line
    assert (by_name["kiln1"].unit, by_name["nickel_heater"].unit) == (1, 2)
    assert by_name["gold_rectifier"].params["model"] == "RD6018"
    assert {d.protocol for d in config.devices} == {"modbus-rtu", "modbus-tcp", "korad-serial"}


def _device(**fields: Any) -> dict[str, Any]:
    return {"name": "d", "kind": "bank", "protocol": "modbus-tcp", **fields}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "needs at least one"),
        ({"device": [_device(protocol="profibus")]}, "protocol 'profibus' is not one of"),
        ({"device": [_device(kind="korad_ka3005p")]}, "goes with protocol 'korad-serial'"),
        ({"device": [_device(unit=300)]}, "unit 300 out of range"),
        ({"device": [_device(port="502")]}, "field 'port' must be int"),
        ({"device": [_device(speed=2)]}, "unknown field"),
        ({"device": [{"kind": "bank", "protocol": "modbus-tcp"}]}, "missing field 'name'"),
        ({"device": [_device(), _device()]}, "must be unique"),
        (
            {"device": [_device(protocol="modbus-rtu", line="a"),
                        _device(name="e", protocol="modbus-rtu", line="a", baud=9600)]},
            "differs in baud",
        ),
        (
            {"device": [_device(port=5020), _device(name="e", port=5020)]},
            "both use unit 1",
        ),
    ],
)  # fmt: skip
def test_plant_file_errors_say_where_and_what(data: dict[str, Any], message: str) -> None:
    with pytest.raises(PlantConfigError, match=message) as info:
        parse_plant_config(data, "plant.toml")
    assert str(info.value).startswith("plant.toml")


def test_unreadable_plant_files(tmp_path: Path) -> None:
    with pytest.raises(PlantConfigError, match="cannot read"):
        load_plant_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[device]\n")
    with pytest.raises(PlantConfigError, match="not valid TOML"):
        load_plant_config(bad)
