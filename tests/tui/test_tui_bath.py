"""Issue 10 §1 (bath temperature of every tank) and §3 (the tank chart's amp-hour target),
headless Pilot against a real service over in-process simulated devices: the gold tank has
a bath heater (a simulated 3216 running its own PID on the bath), read by the plant watch
while the tank is idle and sampled by the run while it plates."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from svc_plant import GOLD_AH, PLANT, Harness, devices_for, running_service
from test_tui_app import start, until
from test_tui_plant import _answer_prompts, line_of
from textual.pilot import Pilot

from kilnctl.cli.cmd_control import status_text
from kilnctl.clock import Clock, ScaledClock
from kilnctl.engine.messages import Abort
from kilnctl.engine.watch import PlantWatch
from kilnctl.plant import Plant
from kilnctl.recipes.faraday import amp_hours_for
from kilnctl.recipes.models import Deposit, PlatingRecipe
from kilnctl.service.client import ServiceClient
from kilnctl.service.timeleft import PlatingProgress
from kilnctl.tui.app import KilnApp
from kilnctl.tui.format import Display
from kilnctl.tui.plantlines import plant_line
from simulators.inprocess import SimBathHeater
from simulators.physics.plating import default_bath_params

BAND = (60.0, 65.0)
"""The gold tank's bath band in this plant (°C)."""


def plant_with_heater() -> Plant:
    tank = {**PLANT.tanks["gold"].model_dump(), "heater": "au_bath", "bath_temp_c": BAND}
    return PLANT.model_validate(
        {
            **PLANT.model_dump(),
            "devices": {
                **PLANT.model_dump()["devices"],
                "au_bath": {"driver": "eurotherm3216", "url": "inprocess://au_bath"},
            },
            "tanks": {"gold": tank},
        }
    )


def heater_at(bath_c: float, sp_c: float) -> Any:
    """The in-process plant with the gold bath at `bath_c`, its heater regulating to sp_c."""

    def make(clock: Clock) -> dict[str, Any]:
        params = replace(default_bath_params(), initial_c=bath_c)
        heater = SimBathHeater("au_bath", clock.now, params, seed=1)
        heater.loop.set_target(sp_c)
        return {**devices_for(clock), "au_bath": heater}

    return make


@asynccontextmanager
async def bath_on_screen(
    tmp_path: Path, clock: Clock
) -> AsyncIterator[tuple[Harness, PlantWatch, KilnApp, Pilot[None]]]:
    """The service with the gold bath at its heater's SP (62 °C) and its plant watch, and
    the TUI at 120x40 once the idle tank's line shows the bath."""
    async with running_service(
        tmp_path, clock, plant=plant_with_heater(), make_devices=heater_at(62.0, 62.0)
    ) as h:
        watch = h.engine.start_watch()
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.2)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: "bath 6" in line_of(app, "gold"))
            yield h, watch, app, pilot


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_an_idle_tanks_bath_is_in_the_plant_table_and_status_low_against_its_band(
    size: tuple[int, int], tmp_path: Path
) -> None:
    # Before: the plant watch read no bath heater: an idle tank showed no bath at all.
    clock = ScaledClock(10)  # the bath heats ~0.1 °C a second: it stays low meanwhile
    async with running_service(
        tmp_path, clock, plant=plant_with_heater(), make_devices=heater_at(50.0, 62.0)
    ) as h:
        h.engine.start_watch()
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.2)
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: "°C" in line_of(app, "gold"))
            line = line_of(app, "gold")
            bath = (await h.devices["au_bath"].read()).pv_c
            assert abs(bath - 50.0) < 1.0  # the heater has hardly started on the bath
            assert "idle" in line and "LOW" in line and "old)" not in line, line
            if size[0] >= 120:  # the long form: labelled, the heater's SP and the band
                assert re.search(r"bath \d\d\.\d °C \(SP 62\.0 °C\) LOW, band 60-65 °C", line)
            else:
                assert re.search(r" Ah \d\d\.\d °C LOW  idle$", line), line
            assert all(len(ln) <= size[0] - 2 for ln in str(app.plant.render()).splitlines())
            await pilot.press("q")
        client = await ServiceClient.connect(h.socket)
        try:
            status = await client.request("status")
        finally:
            await client.close()
        bath = (await h.devices["au_bath"].read()).pv_c
        gold = next(r for r in status["devices"] if r["name"] == "gold")
        assert gold["bath"]["sp_c"] == 62.0 and gold["bath"]["band"] == list(BAND)
        assert abs(gold["bath"]["bath_c"] - bath) < 0.5  # one watch period ago
        # `kilnctl status` prints the same line, long form
        text = status_text(status)
        assert re.search(r"  gold .* bath \d\d\.\d °C \(SP 62\.0 °C\) LOW, band 60-65 °C", text)


async def test_the_run_samples_the_bath_it_holds_and_the_watch_leaves_it_alone(
    tmp_path: Path,
) -> None:
    # the gold step is 20 s of service time
    async with bath_on_screen(tmp_path, ScaledClock(10)) as (h, watch, app, pilot):
        run = await start(h.socket, job="plate", lot="P7")
        await until(pilot, lambda: "plate, lot P7" in line_of(app, "gold"))
        kiln_at = watch.latest["k1"]["t"]
        # a whole watch period begun with the run on (the watch reads k1 first)
        await until(pilot, lambda: watch.latest["k1"]["t"] > kiln_at)
        read_at = watch.latest["au_bath"]["t"]
        kiln_at = watch.latest["k1"]["t"]
        # the rinse waits for its prompts: the run holds the heater, the watch reads
        # the idle kiln on and the heater no more; the tank's readings show their age
        # (both awaited: the age shows on the TUI's clock, the kiln's next read on the
        # watch's, which a loaded machine delays)
        await until(
            pilot,
            lambda: "old)" in line_of(app, "gold") and watch.latest["k1"]["t"] > kiln_at,
            timeout_s=10,
        )
        assert watch.latest["au_bath"]["t"] == read_at
        answers = asyncio.create_task(_answer_prompts(h.engine, run))
        try:
            # plating: the run's own bath sample, fresh
            await until(pilot, lambda: "SP 3.60 A  bath 6" in line_of(app, "gold"))
            assert "old)" not in line_of(app, "gold")
            # Issue 10 §3: the gold step ends at GOLD_AH: its target on the chart
            chart = app.chart
            await until(pilot, lambda: chart.target_ah == GOLD_AH, timeout_s=10)
            await until(pilot, lambda: chart.drawn_target == GOLD_AH, timeout_s=5)
            assert f" of {GOLD_AH:.2f} Ah" in chart.title_text
            assert watch.latest["au_bath"]["t"] == read_at
            # the next step ends on time: no target
            await until(pilot, lambda: chart.target_ah is None, timeout_s=15)
        finally:
            answers.cancel()
        await h.engine.submit(Abort(run_id=run, who="test", reason="done"))
        async with asyncio.timeout(10):
            await h.engine.wait(run)
        # idle again: the watch reads the heater again
        async with asyncio.timeout(10):
            while watch.latest["au_bath"]["t"] == read_at:
                await asyncio.sleep(0.02)
        await pilot.press("q")


def test_a_thickness_ended_steps_target_is_faradays_amp_hours() -> None:
    # the service's ah_target for a thickness end: the engine's target_amp_hours (one formula)
    recipe = PlatingRecipe.model_validate(
        {
            "name": "ni",
            "steps": [
                {
                    "name": "nickel",
                    "kind": "electro",
                    "tank": "gold",
                    "current_density": "3 A/dm2",
                    "deposit": "nickel",
                    "end": {"thickness": "5 um"},
                }
            ],
        }
    )
    progress = PlatingProgress(None)
    progress.recipe, progress.area_dm2, progress.index = recipe, 12.0, 0
    progress.apply({"kind": "sample", "source": "gold", "values": {"amp_hours": 2.5}})
    target = progress.amp_hours_target()
    # docs/process.md: 5 µm of nickel on 12 dm² is ≈ 5.1 Ah
    assert target == {
        "tank": "gold",
        "amp_hours": amp_hours_for(Deposit.NICKEL, 5.0, 12.0),
        "so_far": 2.5,
    }
    assert abs(target["amp_hours"] - 5.13) < 0.01
    progress.area_dm2 = 0.0  # no lot: no area, no target (not an error)
    assert progress.amp_hours_target() is None


def test_a_bath_older_than_the_rest_shows_its_own_age_and_its_band_in_the_display_unit() -> None:
    row = {
        "name": "nickel",
        "kind": "tank",
        "values": {"t": 100.0, "amps": 0.0, "volts": 0.0, "amp_hours": 1.0, "output_on": False},
        "bath": {"t": 89.0, "bath_c": 61.0, "sp_c": 57.0, "band": [55.0, 60.0]},
        "run_id": "",
    }
    line, stale = plant_line(row, Display(unit="F", now=101.0), 118)
    assert "bath 141.8 °F (SP 134.6 °F) HIGH, band 131-140 °F  idle (bath 0:00:12 old)" in line
    assert stale
    line, stale = plant_line({**row, "bath": {**row["bath"], "t": 100.0}}, Display(now=101.0))
    assert line.endswith(" 61.0 °C HIGH  idle") and not stale, line


async def test_a_jobs_tank_bath_stays_live_while_the_job_fires(tmp_path: Path) -> None:
    # Before: the run held the heater from its start but read it only while plating on
    # the tank: through the job's firing step the bath was the watch's last reading, older
    # and older ("bath 0:00:40 old").
    clock = ScaledClock(20)  # the bake holds 20 min: the firing outlasts the test
    async with bath_on_screen(tmp_path, clock) as (h, watch, app, pilot):
        run = await start(h.socket, job="pins", lot="P8")
        answers = asyncio.create_task(_answer_prompts(h.engine, run))
        client = await ServiceClient.connect(h.socket)
        try:
            await until(
                pilot, lambda: " s1 " in line_of(app, "k1") or "seg 1" in line_of(app, "k1")
            )
            firing_at = clock.wall_time()
            read_at = watch.latest["au_bath"]["t"]
            # 30 s of service time into the firing (a dozen watch periods)
            await until(pilot, lambda: clock.wall_time() > firing_at + 30, timeout_s=10)
            status = await client.request("status")
            rows = {r["name"]: r for r in status["devices"]}
            assert rows["k1"]["segment"] is not None, "still firing"
            gold = rows["gold"]
            assert gold["run_id"] == run and gold["state"] == "running"
            # the run's own bath sample, one control period old at most
            assert gold["bath"]["t"] > firing_at + 25
            assert status["time"] - gold["bath"]["t"] <= 2.0
            assert gold["bath"]["band"] == list(BAND)
            assert abs(gold["bath"]["bath_c"] - 62.0) < 1.0  # the heater holds its SP
            assert watch.latest["au_bath"]["t"] == read_at  # the run's, not the watch's
            await until(pilot, lambda: "bath 6" in line_of(app, "gold"))
            assert "bath 0:" not in line_of(app, "gold"), line_of(app, "gold")
        finally:
            answers.cancel()
            await client.close()
        await h.engine.submit(Abort(run_id=run, who="test", reason="done"))
        async with asyncio.timeout(10):
            await h.engine.wait(run)
        await pilot.press("q")
