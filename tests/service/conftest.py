"""The service tests share the engine tests' process helpers (tests/engine/eng_cli.py) and
the telemetry tests' server processes (tests/journal/jnl_servers.py) rather than copy them
(no packages in tests/)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "journal"))
