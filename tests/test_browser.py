"""The overlap page in a real browser: headless Chromium (Debian's `chromium` package) renders it
without console errors, shows the table, and fits a phone screen.

Skipped, saying why, when Chromium is not installed (.ci/run installs it in CI).
"""

from __future__ import annotations

import datetime as dt
import shutil
import struct
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from calroulette.intervals import Interval
from calroulette.matching import Meeting
from calroulette.render.heatmap import heat_map
from calroulette.render.page import overlap_page
from calroulette.timeutil import IsoWeek

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium is not installed (apt-get install chromium); the browser check is skipped",
    ),
]

UTC = dt.UTC
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]


def _page(tmp_path: Path) -> Path:
    def at(day: int, hour: float) -> dt.datetime:
        return dt.datetime(2026, 11, 30, tzinfo=UTC) + dt.timedelta(days=day, hours=hour)

    free = {
        "ada@x.org": (Interval(at(1, 14), at(1, 17)), Interval(at(3, 9), at(3, 11))),
        "grace@x.org": (Interval(at(1, 15), at(1, 16)),),
        "alan@x.org": (Interval(at(1, 14.5), at(1, 16.5)), Interval(at(3, 9.5), at(3, 10.5))),
    }
    heat = heat_map(free, IsoWeek(2026, 49), ZoneInfo("Europe/London"))
    meeting = Meeting("u1", ("ada@x.org", "grace@x.org"), at(1, 15), at(1, 15.5))
    page = overlap_page(
        heat,
        community="Data <Folk> Coffee",
        names={"ada@x.org": "Ada Lovelace", "grace@x.org": "Grace Hopper"},
        meetings=[meeting],
        generated=dt.datetime(2026, 11, 24, 12, tzinfo=UTC),
    )
    path = tmp_path / "overlap.html"
    path.write_text(page, encoding="utf-8")
    return path


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        cwd=tmp_path,
    )


def test_page_renders_in_chromium_with_the_table_and_no_console_errors(tmp_path: Path) -> None:
    page = _page(tmp_path)
    proc = _chromium(
        tmp_path,
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=2000",
        "--dump-dom",
        page.as_uri(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert "<h1>Data &lt;Folk&gt; Coffee: who is free in 2026-W49</h1>" in dom
    assert dom.count("<tr>") >= 8, "a header row and the half-hours 14:00-17:30"
    assert 'title="Tue 01 Dec 15:00: Ada Lovelace, alan@x.org, Grace Hopper' in dom
    assert "3☕</td>" in dom
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], "the page logs to the console: " + "\n".join(console)
    refused = [line for line in proc.stderr.splitlines() if "Content Security Policy" in line]
    assert refused == [], "the page tried to load something: " + "\n".join(refused)


def test_page_fits_a_phone_screen(tmp_path: Path) -> None:
    page = _page(tmp_path)
    shot = tmp_path / "phone.png"
    proc = _chromium(tmp_path, "--window-size=390,844", f"--screenshot={shot}", page.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (390, 844)
    assert len(data) > 10_000, "a blank screenshot compresses to almost nothing"


def test_the_console_check_would_catch_a_page_that_loads_something(tmp_path: Path) -> None:
    """A control: without it, a Chromium that stopped logging would make the check above pass."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        _page(tmp_path)
        .read_text(encoding="utf-8")
        .replace("<h1>", '<img src="https://x.test/a.png"><h1>'),
        encoding="utf-8",
    )
    proc = _chromium(
        tmp_path,
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=2000",
        "--dump-dom",
        bad.as_uri(),
    )
    assert any(
        "CONSOLE" in line and "Content Security Policy" in line for line in proc.stderr.splitlines()
    )
