"""Where the journal lives when no --journal is given, so every command finds the same one
from any folder.

Order: --journal; the plant config's `journal` (a relative path is taken from the config
file's folder, not from the current directory); `$STATE_DIRECTORY/journal.sqlite` for a
service started by systemd with `StateDirectory=kilnctl` (systemd.exec(5)); the per-user
state directory of the XDG Base Directory spec, `$XDG_STATE_HOME/kilnctl/journal.sqlite`;
`/var/lib/kilnctl/journal.sqlite` for root; else `~/.local/state/kilnctl/journal.sqlite`.
"""

from __future__ import annotations

import os
from pathlib import Path

JOURNAL_NAME = "journal.sqlite"
SYSTEM_STATE_DIR = Path("/var/lib/kilnctl")


def default_journal_path() -> Path:
    """The journal's path when neither --journal nor the plant config names one."""
    state_directory = os.environ.get("STATE_DIRECTORY")
    if state_directory:  # systemd may list several, colon-separated: the first is ours
        return Path(state_directory.split(":")[0]) / JOURNAL_NAME
    state_home = os.environ.get("XDG_STATE_HOME")
    # the spec: a relative $XDG_STATE_HOME is invalid and must be ignored
    if state_home and Path(state_home).is_absolute():
        return Path(state_home) / "kilnctl" / JOURNAL_NAME
    if os.getuid() == 0:
        return SYSTEM_STATE_DIR / JOURNAL_NAME
    return Path.home() / ".local" / "state" / "kilnctl" / JOURNAL_NAME


def journal_file(given: str | None, configured: str = "", config_file: Path | None = None) -> Path:
    """The journal to use: `given` (--journal), else `configured` (the plant config's
    `journal`, relative to `config_file`'s folder), else default_journal_path()."""
    if given:
        return Path(given).expanduser()
    if configured:
        path = Path(configured).expanduser()
        if not path.is_absolute() and config_file is not None:
            path = config_file.resolve().parent / path
        return path
    return default_journal_path()


def ensure_parent(path: Path) -> Path:
    """Create the journal's folder (a first run on a fresh account); OSError if it cannot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def journal_for(given: str | None, plant: object | None, config: str | None) -> Path:
    """journal_file() for a command: --journal `given`, the loaded `plant` (None: none
    could be loaded) and the --config it came from."""
    configured = str(getattr(plant, "journal_path", "") or "")
    config_file = None
    if configured:
        from kilnctl.plant import find_plant

        config_file = find_plant(config)
    return journal_file(given, configured, config_file)
