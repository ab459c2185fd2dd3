"""`serve` (and the TUI, which starts runs through it) checks a job before any device is
written, over a real Unix socket: an error refuses the start request with `validate`'s
message; a warning is streamed as a notice at the start and the run goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from svc_plant import running_service

from kilnctl.cli.main import main
from kilnctl.recipes.models import FiringProfile, Job
from kilnctl.service.client import RequestFailed, ServiceClient

HOT = FiringProfile.model_validate(
    {"name": "hot", "max_temp": 1200, "segments": [{"rate": "max", "target": 1100}]}
)
ZINC_ENAMEL = Job.model_validate(
    {
        "name": "zinc-enamel",
        "lot": {"material": "zinc_alloy", "pin_count": 25, "area_per_pin": "0.12 dm2"},
        "steps": [{"kind": "firing", "ref": "long", "kiln": "k1"}],
    }
)
BRASS_ENAMEL = Job.model_validate(
    {
        "name": "brass-enamel",
        "lot": {"material": "brass", "pin_count": 25, "area_per_pin": "0.12 dm2"},
        "steps": [{"kind": "firing", "ref": "long", "kiln": "k1"}],
    }
)


async def test_start_requests_are_checked_before_any_device_is_written(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        h.engine.library.recipes.update({r.name: r for r in (HOT, ZINC_ENAMEL, BRASS_ENAMEL)})
        client = await ServiceClient.connect(h.socket)
        await client.request("subscribe")
        with pytest.raises(RequestFailed) as hot:
            await client.request("start", job="hot", kiln="k1", lot="L1")
        assert str(hot.value) == (
            "start: refused before any device was written:\n"
            "  hot: error: hot reaches 1100 °C, above kiln k1's max_temp (allowed: <= 1000 °C)"
        )
        with pytest.raises(RequestFailed) as zinc:
            await client.request("start", job="zinc-enamel", lot="L2")
        assert "long reaches 800 °C; a zinc_alloy lot melts at 381 °C" in str(zinc.value)
        assert (await h.devices["k1"].read()).sp_c == 20.0  # its power-on setpoint: unwritten
        assert h.engine.runs == {}

        run = (await client.request("start", job="brass-enamel", lot="L3"))["run"]
        async with asyncio.timeout(20):
            async for event in client.events():
                if event["kind"] == "notice":
                    break
        assert (event["run_id"], event["topic"]) == (run, "preflight")
        assert event["message"].startswith("steps[0] (long): warning: long fires vitreous")
        await client.request("abort", run=run)
        await client.close()


async def test_start_of_a_bare_plating_recipe_is_refused_before_it_is_answered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plating recipe started alone has no lot, so no area for its current densities:
    the run would stop at its first step. `kilnctl start` (as `kilnctl run`) is refused
    with what to start instead, and no run is recorded."""
    async with running_service(tmp_path) as h:
        argv = ["start", "flash", "--lot", "L1", "--tank", "gold", "--socket", str(h.socket)]
        code = await asyncio.to_thread(main, argv)
        out, err = capsys.readouterr()
        assert code == 2 and "started" not in out, out
        assert err.startswith("kilnctl: start: refused before any device was written:\n"), err
        assert "flash: error: a plating step needs the lot's area" in err
        assert "start a job that plates with it" in err
        assert h.engine.runs == {} and h.journal.runs() == []
