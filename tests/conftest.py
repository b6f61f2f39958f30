"""Shared test helpers: where fixtures live, and the real calendars in ../shared when present."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CALENDARS = FIXTURES / "calendars"
SHARED_CALENDARS = ROOT.parent / "shared" / "calendars"


def demo_config_text(tmp_path: Path) -> str:
    """The demo members.toml, with absolute calendar paths and the feed cache under tmp_path
    (the history database and the outbox are relative to the file, so they land there too)."""
    text = (ROOT / "members.toml").read_text(encoding="utf-8")
    text = text.replace('calendar = "demo/', f'calendar = "{ROOT}/demo/')
    return re.sub(r'cache_dir = ".*"', f'cache_dir = "{tmp_path}/cache"', text)


def write_demo_config(tmp_path: Path, text: str | None = None) -> Path:
    """Write ``text`` (default: the demo's) as tmp_path/members.toml and return its path."""
    path = tmp_path / "members.toml"
    path.write_text(demo_config_text(tmp_path) if text is None else text, encoding="utf-8")
    return path


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
