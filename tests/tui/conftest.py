"""The TUI tests drive the app against a real service built by tests/service/svc_plant.py."""

from __future__ import annotations

import sys
from pathlib import Path

# share the service tests' plant helper and the telemetry tests' servers rather than copy
# them (no packages in tests/)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "journal"))
