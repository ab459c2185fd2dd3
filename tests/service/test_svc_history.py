"""The "history" op: a run's past samples of one source, thinned, with no gap before the
live stream (samples written while the journal is read come from the service's live tail)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from svc_plant import running_service

import kilnctl.service.server
from kilnctl.service.client import RequestFailed, ServiceClient

HOURS_10 = 36_000


async def seen_samples(client: ServiceClient, source: str, n: int) -> list[float]:
    """Times of the first `n` live samples of `source`."""
    times: list[float] = []
    async with asyncio.timeout(20):
        async for event in client.events():
            if event.get("kind") == "sample" and event["source"] == source:
                times.append(event["t"])
                if len(times) >= n:
                    return times
    raise AssertionError("stream ended")


async def test_history_is_the_whole_run_thinned_with_no_gap(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h, await ServiceClient.connect(h.socket) as client:
        await client.request("subscribe")
        run = (await client.request("start", job="long", kiln="k1", lot="H1"))["run"]
        seen = await seen_samples(client, "k1", 300)
        reply = await client.request("history", run=run, source="k1", max_points=60)
        assert reply["count"] >= len(seen)  # journal + live tail: nothing missing
        pv, sp = reply["series"]["pv_c"], reply["series"]["sp_c"]
        assert 2 <= len(pv) <= 60 and 2 <= len(sp) <= 60
        assert [p[0] for p in pv] == sorted(p[0] for p in pv)
        first = next(h.journal.samples(run, "k1")).t
        assert pv[0][0] == sp[0][0] == first == seen[0]  # from the start of the run
        assert max(v for _, v in sp) > min(v for _, v in sp)  # the ramp is there

        since = seen[150]
        later = await client.request("history", run=run, source="k1", since=since)
        assert all(t > since for t, _ in later["series"]["pv_c"])
        assert later["count"] < reply["count"]


async def test_history_refuses_what_it_cannot_answer(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h, await ServiceClient.connect(h.socket) as client:
        with pytest.raises(RequestFailed, match="unknown run"):
            await client.request("history", run="nope", source="k1")
        with pytest.raises(RequestFailed, match='give "run"'):
            await client.request("history", run="x")
        with pytest.raises(RequestFailed, match="max_points"):
            await client.request("history", run="x", source="k1", max_points=1)


async def test_ten_hour_run_is_read_once_without_stalling_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_service(tmp_path) as h:
        t0 = 1_700_000_000.0
        run = h.journal.start_run(
            job_name="long", lot_id="BIG", recipe_hashes={}, started_at=t0, meta={}
        )
        rows = []
        for i in range(HOURS_10):
            t = t0 + i
            sp = min(20 + i / 36, 800.0)
            rows.append((run, i, t, "k1", {"pv_c": sp - 1, "sp_c": sp, "out_pct": 50}))
            rows.append((run, i, t, "gold", {"amps": 3.0, "volts": 2.0}))
        # one transaction for the 10 hours (the journal commits each sample as a run writes
        # it; here only the reading is under test)
        with contextlib.closing(sqlite3.connect(h.journal.path)) as db, db:
            db.executemany(
                "INSERT INTO samples (run_id, seq, t, source, vals) VALUES (?, ?, ?, ?, ?)",
                [(r, i, t, src, json.dumps(vals)) for r, i, t, src, vals in rows],
            )

        # The read is held until the loop has answered another client: were it done in the
        # loop (the engine's), that answer could not come and the read would give up. A
        # condition, not a stall measured in wall time (which a loaded machine stretches).
        loop_served = threading.Event()
        real_read = kilnctl.service.server.read_journal

        def read_once_the_loop_has_served(*args: Any) -> dict[str, list[tuple[float, float]]]:
            if not loop_served.wait(timeout=20):
                raise AssertionError("the loop answered nothing while the journal was read")
            return real_read(*args)

        monkeypatch.setattr(kilnctl.service.server, "read_journal", read_once_the_loop_has_served)
        async with (
            await ServiceClient.connect(h.socket) as client,
            await ServiceClient.connect(h.socket) as other,
        ):
            history = asyncio.ensure_future(
                client.request("history", run=run, source="k1", max_points=160)
            )
            assert (await other.request("status"))["runs"] == []
            assert not history.done()
            loop_served.set()
            reply = await history
        assert reply["count"] == HOURS_10
        assert len(reply["series"]["pv_c"]) <= 160
        assert reply["series"]["sp_c"][-1][1] == 800.0
