"""`validate` warns of a cooling target at or below room temperature (the kiln never gets
there); the room's temperature is the plant config's `room_temp` (25 °C without one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kilnctl.cli.main import main
from kilnctl.plant import EXAMPLE_PLANT

COOL_15 = Path(__file__).resolve().parents[1] / "fixtures" / "cool15.toml"


@pytest.fixture(autouse=True)
def _no_local_plant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # validate reads ./kilnctl.toml when present


def test_validate_warns_of_a_cooling_target_below_room(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: "ok" and nothing else; the segment never ended.
    path = tmp_path / "cool15.toml"
    path.write_text(COOL_15.read_text())
    assert main(["validate", str(path)]) == 0  # a warning, not an error
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        f"{path}:9: segments[0]: warning: target 15 °C is at or below room temperature "
        "(25 °C): the kiln cannot get there; the segment will end when the kiln stops "
        "cooling (set the target above the room's temperature)"
    )
    assert out[1].startswith(f"{path}: ok: firing profile 'cool15'")


def test_the_room_temperature_comes_from_the_plant_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cool15.toml"
    path.write_text(COOL_15.read_text())
    plant = tmp_path / "cold-room.toml"
    plant.write_text(EXAMPLE_PLANT.read_text().replace('room_temp = "25 C"', 'room_temp = "10 C"'))
    assert main(["--config", str(plant), "validate", str(path)]) == 0
    assert "warning" not in capsys.readouterr().out
    warm = tmp_path / "warm-room.toml"
    warm.write_text(EXAMPLE_PLANT.read_text().replace('room_temp = "25 C"', 'room_temp = "30 C"'))
    job = tmp_path / "job.toml"
    job.write_text(
        'kind = "job"\nname = "j"\n[lot]\nmaterial = "copper"\npin_count = 10\n'
        'area_per_pin = "0.1 dm2"\n[[steps]]\nkind = "firing"\nref = "cool15"\n'
        'kiln = "kiln1"\n'
    )
    assert main(["--config", str(warm), "validate", str(job)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        # the line of the target in the profile the job refers to
        f"{path}:9: steps[0] (cool15): cool15.segments[0]: warning: target 15 °C is at or below "
        "room temperature (30 °C): the kiln cannot get there; the segment will end when the "
        "kiln stops cooling (set the target above the room's temperature)"
    )
