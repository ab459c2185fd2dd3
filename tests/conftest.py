"""Shared test fixtures. Warnings are errors and every test has a timeout (pyproject)."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_SERVERS = os.environ.get("KILNCTL_REQUIRE_SERVERS") == "1"


def _require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (apt-get install it, or run .ci/run)"
        if REQUIRE_SERVERS:
            pytest.fail(f"CI requires {name}: {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture
def require_binary():  # type: ignore[no-untyped-def]
    """`require_binary("mbpoll")` -> path of an external program a test needs; skips when
    absent, or fails when KILNCTL_REQUIRE_SERVERS=1 (CI installs every server)."""
    return _require_binary


@pytest.fixture(autouse=True)
def _no_developer_simulators(tmp_path_factory, monkeypatch):  # type: ignore[no-untyped-def]
    """Tests never see a `kilnctl sim` the developer has running: the bundled plant would
    otherwise point at it (kilnctl.sim_link)."""
    path = tmp_path_factory.getbasetemp() / "no-running-sim.json"
    monkeypatch.setenv("KILNCTL_SIM_URLS", str(path))


@pytest.fixture(autouse=True)
def _private_device_claims(tmp_path_factory, monkeypatch):  # type: ignore[no-untyped-def]
    """Each test has its own claims directory (kilnctl.claims), inherited by the kilnctl
    processes it starts: a pty path reused by another test, or by a developer's running
    service, never looks held."""
    monkeypatch.setenv("KILNCTL_CLAIMS_DIR", str(tmp_path_factory.mktemp("claims")))


@pytest.fixture(autouse=True)
def _private_state_and_socket(tmp_path_factory, monkeypatch):  # type: ignore[no-untyped-def]
    """Each test has its own default journal folder and service socket (journal_location,
    service/protocol.py): never the developer's journal, nor a service someone runs."""
    base = tmp_path_factory.mktemp("xdg")
    (base / "run").mkdir()
    monkeypatch.setenv("XDG_STATE_HOME", str(base / "state"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(base / "run"))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
