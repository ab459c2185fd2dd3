"""`kilnctl runs`, `kilnctl qc` and `kilnctl report` (md, html, json, csv) on a journal
built here the way the engine writes one."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kilnctl.chart import CHART_WIDTH, thin
from kilnctl.cli.main import main
from kilnctl.journal import Journal
from kilnctl.report import ThicknessSpec, assess_qc, lot_qc_verdict

T0 = 1_790_000_000.0
FIRING_S = 1800  # one sample a second: more points than the chart is wide
PLATING_S = 600


def build_journal(path: Path) -> tuple[str, str]:
    """A finished enamel + plating run and an unfinished second run; returns their ids."""
    with Journal(path) as j:
        run = j.start_run(
            job_name="enamel-3-coat",
            lot_id="LOT-42",
            recipe_hashes={"enamel-3-coat": "a1b2c3", "nickel-gold-flash": "d4e5f6"},
            started_at=T0,
            meta={"pins": 100, "material": "copper"},
        )
        j.record_event(run, T0, "run_started", {"job_name": "enamel-3-coat", "lot_id": "LOT-42"})
        j.record_event(
            run, T0, "step_started", {"index": 0, "label": "coat 1", "step_kind": "firing"}
        )
        j.record_event(
            run, T0, "prompt", {"prompt_id": "p1", "text": "Load coat 1", "choices": ["ok"]}
        )
        j.record_event(
            run, T0 + 5, "prompt_answer", {"prompt_id": "p1", "answer": "ok", "who": "ana"}
        )
        j.record_event(
            run,
            T0 + 5,
            "segment",
            {"source": "kiln1", "index": 0, "phase": "ramp", "target_c": 790.0},
        )
        for s in range(FIRING_S):
            pv = 20.0 + 770.0 * min(1.0, s / 1200)
            j.record_sample(run, s + 1, T0 + s, "kiln1", {"pv_c": pv, "sp_c": pv, "out_pct": 50.0})
            if s % 300 == 0:
                j.checkpoint(run, T0 + s, {"step": 0, "seq": s + 1})
        j.record_event(
            run, T0 + 600, "operator", {"who": "ana", "action": "pause", "detail": "door check"}
        )
        j.record_event(run, T0 + 660, "operator", {"who": "ana", "action": "resume", "detail": ""})
        j.record_event(
            run,
            T0 + 900,
            "alarm_raised",
            {
                "alarm_id": "a1",
                "source": "kiln1",
                "code": "deviation_high",
                "severity": "alarm",
                "action": "heat_off",
                "message": "PV 850.0 °C > setpoint 790.0 + 28 °C",
            },
        )
        j.record_event(run, T0 + 910, "alarm_ack", {"alarm_id": "a1", "who": "ana"})
        j.record_event(
            run,
            T0 + 930,
            "alarm_cleared",
            {"alarm_id": "a1", "source": "kiln1", "code": "deviation_high"},
        )
        j.record_event(
            run, T0 + 1000, "operator", {"who": "bo", "action": "extend", "detail": "hold +60 s"}
        )
        j.record_event(
            run, T0 + 900, "deviation", {"source": "kiln1", "what": "over setpoint", "by_c": 60.0}
        )
        j.record_event(
            run,
            T0 + FIRING_S,
            "step_finished",
            {"index": 0, "label": "coat 1", "outcome": "completed", "details": {"soak_s": 120.0}},
        )
        j.record_event(
            run,
            T0 + FIRING_S,
            "step_started",
            {"index": 1, "label": "nickel", "step_kind": "plating"},
        )
        for s in range(PLATING_S):
            t = T0 + FIRING_S + s
            j.record_sample(
                run,
                s + 1,
                t,
                "tank-ni",
                {"volts": 4.0, "amps": 36.0, "amp_hours": 36.0 * s / 3600, "amps_sp": 36.0},
            )
        j.record_event(
            run,
            T0 + FIRING_S + PLATING_S,
            "step_finished",
            {
                "index": 1,
                "label": "nickel",
                "outcome": "completed",
                "details": {
                    "amp_hours": 5.99,
                    "thickness_um": 5.0,
                    "steps": [
                        {"step": "rinse", "kind": "timed", "duration_s": 30.0},
                        {"step": "bright nickel", "kind": "electro", "amp_hours": 5.99},
                    ],
                },
            },
        )
        j.record_event(run, T0 + 3000, "run_finished", {"outcome": "completed", "reason": ""})
        j.finish_run(run, T0 + 3000, "completed")
        other = j.start_run(
            job_name="black-nickel",
            lot_id="LOT-43",
            recipe_hashes={},
            started_at=T0 + 4000,
            meta={},
        )
        j.record_event(
            other,
            T0 + 4000,
            "step_started",
            {"index": 0, "label": "black nickel", "step_kind": "plating"},
        )
        j.record_sample(other, 1, T0 + 4000, "tank-bn", {"volts": 2.0, "amps": 10.0})
        j.checkpoint(other, T0 + 4000, {})
    return run, other  # fmt: skip


@pytest.fixture
def journal_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray ./kilnctl.toml is picked up
    path = tmp_path / "plant-journal.sqlite"
    build_journal(path)
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_runs_table(journal_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "runs", "--journal", str(journal_file))
    assert code == 0
    where, header, first, second = out.splitlines()
    assert where == f"journal: {journal_file}"  # the journal a user reads is named
    assert header.split() == [
        "RUN", "JOB", "LOT", "START", "(UTC)", "DURATION", "OUTCOME", "REASON"
    ]  # fmt: skip
    assert first.split()[1:3] == ["enamel-3-coat", "LOT-42"]
    assert first.split()[-2:] == ["0:50:00", "completed"]
    assert second.split()[1:3] == ["black-nickel", "LOT-43"]
    # no process runs it: crashed, with the command that picks it up
    run_id = second.split()[0]
    assert second.split()[-5:] == ["-", "crashed", "kilnctl", "resume", run_id]
    code, out, _ = run_cli(capsys, "runs", "--journal", str(journal_file), "--json")
    assert [json.loads(line)["duration_s"] for line in out.splitlines()] == [3000.0, None]


def test_qc_records_results_and_warns(
    journal_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    j = str(journal_file)
    code, out, err = run_cli(
        capsys, "qc", "last", "--journal", j, "--thickness-um", "5.1,5.0,4.9",
        "--adhesion", "pass", "--visual-defects", "0", "--sample-size", "13",
    )  # fmt: skip
    assert code == 0
    assert "ASTM B568" in err and "only 3 thickness readings" in err
    assert "LOT-43" in out and "PASS" in out
    code, out, err = run_cli(
        capsys, "qc", "2", "--journal", j, "--thickness-um", "5.1, 5.0,4.9,5.2,5.0",
        "--adhesion", "pass", "--visual-defects", "1", "--sample-size", "13",
        "--notes", "edge burr on 1", "--who", "qa-bo",
    )  # fmt: skip
    assert code == 2 and "ambiguous" in err  # both run ids start with the year
    with Journal(journal_file) as journal:
        first = journal.runs()[0].run_id
    for adhesion in ("pass", "fail"):
        code, out, err = run_cli(
            capsys, "qc", first, "--journal", j, "--thickness-um", "5.1,5.0,4.9,5.2,5.0",
            "--adhesion", adhesion, "--visual-defects", "1", "--sample-size", "13",
            "--notes", "edge burr on 1", "--who", "qa-bo",
        )  # fmt: skip
        # this journal's plating step has no tolerance (recorded before there was one)
        assert code == 0 and err == (
            "warning: the recipe gives no thickness_tolerance for the plated layer: "
            "the thickness is recorded, not judged\n"
        )
    assert "FAIL" in out and "adhesion failure fails the lot" in out
    code, out, _ = run_cli(capsys, "report", first, "--journal", j, "--format", "json")
    record = json.loads(out)
    assert [q["verdict"] for q in record["qc"]] == ["pass", "fail"]
    assert record["qc_verdict"] == "fail"
    assert record["qc"][0]["thickness_mean_um"] == pytest.approx(5.04)


def test_qc_input_errors_are_one_line(
    journal_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(
        capsys, "qc", "last", "--journal", str(journal_file), "--thickness-um", "5.1",
        "--adhesion", "pass", "--visual-defects", "14", "--sample-size", "13",
    )  # fmt: skip
    assert code == 2 and err.strip() == "kilnctl: qc: visual defects must be 0..13, got 14"


def test_report_markdown_with_svg_beside(
    journal_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "lot42.md"
    code, _, err = run_cli(
        capsys, "report", "2026", "--journal", str(journal_file), "--out", str(out_file)
    )
    assert code == 2 and "ambiguous" in err
    with Journal(journal_file) as journal:
        run_id = journal.runs()[0].run_id
    code, _, _ = run_cli(
        capsys, "report", run_id[:17], "--journal", str(journal_file), "--out", str(out_file)
    )
    assert code == 0
    md = out_file.read_text()
    assert "![temperatures and currents](lot42.svg)" in md
    for expected in (
        "# Batch record: enamel-3-coat, lot LOT-42",
        "| enamel-3-coat | a1b2c3 |",
        "| nickel-gold-flash | d4e5f6 |",
        "**Outcome: completed**",
        "| outcome | completed |",
        "| clock | real time |",
        "| duration | 0:50:00 |",
        "| 0 | coat 1 | firing |",
        "soak_s=120",
        "| 1 | nickel | plating |",
        "amp_hours=5.99, thickness_um=5, steps=(2 steps, table below)",
        "## Steps of step 1: nickel",
        "| step | kind | duration_s | amp_hours |",
        "| rinse | timed | 30 |   |",
        "| bright nickel | electro |   | 5.99 |",
        "## Readings during step 0: coat 1",
        "| kiln1 | pv_c | 20 |",
        "| deviation_high | kiln1 | alarm | heat_off |",
        "by ana",
        "| ana | pause | door check |",
        "| Load coat 1 |",
        "| deviation | source=kiln1, what=over setpoint, by_c=60 |",
        "| alarm | code=deviation_high, source=kiln1, message=PV 850.0 °C > setpoint",
        "QC results (lot verdict: not entered)",
    ):
        assert expected in md, expected
    svg = ET.parse(tmp_path / "lot42.svg").getroot()
    lines = svg.findall("{http://www.w3.org/2000/svg}polyline")
    names = sorted(line.findtext("{http://www.w3.org/2000/svg}title") or "" for line in lines)
    assert names == ["kiln1 pv_c", "kiln1 sp_c", "tank-ni amps", "tank-ni amps_sp"]
    for line in lines:
        assert len(line.attrib["points"].split()) <= 2 * CHART_WIDTH
    # steps and alarms marked on the time axis (each panel), with what they were
    marks = svg.findall("{http://www.w3.org/2000/svg}line")
    titles = [m.findtext("{http://www.w3.org/2000/svg}title") for m in marks]
    assert {"step: coat 1", "step: nickel", "alarm: deviation_high"} <= set(titles)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.points: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "polyline":
            self.points.append(len((dict(attrs)["points"] or "").split()))


def test_report_html_has_inline_thinned_svg(
    journal_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, _ = run_cli(
        capsys, "report", "last", "--journal", str(journal_file), "--format", "html"
    )
    assert code == 0  # "last" is the unfinished run: a report works mid-run too
    with Journal(journal_file) as journal:
        first = journal.runs()[0].run_id
    code, page, _ = run_cli(
        capsys, "report", first, "--journal", str(journal_file), "--format", "html"
    )
    parser = _Collect()
    parser.feed(page)
    assert parser.tags.count("svg") == 1 and parser.tags.count("table") >= 10
    assert len(parser.points) == 4
    assert max(parser.points) <= 2 * CHART_WIDTH
    assert max(parser.points) > CHART_WIDTH  # thinned to about twice the width, not less
    assert "PV 850.0 °C &gt; setpoint 790.0 + 28 °C" in page


def test_report_json_holds_everything(
    journal_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Journal(journal_file) as journal:
        run_id = journal.runs()[0].run_id
        n_events = sum(1 for _ in journal.events(run_id))
    _code, out, _ = run_cli(
        capsys, "report", run_id, "--journal", str(journal_file), "--format", "json"
    )
    record = json.loads(out)
    assert len(record["samples"]) == FIRING_S + PLATING_S
    assert len(record["events"]) == n_events
    assert record["run"]["outcome"] == "completed" and record["run"]["duration_s"] == 3000.0
    assert {r["name"]: r["hash"] for r in record["recipes"]}["enamel-3-coat"] == "a1b2c3"
    coat, nickel = record["steps"]
    assert coat["readings"]["kiln1"]["pv_c"]["max"] == pytest.approx(790.0)
    assert coat["readings"]["kiln1"]["pv_c"]["min"] == pytest.approx(20.0)
    assert "tank-ni" not in coat["readings"]
    assert nickel["readings"]["tank-ni"]["amps"]["mean"] == pytest.approx(36.0)
    assert nickel["details"]["amp_hours"] == 5.99
    assert [s["step"] for s in nickel["details"]["steps"]] == ["rinse", "bright nickel"]
    [alarm] = record["alarms"]
    assert (alarm["raised_at"], alarm["acked_at"], alarm["acked_by"], alarm["cleared_at"]) == (
        T0 + 900, T0 + 910, "ana", T0 + 930,
    )  # fmt: skip
    assert record["prompts"] == [{
        "prompt_id": "p1", "text": "Load coat 1", "raised_at": T0, "answer": "ok",
        "answered_by": "ana", "answered_at": T0 + 5,
    }]  # fmt: skip
    assert [a["action"] for a in record["operator_actions"]] == ["pause", "resume", "extend"]
    assert [(d["origin"], d["t"]) for d in record["deviations"]] == [
        ("deviation", T0 + 900),
        ("alarm", T0 + 900),
        ("operator", T0 + 1000),
    ]  # pause/resume do not change the schedule; the extended hold does
    assert record["deviations"][0]["by_c"] == 60.0


def test_report_csv_is_the_samples(
    journal_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Journal(journal_file) as journal:
        run_id = journal.runs()[0].run_id
    out_file = tmp_path / "samples.csv"
    code, _, _ = run_cli(
        capsys, "report", run_id, "--journal", str(journal_file), "--out", str(out_file)
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out_file.read_text())))
    assert len(rows) == FIRING_S + PLATING_S
    assert list(rows[0]) == [
        "run_id", "source", "seq", "t", "time_utc", "elapsed_s",
        "amp_hours", "amps", "amps_sp", "out_pct", "pv_c", "sp_c", "volts",
    ]  # fmt: skip
    assert rows[0]["pv_c"] == "20.0" and rows[0]["amps"] == ""
    assert (
        rows[-1]["source"] == "tank-ni" and float(rows[-1]["elapsed_s"]) == FIRING_S + PLATING_S - 1
    )


def test_report_errors(
    journal_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "report", "nope", "--journal", str(journal_file))
    assert code == 2 and "no run 'nope'" in err
    code, _, err = run_cli(capsys, "runs", "--journal", str(tmp_path / "missing.sqlite"))
    assert code == 2 and "no journal at" in err
    assert not (tmp_path / "missing.sqlite").exists()


def test_qc_rules() -> None:
    spec = ThicknessSpec("nickel", (3.0, 8.0), 5.0)
    ok = assess_qc(
        thickness_um=[5.0] * 5, adhesion="pass", visual_defects=0, sample_size=5, spec=spec
    )
    assert ok["warnings"] == [] and ok["verdict"] == "pass"
    thin = assess_qc(
        thickness_um=[5.0, 2.9], adhesion="pass", visual_defects=0, sample_size=5, spec=spec
    )
    assert thin["verdict"] == "fail" and thin["thickness_outside_um"] == [2.9]
    bad = assess_qc(thickness_um=[], adhesion="fail", visual_defects=0, sample_size=5)
    assert bad["verdict"] == "fail" and "thickness_mean_um" not in bad
    assert lot_qc_verdict([ok, ok]) == "pass"
    assert lot_qc_verdict([ok, bad, ok]) == "fail"
    assert lot_qc_verdict([]) is None
    with pytest.raises(ValueError, match="finite"):
        assess_qc(thickness_um=[float("nan")], adhesion="pass", visual_defects=0, sample_size=1)


def test_thin_keeps_peaks_and_bounds_points() -> None:
    points = [(float(i), 100.0 if i == 5003 else float(i % 7)) for i in range(10_000)]
    thinned = thin(points, 400)
    assert len(thinned) <= 400
    assert (5003.0, 100.0) in thinned
    assert thinned == sorted(thinned)
    assert thin(points[:10], 400) == points[:10]


def test_thin_keeps_the_first_and_last_points() -> None:
    # a kiln at ambient drifts down before the ramp lifts it: the first bucket's min and
    # max both lie after the first sample, which a chart attached mid-run must still show
    points = [(float(i), 20.0 - 0.01 * i if i < 50 else 19.5 + i) for i in range(1000)]
    points[-1] = (999.0, 0.0)  # the last sample below the last bucket's max
    for max_points in (2, 3, 60, 400):
        thinned = thin(points, max_points)
        assert thinned[0] == points[0] and thinned[-1] == points[-1]
        assert len(thinned) <= max(max_points, 4)
        assert thinned == sorted(thinned)


def test_last_is_the_latest_run_recorded_not_the_latest_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run on a sped-up simulator is stamped in simulated time, which can lie ahead of a
    real run recorded after it: "last" (report, qc, export) and the run list follow the
    journal's order."""
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        simulated = j.start_run(
            job_name="sim-job", lot_id="SIM-1", recipe_hashes={},
            started_at=T0 + 10 * 86400, meta={"simulated": "x60"},
        )  # fmt: skip
        real = j.start_run(
            job_name="real-job", lot_id="REAL-2", recipe_hashes={}, started_at=T0, meta={}
        )
        assert [r.run_id for r in j.runs()] == [simulated, real]
    code, out, _ = run_cli(capsys, "report", "last", "--journal", str(path), "--format", "json")
    assert code == 0 and json.loads(out)["run"]["run_id"] == real
