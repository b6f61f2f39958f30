"""The one production path for free time (:class:`FreeTimeReader`: pruned, in worker processes,
cached) gives exactly the plain path's answers (tests/support/freetime.py: each feed parsed whole,
in this process)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer

from calroulette.availability import FreeTime, FreeTimeReader, parse_calendar, reader
from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.service.reading import read_calendars
from calroulette.timeutil import IsoWeek

from .support.availability import calendar_files, generator
from .support.feeds import etag_handler
from .support.freetime import plain_free_times

W49 = IsoWeek(2026, 49)
FREE_MONDAY = b"\r\n".join(
    [
        b"BEGIN:VCALENDAR",
        b"VERSION:2.0",
        b"BEGIN:VEVENT",
        b"UID:free-1",
        b"DTSTART:20261130T100000Z",
        b"DTEND:20261130T120000Z",
        b"RRULE:FREQ=WEEKLY",
        b"SUMMARY:free",
        b"END:VEVENT",
        b"END:VCALENDAR",
        b"",
    ]
)
BROKEN = {
    "garbage": b"<html>login</html>",
    "malformed event": FREE_MONDAY.replace(b"UID:free-1", b"UID:free-1\r\nDTSTAMP:garbage"),
    "unknown zone in the week": FREE_MONDAY.replace(
        b"DTSTART:20261130T100000Z", b"DTSTART;TZID=Mars/Olympus:20261130T100000"
    ),
}


def _community(
    tmp_path: Path, bodies: dict[str, bytes], zone: str = "America/New_York"
) -> Community:
    members = tuple(
        Member(f"M{i}", email, f"{email}.ics", ZoneInfo(zone)) for i, email in enumerate(bodies)
    )
    return Community(
        name="Scale",
        organizer="Org <org@example.org>",
        organizer_email="org@example.org",
        timezone=ZoneInfo("Europe/Berlin"),
        members=members,
        cache_dir=tmp_path / "cache",
    )


def _read(
    community: Community,
    feeds: Mapping[str, bytes | FeedError],
    week: IsoWeek,
    *,
    workers: int | None = None,
) -> dict[str, FreeTime | FeedError]:
    """Every member's free time, read by a :class:`FreeTimeReader` as a run reads it."""
    with FreeTimeReader(community, week, workers=workers) as free:
        return free.compute(feeds)


@pytest.mark.slow
def test_every_fixture_and_a_generated_community_agree_with_the_plain_path(
    tmp_path: Path,
) -> None:
    """Fixtures, demo and shared calendars, generated feeds (a few heavy) and broken ones:
    worker processes, then the cache, give what the plain path gives."""
    fixtures: dict[str, bytes | FeedError] = {
        f"f{i}@example.org": p.read_bytes() for i, p in enumerate(calendar_files())
    }
    for name, body in BROKEN.items():
        fixtures[f"{name.replace(' ', '-')}@example.org"] = body
    fixtures["failed@example.org"] = FeedError("failed@example.org", "calendar", "HTTP 404")
    bench = generator()
    bench.HEAVY_SHARE = 0.15
    made = bench.generate(24, tmp_path / "generated", seed=11, history_weeks=1)
    generated: dict[str, bytes | FeedError] = {
        f"g{i}@example.org": p.read_bytes() for i, p in enumerate(sorted(made.feeds.iterdir()))
    }
    assert sum(len(b) > 100_000 for b in generated.values() if isinstance(b, bytes)) >= 2
    for feeds, week in ((fixtures, IsoWeek(2024, 10)), ({**fixtures, **generated}, W49)):
        community = _community(tmp_path, dict.fromkeys(feeds, b""))
        plain = plain_free_times(community, feeds, week)
        assert sum(isinstance(v, FeedError) for v in plain.values()) >= len(BROKEN)
        assert _read(community, feeds, week, workers=2) == plain
        assert _read(community, feeds, week, workers=2) == plain  # cached


def test_a_small_community_is_read_in_worker_processes_too(tmp_path: Path) -> None:
    """Even a handful of feeds is read in worker processes, never in this one: a feed decides
    how much reading it costs, and only a worker can be bounded and stopped."""
    bodies = {"a@example.org": FREE_MONDAY, **{f"{k}@x.org": v for k, v in BROKEN.items()}}
    community = _community(tmp_path, bodies)
    with FreeTimeReader(community, W49, workers=2) as free:
        result = free.compute(bodies)
        assert free._pool is not None
    assert result == plain_free_times(community, bodies, W49)


def _entries(community: Community, week: IsoWeek | None = W49) -> list[tuple[str, str]]:
    """The free-time cache's (key, record) rows of ``week`` (``None``: every week's)."""
    with closing(sqlite3.connect(community.cache_dir / "free.sqlite")) as conn:
        rows = conn.execute("SELECT week, key, record FROM free ORDER BY week, key").fetchall()
    return [(key, record) for at, key, record in rows if week is None or at == str(week)]


def _rewrite(community: Community, key: str, record: str) -> None:
    with closing(sqlite3.connect(community.cache_dir / "free.sqlite")) as conn, conn:
        assert conn.execute("UPDATE free SET record = ? WHERE key = ?", (record, key)).rowcount


def _tamper(community: Community) -> None:
    """Make every cached answer recognisably wrong: no free time, 99 availability events."""
    for key, record in _entries(community):
        tampered = {**json.loads(record), "free": [], "availability_events": 99}
        _rewrite(community, key, json.dumps(tampered))


def _events(result: object) -> int:
    assert isinstance(result, FreeTime)
    return result.availability_events


def test_an_unchanged_feed_is_answered_from_the_cache(tmp_path: Path) -> None:
    community = _community(tmp_path, {"a@example.org": FREE_MONDAY})
    feeds: dict[str, bytes | FeedError] = {"a@example.org": FREE_MONDAY}
    assert _events(_read(community, feeds, W49)["a@example.org"]) == 1
    _tamper(community)
    assert _events(_read(community, feeds, W49)["a@example.org"]) == 99


@pytest.mark.parametrize("change", ["body", "keyword", "member zone", "community zone", "week"])
def test_the_cache_is_not_used_when_what_the_answer_depends_on_changes(
    tmp_path: Path, change: str
) -> None:
    community = _community(tmp_path, {"a@example.org": FREE_MONDAY})
    body = FREE_MONDAY
    _read(community, {"a@example.org": body}, W49)
    _tamper(community)
    week = W49
    if change == "body":
        body = FREE_MONDAY.replace(b"SUMMARY:free", b"SUMMARY:Free for coffee")
    elif change == "keyword":
        community = dataclasses.replace(community, keyword="coffee")
        body = FREE_MONDAY.replace(b"SUMMARY:free", b"SUMMARY:free coffee")
    elif change == "member zone":
        community = _community(tmp_path, {"a@example.org": body}, zone="Asia/Tokyo")
    elif change == "community zone":
        community = dataclasses.replace(community, timezone=ZoneInfo("Asia/Tokyo"))
    else:
        week = IsoWeek(2026, 50)
    result = _read(community, {"a@example.org": body}, week)["a@example.org"]
    assert _events(result) == 1


def test_the_cache_is_not_used_when_the_events_to_ignore_change(tmp_path: Path) -> None:
    """A meeting being moved is left out of its members' calendars (``ignore_uids``): an answer
    cached without leaving it out must not be reused, nor the other way round."""
    community = _community(tmp_path, {"a@example.org": FREE_MONDAY})
    feeds: dict[str, bytes | FeedError] = {"a@example.org": FREE_MONDAY}
    _read(community, feeds, W49)
    _tamper(community)
    with FreeTimeReader(community, W49, ignore_uids=frozenset({"free-1"})) as free:
        ignoring = free.compute(feeds)["a@example.org"]
    assert _events(ignoring) == 0
    assert isinstance(ignoring, FreeTime) and ignoring.free == ()
    _tamper(community)
    with FreeTimeReader(community, W49, ignore_uids=frozenset({"free-1"})) as free:
        assert _events(free.compute(feeds)["a@example.org"]) == 99  # its own entry, tampered


def test_a_corrupt_cache_entry_is_computed_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    community = _community(tmp_path, {"a@example.org": FREE_MONDAY, "b@example.org": FREE_MONDAY})
    feeds: dict[str, bytes | FeedError] = {
        "a@example.org": FREE_MONDAY,
        "b@example.org": FREE_MONDAY,
    }
    expected = plain_free_times(community, feeds, W49)
    _read(community, feeds, W49)
    (first, _), (second, _) = _entries(community)
    _rewrite(community, first, "{not json")
    _rewrite(community, second, json.dumps({"free": [["yesterday", "today"]]}))
    with caplog.at_level(logging.WARNING, logger="calroulette.availability.reader"):
        assert _read(community, feeds, W49) == expected
    assert caplog.text.count("cannot be read; computed again") == 2
    assert _read(community, feeds, W49) == expected  # and rewritten


def test_errors_are_not_cached_and_entries_hold_no_address(tmp_path: Path) -> None:
    bodies = {"ok@example.org": FREE_MONDAY, "bad@example.org": BROKEN["garbage"]}
    community = _community(tmp_path, bodies)
    community = dataclasses.replace(
        community,
        members=tuple(
            dataclasses.replace(m, calendar=f"https://cal.example/private-{i}abcdef/basic.ics")
            for i, m in enumerate(community.members)
        ),
    )
    result = _read(community, dict(bodies), W49)
    assert isinstance(result["bad@example.org"], FeedError)
    ((key, record),) = _entries(community)
    assert len(key) == 64 and "ok@example.org" not in record
    for path in community.cache_dir.rglob("*"):
        assert path.name == "free.sqlite" and path.stat().st_mode & 0o077 == 0
        assert b"private-" not in path.read_bytes() and b"cal.example" not in path.read_bytes()


def test_weeks_long_past_leave_the_cache(tmp_path: Path) -> None:
    """(One week read at a time; with the horizon's later weeks: test_availability_horizon.)"""
    community = _community(tmp_path, {"a@example.org": FREE_MONDAY})
    feeds: dict[str, bytes | FeedError] = {"a@example.org": FREE_MONDAY}

    def read_one(week: IsoWeek) -> None:
        with FreeTimeReader(community, week, horizon=1) as free:
            free.compute(feeds)

    for week in (W49, W49.shifted(1), W49.shifted(reader.KEEP_WEEKS)):
        read_one(week)
    assert len(_entries(community, None)) == 3  # W49 is KEEP_WEEKS before the last: kept
    read_one(W49.shifted(reader.KEEP_WEEKS + 1))
    assert len(_entries(community, None)) == 3
    assert _entries(community, W49) == []


def test_a_cache_file_that_is_not_a_database_is_started_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    community = _community(tmp_path, {"a@example.org": FREE_MONDAY})
    feeds: dict[str, bytes | FeedError] = {"a@example.org": FREE_MONDAY}
    community.cache_dir.mkdir()
    (community.cache_dir / "free.sqlite").write_bytes(b"not a database, but 100 bytes " * 4)
    expected = plain_free_times(community, feeds, W49)
    with caplog.at_level(logging.WARNING, logger="calroulette.cachedb"):
        assert _read(community, feeds, W49) == expected
    assert "moved aside and started afresh" in caplog.text
    assert len(_entries(community)) == 1
    assert (community.cache_dir / "free.sqlite.broken").exists()


def test_validate_rejects_only_what_parse_calendar_rejects(tmp_path: Path) -> None:
    """A feed that parses but names an unknown zone in the week is a good copy (its error is
    reported later, like before); garbage and a malformed event are not."""
    bodies = {f"{k.replace(' ', '-')}@x.org": v for k, v in BROKEN.items()}
    community = _community(tmp_path, bodies)
    with FreeTimeReader(community, W49) as free:
        for email, body in bodies.items():
            try:
                parse_calendar(body, email)
            except FeedError as error:
                with pytest.raises(FeedError) as raised:
                    free.validate(body, email)
                assert raised.value == error
            else:
                free.validate(body, email)
        assert free.compute(bodies) == plain_free_times(community, bodies, W49)


@pytest.mark.slow
def test_a_new_week_with_every_feed_unchanged_gives_the_plain_paths_answers(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A week past the horizon read with them (tests/test_availability_horizon.py has the weeks
    within it), every server answers 304 and every feed is read again for the new week,
    starting while the other feeds are still being asked for (FreeTimeReader.prepare): the
    answers are the plain path's, and a body whose week is already cached is not read again."""
    made = generator().generate(6, tmp_path / "generated", seed=5, history_weeks=1)
    bodies = {
        f"g{i}@example.org": p.read_bytes() for i, p in enumerate(sorted(made.feeds.iterdir()))
    }
    for email, body in bodies.items():
        handler = etag_handler(body, f'"{email}"')
        httpserver.expect_request(f"/{email}.ics").respond_with_handler(handler)
    zone = ZoneInfo("America/New_York")
    members = tuple(
        Member(f"M{i}", email, httpserver.url_for(f"/{email}.ics"), zone)
        for i, email in enumerate(bodies)
    )
    community = dataclasses.replace(
        _community(tmp_path, {}), members=members, allow_private_feeds=True
    )
    prepared: list[tuple[str, int, bool]] = []
    original = FreeTimeReader.prepare

    def prepare(self: FreeTimeReader, body: bytes, email: str) -> None:
        original(self, body, email)
        prepared.append((email, len(self._pending), self._pool is not None))

    monkeypatch.setattr(FreeTimeReader, "prepare", prepare)
    now = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
    read_calendars(community, W49, now)  # every feed downloaded: nothing to prepare
    assert prepared == []
    # past the longest horizon read with W49: every body is read again
    week = W49.shifted(reader.HORIZON_WEEKS + reader.STAGGER_WEEKS - 1)
    free = read_calendars(community, week, now + dt.timedelta(days=7)).free
    assert sorted(e for e, _, _ in prepared) == sorted(bodies)  # every feed answered 304
    assert max(n for _, n, _ in prepared) >= 1  # work started before the fetching ended
    assert free == plain_free_times(community, dict(bodies), week)
    prepared.clear()
    again = read_calendars(community, week, now + dt.timedelta(days=7)).free
    assert again == free
    # cached: nothing is read again, and no worker process is started for nothing
    assert [(n, pool) for _, n, pool in prepared] == [(0, False)] * len(bodies)
