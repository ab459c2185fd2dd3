"""The run picture both sides share: what a finished plating step leaves on screen."""

from __future__ import annotations

from kilnctl.service.runview import RunView
from kilnctl.tui.format import run_text


def test_finished_step_shows_its_tank_off_not_its_last_current() -> None:
    view = RunView("r")
    for event in (
        {"kind": "run_started", "t": 0, "job_name": "plate", "lot_id": "L"},
        {"kind": "plating_step_started", "t": 1, "label": "nickel"},
        {"kind": "sample", "t": 2, "source": "ni", "values": {"amps": 45.0, "amp_hours": 5.1}},
        {"kind": "sample", "t": 2, "source": "ni.bath", "values": {"bath_c": 57.5}},
    ):
        view.apply(event)
    assert "45.00 A" in run_text(view) and "bath 57.5" in run_text(view)
    view.apply(
        {
            "kind": "plating_step_finished",
            "t": 3,
            "label": "nickel",
            "details": {"tank": "ni", "amp_hours": 5.2, "thickness_um": 4.0},
        }
    )
    text = run_text(view)
    assert "ni: off  5.2000 Ah  4.000 µm plated" in text
    # the bath stays: the run samples the heaters it holds for the whole run (heldbaths)
    assert "45.00 A" not in text and "bath 57.5" in text
