"""The "read" request: the service reads a device it holds for `kilnctl devices`/`read`
(which must not talk on a line the service drives), over the real Unix socket."""

from __future__ import annotations

from pathlib import Path

import pytest
from svc_plant import running_service

from drivers.protocols import RectifierReading, RegulationMode, TemperatureReading
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
