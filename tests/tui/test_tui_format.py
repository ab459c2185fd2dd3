"""Run panel text: time left as a technician should read it, one line at 80 columns."""

from __future__ import annotations

from kilnctl.service.runview import RunView
from kilnctl.tui.format import LINE_WIDTH, run_text


def firing(pv: float, sp: float, phase: str, left: float) -> RunView:
    view = RunView("r", job="bake", step="bake", time_left_s=left)
    view.samples["k1"] = {"t": 0.0, "pv_c": pv, "sp_c": sp, "out_pct": 0.0}
    view.segments["k1"] = {"index": 1, "phase": phase, "target_c": sp}
    return view


def test_firing_time_left_is_a_lower_bound_when_the_kiln_lags() -> None:
    assert "firing left ~0:20:00" in run_text(firing(789, 790, "hold", 1200))
    assert "firing left ≥0:20:00" in run_text(firing(600, 790, "ramp", 1200))
    assert "firing: kiln on its way to 50 °C" in run_text(firing(217, 50, "ramp", 0))


def test_plating_step_line_fits_80_columns() -> None:
    view = RunView("r", job="job-black-nickel", step="black nickel + lacquer")
    view.plating_step, view.time_left_s, view.plating_left_s = "electroclean cathodic", 87, 1272
    step_line = run_text(view).splitlines()[1]
    assert step_line == "step: electroclean cathodic  left ~0:01:27, recipe ~0:21:12"
    assert len(step_line) <= LINE_WIDTH
    view.plating_step = "rinse 3"
    assert "step: black nickel + lacquer / rinse 3  left" in run_text(view)
