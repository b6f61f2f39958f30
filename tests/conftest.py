"""Shared test helpers: where fixtures live, and the real calendars in ../shared when present."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CALENDARS = FIXTURES / "calendars"
SHARED_CALENDARS = ROOT.parent / "shared" / "calendars"


@pytest.fixture
def now_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """Pin the CLI's clock to a Tuesday before 2026-W49."""
    value = "2026-11-24T12:00:00Z"
    monkeypatch.setenv("CALROULETTE_NOW", value)
    return value


@pytest.fixture(autouse=True)
def _private_cache_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A community without cache_dir caches under $XDG_CACHE_HOME: never the real home's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
