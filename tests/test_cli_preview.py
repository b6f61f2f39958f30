"""`calroulette preview`: what calroulette would see in a calendar before its owner is added,
read over real HTTP on loopback, with a warning for each way it can go wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from calroulette.cli import app

from .support.calendars import FREE_TUESDAYS, ONLY_MEETINGS
from .support.calendars import MARKER as SECRET

runner = CliRunner()

# Free Tuesdays 09:00-10:30 UTC, but a busy meeting covers all of it.
ALL_BLOCKED = FREE_TUESDAYS.replace(
    b"END:VCALENDAR\r\n",
    b"""BEGIN:VEVENT\r
UID:workshop@test\r
DTSTAMP:20261101T000000Z\r
DTSTART:20261201T083000Z\r
DTEND:20261201T110000Z\r
SUMMARY:Workshop\r
END:VEVENT\r
END:VCALENDAR\r
""",
)


def _url(httpserver: HTTPServer, body: bytes, content_type: str = "text/calendar") -> str:
    path = f"/ical/{SECRET}/basic.ics"
    httpserver.expect_request(path).respond_with_data(body, content_type=content_type)
    return httpserver.url_for(path)


def _preview(url: str, *extra: str) -> object:
    """Preview ``url`` (the test server is on loopback: the address guard is told to allow it)."""
    args = ["preview", url, "--timezone", "Asia/Tokyo", "--allow-private-feeds", *extra]
    return runner.invoke(app, args)


def test_preview_shows_free_time_in_the_owners_zone(httpserver: HTTPServer, now_env: str) -> None:
    result = _preview(_url(httpserver, FREE_TUESDAYS), "--week", "2026-W49")
    assert result.exit_code == 0, result.output
    # 09:00-10:30 UTC on Tuesday 1 December is 18:00-19:30 in Tokyo (UTC+9).
    assert "free time in 2026-W49 (Asia/Tokyo)" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line[:2].isdigit()]
    tuesday = slice(14, 19)
    assert [(r[:5], r[tuesday]) for r in rows] == [
        ("18:00", "█████"),
        ("18:30", "█████"),
        ("19:00", "█████"),
        ("19:30", "  ·  "),
    ]
    assert "OK" in result.stderr
    assert SECRET not in result.output


def test_preview_defaults_to_next_week_in_the_owners_zone(
    httpserver: HTTPServer, now_env: str
) -> None:
    result = _preview(_url(httpserver, FREE_TUESDAYS))
    assert result.exit_code == 0, result.output
    assert "2026-W49" in result.stdout


def test_preview_warns_when_there_are_no_availability_events(
    httpserver: HTTPServer, now_env: str
) -> None:
    result = _preview(_url(httpserver, ONLY_MEETINGS))
    assert result.exit_code == 1
    assert "warning: preview: calendar: no events titled 'free' in 2026-W49" in result.stderr


def test_preview_keyword_option_changes_the_word_it_looks_for(
    httpserver: HTTPServer, now_env: str
) -> None:
    result = _preview(_url(httpserver, ONLY_MEETINGS), "--keyword", "standup")
    assert result.exit_code == 0, result.output
    assert "█████" in result.stdout


def test_preview_warns_when_busy_events_block_all_free_time(
    httpserver: HTTPServer, now_env: str
) -> None:
    result = _preview(_url(httpserver, ALL_BLOCKED), "--week", "2026-W49")
    assert result.exit_code == 1
    assert "is covered by busy events" in result.stderr
    assert "(no free time this week)" in result.stdout


def test_preview_of_a_web_page_gives_the_feed_error_and_its_hint(
    httpserver: HTTPServer, now_env: str
) -> None:
    page = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>login</body></html>"
    result = _preview(_url(httpserver, page, content_type="text/html"))
    assert result.exit_code == 1
    assert result.stderr.count("error: preview: calendar:") == 1
    assert "secret iCal address" in result.stderr
    assert SECRET not in result.output


def test_preview_of_a_local_file(tmp_path: Path, now_env: str) -> None:
    calendar = tmp_path / "mine.ics"
    calendar.write_bytes(FREE_TUESDAYS)
    result = _preview(str(calendar))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", "Mars/Olympus"], "--timezone: unknown time zone 'Mars/Olympus'"),
        (["--timezone", "UTC", "--week", "2026-49"], "--week: '2026-49' is not an ISO week"),
    ],
)
def test_preview_refuses_bad_options(args: list[str], message: str, now_env: str) -> None:
    result = runner.invoke(app, ["preview", "x.ics", *args])
    assert result.exit_code == 2
    assert message in result.stderr
