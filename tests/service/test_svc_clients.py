"""Clients come and go, the runs go on: a subscriber vanishing mid-run changes nothing,
a subscriber that stops reading loses its oldest events (told "dropped N") and never
holds the engine up."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from svc_plant import Library, running_service

from kilnctl.clock import VirtualClock
from kilnctl.recipes.models import FiringProfile
from kilnctl.service.client import ServiceClient, ServiceUnavailable
from kilnctl.service.feed import EventFeed

SOAK = FiringProfile.model_validate(
    {
        "name": "soak",
        "max_temp": 300,
        "segments": [
            {"rate": "max", "target": 100, "hold": "2 h", "warn_hold": "3 h", "max_hold": "3 h"}
        ],
    }
)
"""About 7,500 control periods: thousands of events more than a stalled client's socket
buffers and feed hold, and a quarter of the 9-hour firing's work (which took over 30 s
of a loaded 2-core machine; the engine's speed is bench_engine_virtual's business)."""


async def test_client_disconnect_mid_run_does_not_stop_the_run(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        first = await ServiceClient.connect(h.socket)
        await first.request("subscribe")
        run = (await first.request("start", job="long", kiln="k1", lot="D1"))["run"]
        async with asyncio.timeout(10):
            async for event in first.events():
                if event["kind"] == "sample":
                    break
        await first.close()  # the technician's SSH session drops
        async with await ServiceClient.connect(h.socket) as second:
            status = await second.request("subscribe")
            (view,) = status["runs"]
            assert view["run_id"] == run and view["state"] == "running"
            assert "pv_c" in view["samples"]["k1"]  # a new screen draws at once
            async with asyncio.timeout(10):
                async for event in second.events():
                    if event["kind"] == "sample":
                        break
            assert h.engine.runs[run].outcome is None


async def test_slow_subscriber_loses_oldest_events_and_never_blocks_the_engine(
    tmp_path: Path,
) -> None:
    clock = VirtualClock(wall_start=1_790_000_000.0)
    async with (
        running_service(tmp_path, clock=clock, library=Library(SOAK)) as h,
        await ServiceClient.connect(h.socket) as slow,
    ):
        await slow.request("subscribe", queue=50)
        # the client stops reading its socket: the kernel's buffers fill, then its feed
        # overflows. Pausing the transport, not only the client's reader task: a transport
        # still reading would take up to 2 MB (twice the stream's limit) before the
        # service saw any back-pressure, tens of thousands of events.
        slow._reader_task.cancel()
        slow._writer.transport.pause_reading()
        await asyncio.sleep(0)
        starter = await ServiceClient.connect(h.socket)
        run = (await starter.request("start", job="soak", kiln="k1", lot="S1"))["run"]
        await starter.close()
        async with asyncio.timeout(40):  # a 2-hour firing on the virtual clock
            outcome = await h.engine.wait(run)
        assert outcome == "completed"
        feeds = list(h.service.feeds)
        assert len(feeds) == 1 and feeds[0].dropped_total > 1000
        reader = slow._reader
        slow._writer.transport.resume_reading()
        kinds: list[str] = []
        async with asyncio.timeout(10):
            while not kinds or kinds[-1] != "run_finished":
                line = await reader.readline()
                assert line, "connection closed"
                event = json.loads(line)
                kinds.append(event["kind"])
                if event["kind"] == "dropped":
                    assert event["count"] > 0
        assert "dropped" in kinds


async def test_event_feed_drops_oldest_and_reports_the_count() -> None:
    feed = EventFeed(3)
    for i in range(5):
        feed.put({"kind": "sample", "seq": i})
    assert await feed.get() == {"kind": "dropped", "count": 2}
    assert [(await feed.get())["seq"] for _ in range(3)] == [2, 3, 4]
    with pytest.raises(ValueError):
        EventFeed(0)


async def test_client_reports_a_service_that_is_not_there(tmp_path: Path) -> None:
    with pytest.raises(ServiceUnavailable, match="start one with `kilnctl serve`"):
        await ServiceClient.connect(tmp_path / "nothing.sock")


async def test_requests_fail_cleanly_when_the_service_goes_away(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        client = await ServiceClient.connect(h.socket)
        await client.request("status")
    with pytest.raises(ServiceUnavailable):
        await client.request("status")
    assert not client.connected
    await client.close()
