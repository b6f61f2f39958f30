"""A real CalDAV server (Radicale, started here on loopback): a member creates and then edits a
recurring "free" event through CalDAV as a calendar app would, and calroulette, reading the
collection's iCalendar export, sees each change on the next run (the conditional-GET cache must
never hide one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from calroulette.feeds import Feed, FeedStatus, FetchLimits, fetch_feeds
from calroulette.timeutil import UTC

from .support.caldav import radicale_server
from .support.feeds import NOW, WEEK, community_of
from .support.freetime import plain_free_time

pytestmark = pytest.mark.slow
LIMITS = FetchLimits(read_timeout=5.0, deadline=10.0, retries=0)
AUTH = ("ada", "app-password-123")


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Radicale on a free loopback port; any user name and password is accepted (auth: none)."""
    storage = tmp_path_factory.mktemp("radicale")
    with radicale_server(storage) as base:
        yield base


def vcalendar(start: str, end: str, exdate: str = "") -> str:
    """What a calendar app PUTs: one weekly event, in Europe/Berlin with its VTIMEZONE."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example Corp.//Calendar App//EN\r\n"
        "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
        "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
        "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD\r\n"
        "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
        "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\n"
        "END:VTIMEZONE\r\n"
        "BEGIN:VEVENT\r\nUID:coffee-free-1@example.org\r\nDTSTAMP:20261101T090000Z\r\n"
        f"DTSTART;TZID=Europe/Berlin:{start}\r\nDTEND;TZID=Europe/Berlin:{end}\r\n"
        "RRULE:FREQ=WEEKLY;BYDAY=TU\r\n"
        + (f"EXDATE;TZID=Europe/Berlin:{exdate}\r\n" if exdate else "")
        + "SUMMARY:Free for coffee\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def free_in_w49(tmp_path: Path, url: str) -> list[tuple[dt.datetime, dt.datetime]]:
    community = community_of(tmp_path, {"ada": url})
    feed = fetch_feeds(community, now=NOW, limits=LIMITS)["ada@example.org"]
    assert isinstance(feed, Feed), feed
    # Radicale sends an ETag for the export but answers If-None-Match with a full 200, so
    # every run here is FRESH; the point is that a cached validator never hides an edit.
    assert feed.status in (FeedStatus.FRESH, FeedStatus.NOT_MODIFIED)
    result = plain_free_time(feed.body, community.members[0], WEEK, community)
    assert not isinstance(result, Exception), result
    return [(i.start, i.end) for i in result.free]


def test_member_edits_in_a_caldav_app_are_seen_on_the_next_run(
    radicale: str, tmp_path: Path
) -> None:
    collection = f"{radicale}/ada/coffee/"
    made = requests.request("MKCALENDAR", collection, auth=AUTH, timeout=5)
    assert made.status_code == 201, made.status_code
    event_url = collection + "coffee-free-1.ics"
    headers = {"Content-Type": "text/calendar; charset=utf-8"}

    created = requests.put(
        event_url,
        data=vcalendar("20261103T150000", "20261103T170000"),
        headers=headers,
        auth=AUTH,
        timeout=5,
    )
    assert created.status_code == 201
    feed_url = collection.replace("http://", f"http://{AUTH[0]}:{AUTH[1]}@")
    # Tuesday 2026-12-01, 15:00–17:00 in Berlin (CET, UTC+1) is 14:00–16:00 UTC.
    assert free_in_w49(tmp_path, feed_url) == [
        (dt.datetime(2026, 12, 1, 14, tzinfo=UTC), dt.datetime(2026, 12, 1, 16, tzinfo=UTC))
    ]

    moved = requests.put(
        event_url,
        data=vcalendar("20261103T160000", "20261103T180000"),
        headers=headers,
        auth=AUTH,
        timeout=5,
    )
    assert moved.status_code in (201, 204)
    assert free_in_w49(tmp_path, feed_url) == [
        (dt.datetime(2026, 12, 1, 15, tzinfo=UTC), dt.datetime(2026, 12, 1, 17, tzinfo=UTC))
    ]

    unchanged = free_in_w49(tmp_path, feed_url)
    assert unchanged == [
        (dt.datetime(2026, 12, 1, 15, tzinfo=UTC), dt.datetime(2026, 12, 1, 17, tzinfo=UTC))
    ]

    skipped = requests.put(
        event_url,
        data=vcalendar("20261103T160000", "20261103T180000", exdate="20261201T160000"),
        headers=headers,
        auth=AUTH,
        timeout=5,
    )
    assert skipped.status_code in (201, 204)
    assert free_in_w49(tmp_path, feed_url) == []
