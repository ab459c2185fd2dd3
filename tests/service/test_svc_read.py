"""The "read" request: the service reads a device it holds for `kilnctl devices`/`read`
(which must not talk on a line the service drives), over the real Unix socket."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from svc_plant import PLANT, running_service

from drivers.errors import DeviceError
from drivers.protocols import RectifierReading, RegulationMode, TemperatureReading
from kilnctl.claims import DeviceClaims
from kilnctl.cli import device_source
from kilnctl.cli.device_source import Sources
from kilnctl.service.client import RequestFailed, ServiceClient
from kilnctl.service.device_read import reading_from_reply


async def test_read_answers_with_the_drivers_reading(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        client = await ServiceClient.connect(h.socket)
        kiln, _ = reading_from_reply(await client.request("read", device="k1"))
        assert isinstance(kiln, TemperatureReading) and 0 < kiln.pv_c < 100
        rectifier, _ = reading_from_reply(await client.request("read", device="au"))
        assert isinstance(rectifier, RectifierReading)
        assert rectifier.mode in tuple(RegulationMode) and rectifier.output_on is False
        with pytest.raises(RequestFailed, match=r"no device 'kiln9' in the service's plant "
                           r"\(configured: au, k1\)"):  # fmt: skip
            await client.request("read", device="kiln9")
        await client.close()


async def test_devices_read_each_device_through_the_service_after_one_got_no_reply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kilnctl devices` reads every device the service holds through it: k1's read gets no
    reply in time (its connection is lost with it), and au is still read through the
    service, on a new connection, never by opening au here."""
    urls = {"k1": "modbus-tcp://127.0.0.1:1?unit=1", "au": "modbus-tcp://127.0.0.1:1?unit=2"}
    monkeypatch.setattr(device_source, "READ_TIMEOUT_S", 0.5, raising=False)
    async with running_service(tmp_path) as h:
        held = DeviceClaims(urls, "kilnctl serve", directory=tmp_path, socket=h.socket)
        held.take(urls)  # the service's claims, as `kilnctl serve` takes them
        never = asyncio.Event()

        async def silent() -> None:
            await never.wait()  # the service's k1 never answers: the client's timeout ends it

        monkeypatch.setattr(h.devices["k1"], "read", silent)
        sources = Sources(DeviceClaims(urls, "kilnctl devices", directory=tmp_path))
        try:
            k1 = await sources.open("k1", PLANT.devices["k1"])
            au = await sources.open("au", PLANT.devices["au"])
            with pytest.raises(DeviceError, match="read through the service failed"):
                await k1.read()
            reading, _ = await au.read()
            assert isinstance(reading, RectifierReading) and au.device is None
            assert au.via.startswith(" (via kilnctl serve, pid ")
        finally:
            never.set()  # the service's handler of k1's read can end
            await sources.close()
            held.release()
