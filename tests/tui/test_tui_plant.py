"""The plant at a glance (headless Pilot against a real service): every configured kiln and
tank has a line all the time, idle ones from the plant watch, those in a run from its
samples, with the run, step, time left and an alarm badge."""

from __future__ import annotations

import asyncio
from pathlib import Path

from svc_plant import LONG, SPEED, running_service
from test_tui_app import SIZE, start, until

from drivers.errors import DeviceError
from kilnctl.cli.cmd_control import status_text
from kilnctl.clock import ScaledClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import Abort, AnswerPrompt
from kilnctl.engine.schedule import FiringSchedule
from kilnctl.service.client import ServiceClient
from kilnctl.tui.app import KilnApp
from kilnctl.tui.format import Display
from kilnctl.tui.plantlines import NAME_WIDTH, name_width, plant_line
from kilnctl.tui.widgets import TANK_KEYS


def plant_text(app: KilnApp) -> str:
    return str(app.plant.render())


def line_of(app: KilnApp, name: str) -> str:
    return next((ln for ln in plant_text(app).splitlines() if ln.startswith(name)), "")


async def test_status_has_every_kiln_and_tank_idle_or_in_a_run(tmp_path: Path) -> None:
    # Before: "status" said nothing of a kiln or tank not in a run.
    async with running_service(tmp_path) as h:
        h.engine.start_watch()
        client = await ServiceClient.connect(h.socket)
        try:
            async with asyncio.timeout(10):
                while True:
                    rows = {r["name"]: r for r in (await client.request("status"))["devices"]}
                    if "pv_c" in rows["k1"]["values"] and "amps" in rows["gold"]["values"]:
                        break
                    await asyncio.sleep(0.02)
            assert rows["k1"]["kind"] == "kiln" and rows["k1"]["state"] == "idle"
            assert rows["gold"]["kind"] == "tank" and rows["gold"]["values"]["output_on"] is False
            run = await start(h.socket, job="long", kiln="k1", lot="P1")
            async with asyncio.timeout(10):
                while True:
                    k1 = next(
                        r for r in (await client.request("status"))["devices"] if r["name"] == "k1"
                    )
                    if k1["run_id"] == run and k1["values"].get("sp_c") is not None:
                        break
                    await asyncio.sleep(0.02)
            assert k1["job"] == "long" and k1["lot"] == "P1" and k1["state"] == "running"
            assert k1["segment"]["index"] == 0 and k1["time_left_s"] > 0
            # `kilnctl status` prints the TUI's line per kiln and tank
            text = status_text(await client.request("status"))
            assert "  k1     PV" in text and "long, lot P1" in text
            assert "  gold   off" in text and "idle" in text
        finally:
            await client.close()


async def test_the_plant_table_shows_idle_kiln_and_tank_then_a_run_then_idle_again(
    tmp_path: Path,
) -> None:
    # Before: with no active run the screen said "no kiln: PV / SP °C" and nothing else.
    async with running_service(tmp_path) as h:
        h.engine.start_watch()
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.2)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "PV" in line_of(app, "k1") and "A" in line_of(app, "gold"))
            assert "idle" in line_of(app, "k1") and "idle" in line_of(app, "gold")
            assert "off" in line_of(app, "gold") and "Ah" in line_of(app, "gold")
            run = await start(h.socket, job="long", kiln="k1", lot="P2")
            await until(pilot, lambda: "long P2" in line_of(app, "k1"))
            await until(
                pilot, lambda: "s1 ramp>800°C" in line_of(app, "k1") and "~" in line_of(app, "k1")
            )
            assert "idle" in line_of(app, "gold")
            assert all(len(ln) <= 78 for ln in plant_text(app).splitlines())
            await h.engine.submit(Abort(run_id=run, who="test", reason="done"))
            async with asyncio.timeout(10):
                await h.engine.wait(run)
            await until(pilot, lambda: "idle" in line_of(app, "k1"))
            await pilot.press("q")


async def _answer_prompts(engine: Engine, run: str) -> None:
    """Answer the run's prompts "ok" as they come (the rinse's two), until cancelled."""
    while True:
        for prompt in engine.runs[run].ctx.open_prompts:
            await engine.submit(AnswerPrompt(run_id=run, who="test", prompt_id=prompt))
        await asyncio.sleep(0.02)


async def test_a_tank_in_a_run_shows_current_voltage_amp_hours_step_time_left_and_chart(
    tmp_path: Path,
) -> None:
    # slower than the other tests: the whole plating job is 70 s of service time
    async with running_service(tmp_path, clock=ScaledClock(10)) as h:
        h.engine.start_watch()
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.2)
        async with app.run_test(size=(120, 40)) as pilot:
            run = await start(h.socket, job="plate", lot="P3")
            answers = asyncio.create_task(_answer_prompts(h.engine, run))
            # the rinse first (prompts answered at the engine): the tank is the run's already
            await until(pilot, lambda: "plate, lot P3: rinse" in line_of(app, "gold"))
            # 3 dm2 at 1.2 A/dm2
            await until(pilot, lambda: "SP 3.60 A" in line_of(app, "gold"))
            line = line_of(app, "gold")
            assert " A " in line and " V " in line and " Ah" in line and "~0:00:" in line
            # Before: only kilns were charted. The tank's current, its SP and amp-hours,
            # with the step changes marked, thinned to the plot's width.
            chart = app.chart
            # the line can come from a status poll before the sample event reaches the chart
            await until(pilot, lambda: (chart.source, chart.keys) == ("gold", TANK_KEYS))
            await until(pilot, lambda: chart.drawn_points > 0 and len(chart.ah) > 1, timeout_s=5)
            # the gold step's 3.6 A among the charted SPs, not necessarily the last: under
            # load its ~2 s of wall time may be over (the strike's 2 A then follows)
            await until(pilot, lambda: any(abs(sp - 3.6) < 1e-9 for _, sp in chart.sp))
            assert max(ah for _, ah in chart.ah) > chart.ah[0][1]  # amp-hours counted
            assert chart.drawn_points <= 2 * chart.size.width + 2
            await until(pilot, lambda: any(kind == "step" for _, kind in chart.marks))
            answers.cancel()
            await pilot.press("q")


async def test_an_idle_kilns_alarm_from_the_plant_watch_gets_a_badge(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        h.engine.start_watch()
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.2)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "idle" in line_of(app, "k1"))
            assert "!" not in line_of(app, "k1")
            h.devices["k1"].inject("stuck_relay")
            await until(pilot, lambda: line_of(app, "k1").endswith(" !1"), timeout_s=30)
            assert "idle" in line_of(app, "k1") and "!" not in line_of(app, "gold")
            await pilot.press("q")


def test_a_schedule_plans_its_setpoint_to_the_end() -> None:
    schedule = FiringSchedule.from_profile(LONG)
    schedule.start(1000.0, 20.0)
    plan = schedule.plan(1000.0)
    assert plan[0] == (1000.0, 20.0)
    ramp_s = (800 - 20) / 100 * 3600
    assert plan[1:] == [(1000.0 + ramp_s, 800.0), (1000.0 + ramp_s + 3600, 800.0)]
    assert plan[-1][0] - plan[0][0] == schedule.remaining_s()


async def test_the_kiln_chart_draws_the_planned_profile_ahead_of_now(tmp_path: Path) -> None:
    # Before: the chart ended at the last sample; the rest of the firing was not shown.
    async with running_service(tmp_path) as h:
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.2)
        async with app.run_test(size=(120, 40)) as pilot:
            await start(h.socket, job="long", kiln="k1", lot="P5")
            chart = app.chart
            await until(pilot, lambda: chart.source == "k1" and len(chart.plan) == 3)
            assert chart.plan[-1][1] == 800.0 and chart.plan[0][0] > chart.sp[0][0]
            # from the last SP sample to the end of the ramp and of the hold, through the
            # plan's own first point (the service's "now") when that is newer than the last
            # sample the chart has: under load the event stream runs behind the status reply
            await until(pilot, lambda: chart.drawn_plan_points in (3, 4), timeout_s=5)
            await pilot.press("q")


async def test_an_idle_kilns_sensor_break_is_not_shown_as_its_temperature(
    tmp_path: Path,
) -> None:
    # Before: a broken thermocouple on an idle kiln showed "PV 1372.0 °C" (the controller's
    # type K range limit) on the plant table and in `kilnctl status`, as if the kiln were
    # that hot.
    async with running_service(tmp_path) as h:
        h.engine.start_watch()
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.2)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "idle" in line_of(app, "k1"))
            h.devices["k1"].inject("tc_open")
            await until(pilot, lambda: "SENSOR BREAK" in line_of(app, "k1"), timeout_s=10)
            assert "1372" not in line_of(app, "k1") and "idle" in line_of(app, "k1")
            await pilot.press("q")
        client = await ServiceClient.connect(h.socket)
        try:
            text = status_text(await client.request("status"))
        finally:
            await client.close()
        k1 = next(ln for ln in text.splitlines() if ln.startswith("  k1 "))
        assert "PV SENSOR BREAK  SP" in k1 and "1372" not in k1


async def test_idle_rows_between_status_polls_are_live_on_a_sped_up_plant(
    tmp_path: Path,
) -> None:
    # Before: on `kilnctl sim --speed 60` every idle kiln and tank was dimmed and marked
    # "(0:03:20 old)" all the time: the allowance for the status poll (5 real seconds)
    # was counted in service seconds, of which 300 pass between two polls at 60x.
    async with running_service(tmp_path) as h:  # its clock runs at SPEED (300x)
        h.engine.start_watch()
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=2.0)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "idle" in line_of(app, "k1") and app._rows_at > 0)
            polled = app._rows_at
            # half a poll interval on (150 service seconds), before the next status
            await until(pilot, lambda: (app.service_now() or 0.0) - polled > 0.25 * SPEED)
            app._redraw_plant()
            if app._rows_at == polled:  # still the same poll's rows: they are live
                assert " old)" not in line_of(app, "k1"), line_of(app, "k1")
                assert not any(stale for _, stale in app.plant.lines)
            await pilot.press("q")


def tank_row(name: str) -> dict[str, object]:
    values = {"t": 1000.0, "amps": 0.0, "volts": 0.0, "amp_hours": 0.0, "output_on": False}
    return {"name": name, "kind": "tank", "device": "line", "values": values, "bath": {}}


def test_no_cut_name_reads_as_another_kiln_or_tank() -> None:
    # Before: the bundled plant's tanks showed as "coppe…" (copper_strike) above "copper",
    # at 80 and at 120 columns and in `kilnctl status`, which has all the room it needs.
    names = ["kiln1", "electroclean", "copper_strike", "copper", "black_nickel", "gold"]
    rows = [tank_row(n) for n in names]
    compact = name_width(names, 74)
    lines = [plant_line(r, Display(now=1000.0), 74, names_w=compact)[0] for r in rows]
    shown = [line[:compact].rstrip() for line in lines]
    assert shown == ["kiln1", "electro…", "copper_…", "copper", "black_n…", "gold"]
    assert all(len(line) <= 74 for line in lines)
    assert name_width(["k1", "gold"], 74) == NAME_WIDTH  # short names: as before
    text = status_text({"time": 1000.0, "devices": rows, "runs": []})
    assert "  copper_strike off" in text and "  copper        off" in text


async def test_the_chart_follows_the_run_from_its_kiln_to_its_tank(tmp_path: Path) -> None:
    # Before: the chart took the first kiln or tank a run sampled and kept it to the end:
    # on the bundled main job the plating (nickel, gold) was never charted, and on the
    # black-nickel job the chart showed the electroclean tank, off, while nickel plated.
    async with running_service(tmp_path) as h:
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.2)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.connected)
            run = await start(h.socket, job="pins", lot="P9")
            answers = asyncio.create_task(_answer_prompts(h.engine, run))
            chart = app.chart
            await until(pilot, lambda: chart.source == "k1")
            # the 20 min bake (4 s at 300x), then the 30 s gold flash
            await until(pilot, lambda: chart.source == "gold", timeout_s=20)
            assert chart.keys == TANK_KEYS and chart.run_id == run
            await until(pilot, lambda: len(chart.pv) > 1 and chart.pv[-1][1] > 0)
            answers.cancel()
            await pilot.press("q")


async def test_a_kiln_left_unconfirmed_is_never_shown_idle_cold_and_off(
    tmp_path: Path,
) -> None:
    # Before: kiln1's line went dead mid-firing (sim-fault kiln1 no_response); the run
    # failed and the service kept retrying heat-off, but the plant table and `kilnctl
    # status` said "kiln1 PV 39.5 °C SP 0.0 °C 0% idle": the watch's reading from before
    # the run, while the kiln was last seen at 390 °C with 100 % output.
    async with running_service(tmp_path) as h:
        h.engine.start_watch()
        app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.2)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "idle" in line_of(app, "k1"))
            await start(h.socket, job="long", kiln="k1", lot="U1")
            await until(pilot, lambda: "long U1" in line_of(app, "k1"))
            await until(pilot, lambda: pv_of(line_of(app, "k1")) > 40.0)

            async def dead(*_: object) -> None:
                raise DeviceError("k1: no response")

            for op in ("read", "safe", "set_setpoint", "set_output"):
                setattr(h.devices["k1"], op, dead)
            await until(pilot, lambda: "NOT CONFIRMED SAFE" in line_of(app, "k1"))
            line = line_of(app, "k1")
            assert "idle" not in line
            assert pv_of(line) > 40.0, line  # the run's last reading, not the one before it
            await pilot.press("q")
        client = await ServiceClient.connect(h.socket)
        try:
            text = status_text(await client.request("status"))
        finally:
            await client.close()
        k1 = next(ln for ln in text.splitlines() if ln.startswith("  k1 "))
        assert "NOT CONFIRMED SAFE" in k1 and "idle" not in k1
        for op in ("read", "safe", "set_setpoint", "set_output"):
            delattr(h.devices["k1"], op)  # the line back: the keeper confirms k1, the end


def pv_of(line: str) -> float:
    """The PV of a kiln's plant line (-1 without one)."""
    try:
        return float(line.split("PV")[1].split()[0])
    except (IndexError, ValueError):
        return -1.0
