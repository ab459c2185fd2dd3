"""Issue 10 §2 at a sped-up clock: "old" means the reads stopped, not that the line is
slow. Three simulated Eurotherm 3216 behind a real Modbus TCP socket, each reply 30 ms late
on the wire (an RS-485 line's pace), the real driver, the service's plant watch on a clock
60 times real time: one watch cycle takes several seconds of service time, and the TUI
polls the status every 0.2 s real = 12 s of service time. Before, every idle row read
"old" between polls (the threshold was 5 s plus the poll interval unscaled). Now the
service reports each device's actual read period and the TUI allows five of them plus a
poll scaled by the clock's speed; a device that stops answering still shows old."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from svc_plant import running_service
from test_tui_app import until
from test_tui_plant import line_of

from drivers.registry import open_device
from kilnctl.clock import Clock, ScaledClock
from kilnctl.plant import Plant
from kilnctl.service.client import ServiceClient
from kilnctl.tui.app import KilnApp
from kilnctl.tui.format import STALE_PERIODS, Display
from kilnctl.tui.plantlines import plant_line, stale_after_s
from simulators.devices import build
from simulators.servers.modbus_tcp import ModbusTcpServer

SPEED = 60.0
LATE_S = 0.03
"""Real seconds each reply waits on the wire."""
KILNS = ("k1", "k2", "k3")
PLANT = Plant.model_validate(
    {
        "devices": {k: {"driver": "eurotherm3216", "url": f"tcp://sim/{k}"} for k in KILNS},
        "kilns": {k: {"controller": k, "max_temp": 1000} for k in KILNS},
    }
)


def slow_line(server: ModbusTcpServer, opened: list[Any]) -> Callable[[Clock], dict[str, Any]]:
    def make(clock: Clock) -> dict[str, Any]:
        devices: dict[str, Any] = {}
        for unit, name in enumerate(KILNS, start=1):
            sim = build("eurotherm3216", unit=unit, time_fn=clock.now)
            sim.wire.extra_delay_s = LATE_S
            server.slaves[unit] = sim
            devices[name] = open_device(
                name, "eurotherm3216", server.url(unit) + "&timeout=0.2&retries=0"
            )
        opened.extend(devices.values())
        return devices

    return make


async def test_idle_rows_are_not_old_at_60x_until_a_device_stops_answering(
    tmp_path: Path,
) -> None:
    server = ModbusTcpServer({})
    await server.start()
    opened: list[Any] = []
    try:
        clock = ScaledClock(SPEED)
        async with running_service(
            tmp_path, clock, plant=PLANT, make_devices=slow_line(server, opened)
        ) as h:
            watch = h.engine.start_watch()
            app = KilnApp(h.socket, retry_s=0.05, status_every_s=0.2)
            async with app.run_test(size=(80, 24)) as pilot:
                await until(pilot, lambda: len(watch.periods) == 3, timeout_s=10)
                await until(pilot, lambda: all("PV" in line_of(app, k) for k in KILNS))
                # the watch's cycle is longer than the 1 s control period at this speed
                assert min(watch.periods.values()) > 1.5, watch.periods
                start = clock.wall_time()
                seen: list[str] = []
                while clock.wall_time() < start + 120:  # 2 min of service time, 2 s real
                    await pilot.pause(0.02)
                    seen += [line_of(app, k) for k in KILNS]
                assert not [ln for ln in seen if "old)" in ln], watch.periods
                # the status says each device's read period
                client = await ServiceClient.connect(h.socket)
                try:
                    rows = (await client.request("status"))["devices"]
                finally:
                    await client.close()
                assert all(r["read_period_s"] > 1.5 for r in rows)
                # k2 stops answering: its reading ages past five cycles and a poll, and
                # shows old; the others stay live
                server.slaves[2].wire.no_response = True  # type: ignore[attr-defined]
                await until(pilot, lambda: "old)" in line_of(app, "k2"), timeout_s=20)
                assert "old)" not in line_of(app, "k1") + line_of(app, "k3")
                await pilot.press("q")
    finally:
        for device in opened:
            await device.close()
        await server.close()


def test_old_is_five_read_periods_plus_a_poll_in_service_time() -> None:
    idle = {
        "name": "k1",
        "kind": "kiln",
        "values": {"t": 1000.0, "pv_c": 20.0, "sp_c": 0.0, "out_pct": 0.0},
        "run_id": "",
        "read_period_s": 9.0,
    }
    poll_s = 5.0 * SPEED  # status_every_s 5 s real at x60
    assert stale_after_s(idle, poll_s) == STALE_PERIODS * 9.0 + poll_s
    assert not plant_line(idle, Display(now=1000.0 + 340), 78, 0.0, stale_after_s(idle, poll_s))[1]
    assert plant_line(idle, Display(now=1000.0 + 350), 78, 0.0, stale_after_s(idle, poll_s))[1]
    # in a run the samples come as events (no poll); never old under 5 real seconds
    in_run = {**idle, "run_id": "r1", "read_period_s": 0.2}
    assert stale_after_s(in_run, poll_s) == STALE_PERIODS * 0.2
    assert stale_after_s({**idle, "read_period_s": None}, 0.0) == 0.0
    limit = stale_after_s(in_run, poll_s)
    assert not plant_line(in_run, Display(now=1000.0 + 4.9), 78, 0.0, limit)[1]
    assert plant_line(in_run, Display(now=1000.0 + 5.1), 78, 0.0, limit)[1]
    at_60x = Display(now=1000.0 + 299.0, speed=SPEED)  # 4.98 real seconds
    assert not plant_line(in_run, at_60x, 78, 0.0, limit)[1]
