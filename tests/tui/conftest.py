"""The TUI tests drive the app against a real service built by tests/service/svc_plant.py."""

from __future__ import annotations

import sys
from pathlib import Path

# share the service tests' plant helper rather than copy it (no packages in tests/)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
