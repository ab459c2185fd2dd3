"""The "devices" section of the service's status: every configured kiln and tank, in a
run or not, with its latest reading, so a client shows the whole plant without reading
any device itself.

In a run, the values are the run's latest samples (RunView); between runs, the plant
watch's latest reading (PlantWatch.latest). One row per kiln/tank, in the plant config's
order (kilns first):

    {"name": "k1", "kind": "kiln" | "tank", "device": "k1",
     "values": {"t": unix s, "pv_c", "sp_c", "out_pct", "sensor_break"?} (kiln)
               {"t", "volts", "amps", "amp_hours", "amps_sp"?, "output_on"?} (tank),
     "bath": {"t", "bath_c", "sp_c"?, "out_pct"?, "band"?} | {},   # tanks with a heater
     "state": "idle" | a run's state ("running", "paused", "held"),
     "run_id", "job", "lot", "step": str ("" when idle),
     "segment": {"index", "phase", "target_c"} | None,
     "alarms": number of active alarms on it (its run's and the plant watch's),
     "unacked": how many of them no one has acknowledged yet,
     "watch_alarms", "watch_unacked": the plant watch's part of those,
     "time_left_s": the run's current step's time left (server.py adds it; None unknown),
     "read_period_s": service seconds between the last two readings of its device (the
                      watch's cycle between runs, the run's sampling in one); None unknown,
     "unsafe"?: why its safe state is not confirmed (server.py adds it while the keeper
                 retries the device: comms lost at the end of a run)}

A tank's "bath" is its bath heater's reading: the run's bath sample while the run plates
on it ({"t", "bath_c"}), else the plant watch's last reading of the heater (bath_c, its
SP sp_c, its output out_pct; its "t" ages while a run holds the heater between its plating
steps). "band" is the bath's working window [min, max] °C: the tank's (plant config), or
the plating step's while a step with its own band runs (server.py). `bath_outside` says
where a bath is against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kilnctl.service.runview import RunView


def _device_rows(plant: Any) -> list[tuple[str, str, str, Any]]:
    """(kind, name, device, its plant config) of every kiln, then every tank."""
    kilns = (getattr(plant, "kilns", {}) or {}).items()
    tanks = (getattr(plant, "tanks", {}) or {}).items()
    return [("kiln", n, k.controller, k) for n, k in kilns] + [
        ("tank", n, t.rectifier, t) for n, t in tanks
    ]


def idle_bath(tank: Any, watched: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """A tank's bath from the plant watch's last reading of its heater (a controller
    reading: pv_c, sp_c, out_pct) and the tank's band; {} without a heater."""
    heater = getattr(tank, "heater", None)
    if not heater:
        return {}
    reading = watched.get(heater, {})
    bath: dict[str, Any] = {k: reading[k] for k in ("t", "sp_c", "out_pct") if k in reading}
    if "pv_c" in reading:
        bath["bath_c"] = reading["pv_c"]
    band = getattr(tank, "bath_temp_c", None)
    if band is not None:
        bath["band"] = [float(band[0]), float(band[1])]
    return bath


def bath_outside(bath: dict[str, Any]) -> str | None:
    """"low" or "high" when the bath's temperature is outside its band, else None (no
    reading or no band)."""
    value, band = bath.get("bath_c"), bath.get("band")
    if not isinstance(value, int | float) or not isinstance(band, list | tuple) or len(band) != 2:
        return None
    if value < band[0]:
        return "low"
    return "high" if value > band[1] else None


def plant_devices(
    plant: Any,
    runs: Iterable[RunView],
    watched: Mapping[str, dict[str, Any]],
    watch_alarms: Iterable[Any] = (),
    claimed: Mapping[str, str] | None = None,
    periods: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """The rows (see the module docstring). `watched`: PlantWatch.latest (by device);
    `watch_alarms`: the watch's ActiveAlarm objects (source = kiln/tank name); `claimed`:
    the run driving each busy device (a run holds its tank from its start, before it
    samples it: a rinse step first); `periods`: PlantWatch.periods (by device)."""
    periods = periods or {}
    runs = list(runs)
    by_id = {v.run_id: v for v in runs}
    claimed = claimed or {}
    watch_alarms = list(watch_alarms)
    rows: list[dict[str, Any]] = []
    for kind, name, device, config in _device_rows(plant):
        view = run_on(name, runs) or by_id.get(claimed.get(device, ""))
        alarms = [a for a in watch_alarms if a.source == name]
        row: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "device": device,
            "values": dict(watched.get(device, {})),
            "bath": idle_bath(config, watched) if kind == "tank" else {},
            "state": "idle",
            "run_id": "",
            "job": "",
            "lot": "",
            "step": "",
            "segment": None,
            "read_period_s": periods.get(device),
        }
        row["watch_alarms"] = row["alarms"] = len(alarms)
        row["watch_unacked"] = row["unacked"] = sum(1 for a in alarms if not a.acked)
        if view is not None:
            apply_run(row, view)
        rows.append(row)
    return rows


def run_on(name: str, runs: Iterable[RunView]) -> RunView | None:
    """The active run driving kiln/tank `name` (by its samples or segments), if any."""
    return next(
        (v for v in runs if v.outcome is None and (name in v.samples or name in v.segments)),
        None,
    )


def apply_run(row: dict[str, Any], view: RunView) -> None:
    """Put what run `view` knows of the row's kiln/tank into the row (service and TUI both:
    the TUI keeps its rows fresh from the events between two status polls). The row's
    alarm counts are the plant watch's plus the run's on it."""
    name = row["name"]
    run_alarms = [a for a in view.alarms.values() if a.get("source") == name]
    row["alarms"] = row.get("watch_alarms", 0) + len(run_alarms)
    row["unacked"] = row.get("watch_unacked", 0) + sum(1 for a in run_alarms if not a["acked"])
    period = view.sample_periods.get(name)
    if period is not None:
        row["read_period_s"] = period
    row.update(
        values=dict(view.samples.get(name, row.get("values", {}))),
        bath=_run_bath(row.get("bath") or {}, view.samples.get(f"{name}.bath")),
        state=view.state,
        run_id=view.run_id,
        job=view.job,
        lot=view.lot,
        step=view.plating_step or view.step,
        segment=view.segments.get(name),
    )


def _run_bath(bath: dict[str, Any], sample: dict[str, Any] | None) -> dict[str, Any]:
    """The run's bath sample (with the row's band) when the run has one, else the watch's
    last reading as it is (it ages: the run holds the heater and samples it only while it
    plates on the tank)."""
    if not sample:
        return dict(bath)
    return {**({"band": bath["band"]} if "band" in bath else {}), **sample}


def set_idle(row: dict[str, Any]) -> None:
    """The row's run ended: the kiln/tank is idle (its last values stay until a reading;
    the bath comes again with the plant watch's next reading of the heater)."""
    bath = row.get("bath") or {}
    row.update(state="idle", run_id="", job="", lot="", step="", segment=None)
    row["bath"] = {"band": bath["band"]} if "band" in bath else {}
    row["alarms"], row["unacked"] = row.get("watch_alarms", 0), row.get("watch_unacked", 0)
    row.pop("time_left_s", None)
