"""The "devices" section of the service's status: every configured kiln and tank, in a
run or not, with its latest reading, so a client shows the whole plant without reading
any device itself.

In a run, the values are the run's latest samples (RunView); between runs, the plant
watch's latest reading (PlantWatch.latest). One row per kiln/tank, in the plant config's
order (kilns first):

    {"name": "k1", "kind": "kiln" | "tank", "device": "k1",
     "values": {"t": unix s, "pv_c", "sp_c", "out_pct", "sensor_break"?} (kiln)
               {"t", "volts", "amps", "amp_hours", "amps_sp"?, "output_on"?} (tank),
     "bath": {"t", "bath_c"} | {},           # tanks: the bath temperature in a run
     "state": "idle" | a run's state ("running", "paused", "held"),
     "run_id", "job", "lot", "step": str ("" when idle),
     "segment": {"index", "phase", "target_c"} | None,
     "alarms": number of active alarms on it (its run's and the plant watch's),
     "unacked": how many of them no one has acknowledged yet,
     "watch_alarms", "watch_unacked": the plant watch's part of those,
     "time_left_s": the run's current step's time left (server.py adds it; None unknown),
     "unsafe"?: why its safe state is not confirmed (server.py adds it while the keeper
                retries the device: comms lost at the end of a run)}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kilnctl.service.runview import RunView


def _device_rows(plant: Any) -> list[tuple[str, str, str]]:
    rows = [("kiln", n, k.controller) for n, k in (getattr(plant, "kilns", {}) or {}).items()]
    rows += [("tank", n, t.rectifier) for n, t in (getattr(plant, "tanks", {}) or {}).items()]
    return rows


def plant_devices(
    plant: Any,
    runs: Iterable[RunView],
    watched: Mapping[str, dict[str, Any]],
    watch_alarms: Iterable[Any] = (),
    claimed: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The rows (see the module docstring). `watched`: PlantWatch.latest (by device);
    `watch_alarms`: the watch's ActiveAlarm objects (source = kiln/tank name); `claimed`:
    the run driving each busy device (a run holds its tank from its start, before it
    samples it: a rinse step first)."""
    runs = list(runs)
    by_id = {v.run_id: v for v in runs}
    claimed = claimed or {}
    watch_alarms = list(watch_alarms)
    rows: list[dict[str, Any]] = []
    for kind, name, device in _device_rows(plant):
        view = run_on(name, runs) or by_id.get(claimed.get(device, ""))
        alarms = [a for a in watch_alarms if a.source == name]
        row: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "device": device,
            "values": dict(watched.get(device, {})),
            "bath": {},
            "state": "idle",
            "run_id": "",
            "job": "",
            "lot": "",
            "step": "",
            "segment": None,
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
    row.update(
        values=dict(view.samples.get(name, row.get("values", {}))),
        bath=dict(view.samples.get(f"{name}.bath", {})),
        state=view.state,
        run_id=view.run_id,
        job=view.job,
        lot=view.lot,
        step=view.plating_step or view.step,
        segment=view.segments.get(name),
    )


def set_idle(row: dict[str, Any]) -> None:
    """The row's run ended: the kiln/tank is idle (its last values stay until a reading)."""
    row.update(state="idle", run_id="", job="", lot="", step="", segment=None, bath={})
    row["alarms"], row["unacked"] = row.get("watch_alarms", 0), row.get("watch_unacked", 0)
    row.pop("time_left_s", None)
