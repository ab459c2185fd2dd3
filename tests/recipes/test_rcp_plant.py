"""Plant config: the example loads; references and limits are checked with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kilnctl.plant import EXAMPLE_PLANT, PlantConfigError, find_plant, load_plant


def test_example_plant_loads() -> None:
    plant = load_plant(EXAMPLE_PLANT)
    assert plant.devices["kiln1"].driver == "eurotherm3216"
    assert plant.devices["nickel_rectifier"].driver == "generic_rectifier"
    assert plant.devices["gold_rectifier"].driver == "riden"
    assert plant.devices["bench_rectifier"].driver == "korad_ka3005p"
    assert plant.kilns["kiln1"].max_temp_c == 1000.0
    assert plant.kilns["kiln3"].mode == "direct" and plant.kilns["kiln3"].pid is not None
    nickel = plant.tanks["nickel"]
    assert (nickel.rectifier, nickel.heater) == ("nickel_rectifier", "nickel_heater")
    assert nickel.bath_temp_c == (55.0, 60.0)
    assert plant.journal_path == ""  # the per-user state directory (journal_location.py)
    assert plant.sample_period_s == 1.0
    assert plant.influx is None


def test_defaults_and_influx(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[influx]\nurl = "http://127.0.0.1:8086"\ndatabase = "kiln"\n')
    plant = load_plant(path)
    assert plant.journal_path == ""
    assert plant.influx is not None and plant.influx.database == "kiln"
    assert plant.influx.api == "auto"


@pytest.mark.parametrize(
    ("kiln", "error"),
    [
        ('controller = "kx"\nmax_temp = "1832 F"\n', "5: kilns.kiln1.controller: 'kx'"),
        # a kiln's mains contactor (opened on a stuck relay) is a configured device too
        (
            'controller = "k"\nmax_temp = "1000 C"\ncontactor = "k1c"\n',
            "7: kilns.kiln1.contactor: 'k1c'",
        ),
    ],
)
def test_unknown_device_reference(tmp_path: Path, kiln: str, error: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        '[devices.k]\ndriver = "eurotherm3216"\nurl = "modbus-tcp://h:1"\n'
        f"[kilns.kiln1]\n{kiln}"
    )
    with pytest.raises(PlantConfigError) as info:
        load_plant(path)
    assert info.value.lines() == [f"{path}:{error}: no such device (allowed: k)"]


def test_bad_values_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        '[devices.k]\ndriver = "x"\nurl = "u"\n'
        '[tanks.t]\nrectifier = "k"\nmax_current = "12 furlong"\nmode = 3\n'
    )
    with pytest.raises(PlantConfigError) as info:
        load_plant(path)
    text = str(info.value)
    assert ":6: tanks.t.max_current: '12 furlong': unknown unit 'furlong' for a current" in text
    assert ":7: tanks.t.mode: 3: unknown key (allowed: rectifier, heater, max_current" in text


def test_find_plant_prefers_local_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_plant() == EXAMPLE_PLANT
    (tmp_path / "kilnctl.toml").write_text("")
    assert find_plant() == tmp_path / "kilnctl.toml"
    assert find_plant("other.toml") == Path("other.toml")


def test_kiln_lookup() -> None:
    plant = load_plant(EXAMPLE_PLANT)
    assert plant.kiln("kiln2")[0] == "kiln2"
    with pytest.raises(KeyError, match="several kilns"):
        plant.kiln(None)
    with pytest.raises(KeyError, match="no tank 'tin'"):
        plant.tank("tin")
