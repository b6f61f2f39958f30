"""Every kind of calendar calroulette sends parses in Mozilla's ical.js (Thunderbird's parser).

ical.js is pinned by tests/js/package-lock.json and installed into the git-ignored
tests/js/node_modules with `npm ci` the first time this runs (the test is skipped only when node or
npm is missing).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from calroulette import invites
from calroulette.invites import Kind
from calroulette.matching import Meeting
from calroulette.timeutil import IsoWeek

from .support.icaljs import JS, ical_js_node
from .support.mail import make_community

UTC = dt.UTC
WEEK = IsoWeek(2026, 49)
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
START = dt.datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
START_UNIX = (dt.date(2026, 12, 1) - dt.date(1970, 1, 1)).days * 86400 + 14 * 3600


@pytest.fixture(scope="module")
def ical_js() -> Path:
    return ical_js_node()


def parse_all(node: Path, paths: list[Path]) -> list[dict[str, Any]]:
    result = subprocess.run(
        [str(node), str(JS / "check_ics.mjs"), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    parsed: list[dict[str, Any]] = json.loads(result.stdout)
    errors = [p for p in parsed if "error" in p]
    assert result.returncode == 0 and not errors, errors or result.stderr
    return parsed


@pytest.mark.slow
def test_every_calendar_parses_in_ical_js_with_the_same_fields(
    tmp_path: Path, ical_js: Path
) -> None:
    community = make_community(tmp_path)
    pair = Meeting(
        "pair@calroulette.test",
        ("ada@example.org", "zoe@example.org"),
        START,
        START + dt.timedelta(minutes=30),
    )
    triple = replace(
        pair,
        uid="triple@calroulette.test",
        members=("alan@example.org", "grace@example.org", "zoe@example.org"),
    )
    cases = [
        (pair, Kind.REQUEST, 0),
        (triple, Kind.REQUEST, 0),
        (pair, Kind.REQUEST, 2),  # an updated invitation
        (pair, Kind.CANCEL, 3),
    ]
    paths, expected = [], []
    for i, (meeting, kind, sequence) in enumerate(cases):
        (first, *_) = invites.meeting_emails(
            meeting, community, WEEK, sequence=sequence, now=NOW, kind=kind
        )
        assert first.ics is not None
        path = tmp_path / f"{i}.ics"
        path.write_bytes(first.ics)
        paths.append(path)
        expected.append((meeting, kind, sequence))
    # the calendar inside a Discord post is the same object
    post = invites.discord_post(pair, community, WEEK, sequence=0, now=NOW)
    assert post.ics is not None
    (tmp_path / "discord.ics").write_bytes(post.ics)
    paths.append(tmp_path / "discord.ics")
    expected.append((pair, Kind.REQUEST, 0))

    for seen, (meeting, kind, sequence) in zip(parse_all(ical_js, paths), expected, strict=True):
        assert seen["method"] == ("CANCEL" if kind is Kind.CANCEL else "REQUEST")
        assert seen["version"] == "2.0"
        assert seen["uid"] == meeting.uid
        assert seen["sequence"] == sequence
        assert seen["status"] == ("CANCELLED" if kind is Kind.CANCEL else "CONFIRMED")
        assert seen["start"] == "2026-12-01T14:00:00Z"
        assert seen["end"] == "2026-12-01T14:30:00Z"
        assert seen["startZone"] == "UTC"
        assert seen["startUnix"] == START_UNIX
        assert seen["organizer"] == "mailto:coffee@example.org"
        assert seen["organizerCN"] == "Data Folk Coffee"
        assert seen["location"] == seen["url"]
        assert seen["url"].startswith("https://meet.jit.si/data-folk-coffee-")
        attendees = {a["value"]: a for a in seen["attendees"]}
        assert set(attendees) == {f"mailto:{m}" for m in meeting.members}
        for attendee in attendees.values():
            assert (attendee["role"], attendee["partstat"], attendee["rsvp"]) == (
                "REQ-PARTICIPANT",
                "NEEDS-ACTION",
                "TRUE",
            )
    assert parse_all(ical_js, paths[:1])[0]["summary"] == "☕ Data Folk Coffee: Ada & Zoë"
    zoe = {a["value"]: a["cn"] for a in parse_all(ical_js, paths[:1])[0]["attendees"]}
    assert zoe["mailto:zoe@example.org"] == "Zoë Ødegård"


@pytest.mark.slow
def test_ical_js_reports_a_broken_calendar(tmp_path: Path, ical_js: Path) -> None:
    """The checker itself can fail: a truncated calendar is an error, not a pass."""
    broken = tmp_path / "broken.ics"
    broken.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n")
    result = subprocess.run(
        [str(ical_js), str(JS / "check_ics.mjs"), str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "error" in json.loads(result.stdout)[0]
