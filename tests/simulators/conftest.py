"""Fixtures for the simulator physics and device tests."""

from __future__ import annotations

import pytest
from sim_fake_time import FakeTime


@pytest.fixture
def clock() -> FakeTime:
    """A fresh time function starting at an arbitrary non-zero time."""
    return FakeTime()
