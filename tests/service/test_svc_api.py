"""The service over a real Unix socket: start, subscribe, pause/resume/abort, prompts
answered through the socket, alarms acknowledged, bad requests refused clearly."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from svc_plant import running_service

from kilnctl.service.client import RequestFailed, ServiceClient


async def next_event(
    client: ServiceClient, match: Callable[[dict[str, Any]], bool], timeout_s: float = 20
) -> dict[str, Any]:
    """The first streamed event that matches (bounded wait)."""
    async with asyncio.timeout(timeout_s):
        async for event in client.events():
            if match(event):
                return event
    raise AssertionError("connection closed before the event came")


def kind(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e.get("kind") == name


async def test_job_with_prompts_answered_through_the_socket(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        assert stat.S_IMODE(h.socket.stat().st_mode) == 0o600
        async with await ServiceClient.connect(h.socket) as client:
            sub = await client.request("subscribe")
            assert sub["runs"] == [] and sub["plant"] == "test plant"
            run = (await client.request("start", job="pins", lot="LOT-1"))["run"]
            prompt = await next_event(client, kind("prompt"))
            assert prompt["text"] == "load the kiln"
            status = await client.request("status")
            (view,) = status["runs"]
            assert (view["run_id"], view["job"], view["lot"]) == (run, "pins", "LOT-1")
            assert [p["prompt_id"] for p in view["prompts"]] == [prompt["prompt_id"]]
            await client.request("answer", prompt=prompt["prompt_id"], answer="ok", who="tester")
            answered = await next_event(client, kind("prompt_answer"))
            assert (answered["answer"], answered["who"]) == ("ok", "tester")
            sample = await next_event(client, lambda e: "pv_c" in e.get("values", {}))
            assert sample["kind"] == "sample"
            await next_event(client, lambda e: e["kind"] == "segment" and e["phase"] == "hold")
            await client.request("skip")  # the test need not wait out the 20-minute hold
            rack = await next_event(client, kind("prompt"))
            assert rack["text"] == "rack the pins"
            await client.request("answer", prompt=rack["prompt_id"])
            finished = await next_event(client, kind("run_finished"), timeout_s=40)
            assert finished["outcome"] == "completed"
            assert (await client.request("status"))["runs"] == []
            runs = (await client.request("runs"))["runs"]
            assert [(r["run_id"], r["outcome"]) for r in runs] == [(run, "completed")]


async def test_pause_resume_skip_extend_abort(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h, await ServiceClient.connect(h.socket) as client:
        await client.request("subscribe")
        run = (await client.request("start", job="long", kiln="k1", lot="L2"))["run"]
        await next_event(client, kind("sample"))
        await client.request("pause")
        (view,) = (await client.request("status"))["runs"]
        assert view["state"] == "paused"
        # 780 °C at 100 °C/h plus a 1 h hold: about 8.8 h to go
        assert view["time_left_s"] == pytest.approx(8.8 * 3600, rel=0.05)
        assert h.engine.runs[run].ctx.paused
        await client.request("resume", run=run)
        assert (await client.request("status"))["runs"][0]["state"] == "running"
        await client.request("extend", seconds=60)
        # taken by the kiln's next control period (not counted while still queued in
        # the run: under load that period may come before this line runs)
        extended = await next_event(
            client, lambda e: e["kind"] == "operator" and e["action"] == "extend"
        )
        assert extended["detail"] == "k1 hold +60 s"
        await client.request("skip")
        await client.request("abort", reason="test over")
        finished = await next_event(client, kind("run_finished"))
        assert finished["outcome"] == "aborted" and "test over" in finished["reason"]
        assert h.devices["k1"].plant is not None  # devices stay open for the next run


async def test_alarm_acknowledged_through_the_socket(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h, await ServiceClient.connect(h.socket) as client:
        await client.request("subscribe")
        await client.request("start", job="bake", kiln="k1", lot="L3")
        raised = await next_event(client, kind("alarm_raised"), timeout_s=40)
        assert raised["code"] == "hold_warn"
        alarms = (await client.request("status"))["runs"][0]["alarms"]
        assert [(a["alarm_id"], a["acked"]) for a in alarms] == [(raised["alarm_id"], False)]
        await client.request("ack", alarm=raised["alarm_id"])
        alarms = (await client.request("status"))["runs"][0]["alarms"]
        assert [a["acked"] for a in alarms] == [True]
        with pytest.raises(RequestFailed, match="no unacknowledged alarm"):
            await client.request("ack", alarm=raised["alarm_id"], run=alarms[0]["run_id"])
        await client.request("abort")


async def test_bad_requests_get_clear_errors(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        reader, writer = await asyncio.open_unix_connection(str(h.socket))

        async def ask(line: str) -> dict[str, Any]:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            async with asyncio.timeout(10):
                reply: dict[str, Any] = json.loads(await reader.readline())
            assert reply["ok"] is False
            return reply

        assert "not a JSON object" in (await ask("hello"))["error"]
        assert "not a JSON object" in (await ask("[1, 2]"))["error"]
        reply = await ask('{"id": 7, "op": "explode"}')
        assert reply["id"] == 7 and "allowed: status, start" in reply["error"]
        assert 'give "job"' in (await ask('{"id": 1, "op": "start"}'))["error"]
        unknown = '{"id": 2, "op": "start", "job": "no-such-job", "lot": "L"}'
        assert "no-such-job" in (await ask(unknown))["error"]
        # the lot id is the batch record's key: refused when missing or empty
        no_lot = '{"id": 5, "op": "start", "job": "bake", "lot": ""}'
        assert 'give "job"' in (await ask(no_lot))["error"]
        assert "no run is active" in (await ask('{"id": 3, "op": "pause"}'))["error"]
        assert (
            "must be a number" in (await ask('{"id": 4, "op": "extend", "seconds": "x"}'))["error"]
        )
        assert "not running" in (await ask('{"id": 5, "op": "pause", "run": "nope"}'))["error"]
        assert (
            "no active run has prompt"
            in (await ask('{"id": 6, "op": "answer", "prompt": "p9"}'))["error"]
        )
        # the connection is still good after all that
        writer.write(b'{"id": 8, "op": "recipes"}\n')
        await writer.drain()
        reply = json.loads(await reader.readline())
        assert reply["ok"] and ("pins", "job") in [(r["name"], r["kind"]) for r in reply["recipes"]]
        writer.close()
        await writer.wait_closed()


async def test_a_second_service_on_the_same_socket_is_refused(tmp_path: Path) -> None:
    from kilnctl.service.server import ServiceError

    async with running_service(tmp_path) as h:
        with pytest.raises(ServiceError, match="already running"):
            (tmp_path / "b").mkdir()
            async with running_service(tmp_path / "b", socket=h.socket):
                pass


async def test_a_stale_socket_file_is_replaced(tmp_path: Path) -> None:
    import socket as socketlib

    stale = tmp_path / "kilnctl.sock"
    sock = socketlib.socket(socketlib.AF_UNIX)
    sock.bind(str(stale))
    sock.close()  # bound, never listened: what a crashed service leaves
    async with running_service(tmp_path) as h, await ServiceClient.connect(h.socket) as client:
        assert (await client.request("status"))["ok"]
