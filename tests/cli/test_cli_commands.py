"""The command table of `kilnctl` (issue 8, item 6): `--help` loads no command module, so
no plant models, drivers or engine; every command is in the table with a description and
an example; the plant config flag and `sim`'s plant file no longer share a name."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from kilnctl.cli.main import COMMANDS, build_parser

HEAVY = ("pydantic", "kilnctl.plant", "kilnctl.engine", "kilnctl.journal", "drivers", "asyncio")
"""What the cmd_* modules used to import for `kilnctl --help` (0.6-0.85 s)."""


def test_help_imports_no_command_module() -> None:
    probe = (
        "import sys\n"
        "from kilnctl.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} "
        f"or m in {HEAVY!r} or m.startswith('kilnctl.cli.cmd_')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    listing, loaded = out.rsplit("\n", 2)[0], out.strip().splitlines()[-1]
    assert loaded == "[]"
    for name, command in COMMANDS.items():
        assert name in listing and command.help[:30] in listing.replace("\n", " ")


def test_a_command_loads_only_its_module() -> None:
    probe = (
        "import sys\n"
        "from kilnctl.cli.main import main\n"
        "try:\n    main(['sim-ctl', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('kilnctl.cli.cmd_')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "['kilnctl.cli.cmd_sim']"


def _registered() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser("*")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_command_is_tabled_described_and_has_an_example() -> None:
    parsers = _registered()
    assert set(parsers) == set(COMMANDS), "add new commands to kilnctl.cli.main.COMMANDS"
    for name, p in parsers.items():
        assert p.get_default("func") is not None, name  # registered by its module
        assert p.description and p.epilog and p.epilog.startswith("example: kilnctl "), name
        for action in p._actions:
            where = f"kilnctl {name} {action.option_strings}"
            assert action.help or not action.option_strings, f"{where}: no help line"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_example_parses(name: str) -> None:
    argv = COMMANDS[name].example.split()[1:]
    args = build_parser(name).parse_args([a.strip("'") for a in argv])
    assert args.command == name and args.func is not None


def test_plant_flag_and_sim_plant_file_have_different_names() -> None:
    parsers = _registered()
    sim_flags = {f for a in parsers["sim"]._actions for f in a.option_strings}
    assert "--config" not in sim_flags and "--sim-plant" in sim_flags
    args = build_parser("sim").parse_args(["--plant", "p.toml", "sim", "--sim-plant", "s.toml"])
    assert (args.config, args.plant_file) == ("p.toml", "s.toml")
    # the old spelling of the global flag still works
    assert build_parser("runs").parse_args(["--config", "p.toml", "runs"]).config == "p.toml"
