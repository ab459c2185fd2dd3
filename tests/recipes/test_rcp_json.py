"""`--json` of `validate` and `show`, through the real command, for scripts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROFILES = Path(__file__).resolve().parents[2] / "profiles"


def kilnctl(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kilnctl.cli.main", *argv],
        cwd=cwd, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_validate_json_is_one_object_per_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "firing"\nname = "bad"\n[[segments]]\nrate = "fast"\ntarget = "790 C"\n')
    done = kilnctl(tmp_path, "validate", "--json", str(PROFILES / "enamel-preheat.toml"), str(bad))
    assert done.returncode == 1
    good, broken = (json.loads(line) for line in done.stdout.splitlines())
    assert good["ok"] and good["kind"] == "firing" and len(good["sha256"]) == 64
    assert not broken["ok"] and any("rate" in p for p in broken["problems"])


def test_show_json_is_the_validated_recipe(tmp_path: Path) -> None:
    done = kilnctl(tmp_path, "show", "--json", "nickel-gold-flash")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["kind"] == "plating" and body["recipe"]["name"] == "nickel-gold-flash"
    assert isinstance(body["defaults"], list)  # what the result relies on, if anything
