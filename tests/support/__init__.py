"""Helpers shared by the test modules (no test module imports another): where fixtures live,
the demo community, and by topic: :mod:`.feeds`, :mod:`.freetime`, :mod:`.mail`,
:mod:`.calendars`."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
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
