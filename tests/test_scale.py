"""The fast path for many members (calroulette.freetimes) gives exactly availability's answers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import json
import logging
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer

from calroulette import availability, freetimes, rounds
from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.freetimes import FreeTimes
from calroulette.timeutil import IsoWeek

from .conftest import CALENDARS, ROOT, SHARED_CALENDARS
from .test_feeds_cache import etag_handler

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


def _files() -> list[Path]:
    found = sorted(CALENDARS.glob("*.ics")) + sorted((ROOT / "demo" / "calendars").glob("*.ics"))
    if SHARED_CALENDARS.is_dir():
        found += sorted(SHARED_CALENDARS.glob("*/*.ics"))
    return found


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("community", ROOT / "bench" / "community.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["community"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def pool_for_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker processes even for a handful of feeds, so the tests cross the process boundary."""
    monkeypatch.setattr(freetimes, "POOL_MIN", 1)


@pytest.mark.slow
@pytest.mark.usefixtures("pool_for_any_size")
def test_every_fixture_and_a_generated_community_agree_with_the_plain_path(
    tmp_path: Path,
) -> None:
    """Fixtures, demo and shared calendars, generated feeds (a few heavy) and broken ones:
    worker processes, then the cache, give what availability.free_times gives."""
    fixtures: dict[str, bytes | FeedError] = {
        f"f{i}@example.org": p.read_bytes() for i, p in enumerate(_files())
    }
    for name, body in BROKEN.items():
        fixtures[f"{name.replace(' ', '-')}@example.org"] = body
    fixtures["failed@example.org"] = FeedError("failed@example.org", "calendar", "HTTP 404")
    generator = _generator()
    generator.HEAVY_SHARE = 0.15
    made = generator.generate(24, tmp_path / "generated", seed=11, history_weeks=1)
    generated: dict[str, bytes | FeedError] = {
        f"g{i}@example.org": p.read_bytes() for i, p in enumerate(sorted(made.feeds.iterdir()))
    }
    assert sum(len(b) > 100_000 for b in generated.values() if isinstance(b, bytes)) >= 2
    for feeds, week in ((fixtures, IsoWeek(2024, 10)), ({**fixtures, **generated}, W49)):
        community = _community(tmp_path, dict.fromkeys(feeds, b""))
        plain = availability.free_times(community, feeds, week)
        assert sum(isinstance(v, FeedError) for v in plain.values()) >= len(BROKEN)
        assert freetimes.free_times(community, feeds, week, workers=2) == plain
        assert freetimes.free_times(community, feeds, week, workers=2) == plain  # cached


def test_a_small_community_is_read_in_this_process(tmp_path: Path) -> None:
    bodies = {"a@example.org": FREE_MONDAY, **{f"{k}@x.org": v for k, v in BROKEN.items()}}
    community = _community(tmp_path, bodies)
    with FreeTimes(community, W49, workers=2) as reader:
        result = reader.compute(bodies)
        assert reader._pool is None
    assert result == availability.free_times(community, bodies, W49)


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
    assert isinstance(result, availability.FreeTime)
    return result.availability_events


def test_an_unchanged_feed_is_answered_from_the_cache(tmp_path: Path) -> None:
    community = _community(tmp_path, {"a@example.org": FREE_MONDAY})
    feeds: dict[str, bytes | FeedError] = {"a@example.org": FREE_MONDAY}
    assert _events(freetimes.free_times(community, feeds, W49)["a@example.org"]) == 1
    _tamper(community)
    assert _events(freetimes.free_times(community, feeds, W49)["a@example.org"]) == 99


@pytest.mark.parametrize("change", ["body", "keyword", "member zone", "community zone", "week"])
def test_the_cache_is_not_used_when_what_the_answer_depends_on_changes(
    tmp_path: Path, change: str
) -> None:
    community = _community(tmp_path, {"a@example.org": FREE_MONDAY})
    body = FREE_MONDAY
    freetimes.free_times(community, {"a@example.org": body}, W49)
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
    result = freetimes.free_times(community, {"a@example.org": body}, week)["a@example.org"]
    assert _events(result) == 1


def test_a_corrupt_cache_entry_is_computed_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    community = _community(tmp_path, {"a@example.org": FREE_MONDAY, "b@example.org": FREE_MONDAY})
    feeds: dict[str, bytes | FeedError] = {
        "a@example.org": FREE_MONDAY,
        "b@example.org": FREE_MONDAY,
    }
    expected = availability.free_times(community, feeds, W49)
    freetimes.free_times(community, feeds, W49)
    (first, _), (second, _) = _entries(community)
    _rewrite(community, first, "{not json")
    _rewrite(community, second, json.dumps({"free": [["yesterday", "today"]]}))
    with caplog.at_level(logging.WARNING, logger="calroulette.freetimes"):
        assert freetimes.free_times(community, feeds, W49) == expected
    assert caplog.text.count("cannot be read; computed again") == 2
    assert freetimes.free_times(community, feeds, W49) == expected  # and rewritten


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
    result = freetimes.free_times(community, dict(bodies), W49)
    assert isinstance(result["bad@example.org"], FeedError)
    ((key, record),) = _entries(community)
    assert len(key) == 64 and "ok@example.org" not in record
    for path in community.cache_dir.rglob("*"):
        assert path.name == "free.sqlite" and path.stat().st_mode & 0o077 == 0
        assert b"private-" not in path.read_bytes() and b"cal.example" not in path.read_bytes()


def test_weeks_long_past_leave_the_cache(tmp_path: Path) -> None:
    community = _community(tmp_path, {"a@example.org": FREE_MONDAY})
    feeds: dict[str, bytes | FeedError] = {"a@example.org": FREE_MONDAY}
    for week in (W49, W49.shifted(1), W49.shifted(freetimes.KEEP_WEEKS)):
        freetimes.free_times(community, feeds, week)
    assert len(_entries(community, None)) == 3  # W49 is KEEP_WEEKS before the last: kept
    freetimes.free_times(community, feeds, W49.shifted(freetimes.KEEP_WEEKS + 1))
    assert len(_entries(community, None)) == 3
    assert _entries(community, W49) == []


def test_a_cache_file_that_is_not_a_database_is_started_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    community = _community(tmp_path, {"a@example.org": FREE_MONDAY})
    feeds: dict[str, bytes | FeedError] = {"a@example.org": FREE_MONDAY}
    community.cache_dir.mkdir()
    (community.cache_dir / "free.sqlite").write_bytes(b"not a database, but 100 bytes " * 4)
    expected = availability.free_times(community, feeds, W49)
    with caplog.at_level(logging.WARNING, logger="calroulette.cachedb"):
        assert freetimes.free_times(community, feeds, W49) == expected
    assert "moved aside and started afresh" in caplog.text
    assert len(_entries(community)) == 1
    assert (community.cache_dir / "free.sqlite.broken").exists()


def test_validate_rejects_only_what_parse_calendar_rejects(tmp_path: Path) -> None:
    """A feed that parses but names an unknown zone in the week is a good copy (its error is
    reported later, like before); garbage and a malformed event are not."""
    bodies = {f"{k.replace(' ', '-')}@x.org": v for k, v in BROKEN.items()}
    community = _community(tmp_path, bodies)
    with FreeTimes(community, W49) as reader:
        for email, body in bodies.items():
            try:
                availability.parse_calendar(body, email)
            except FeedError as error:
                with pytest.raises(FeedError) as raised:
                    reader.validate(body, email)
                assert raised.value == error
            else:
                reader.validate(body, email)
        assert reader.compute(bodies) == availability.free_times(community, bodies, W49)


@pytest.mark.usefixtures("pool_for_any_size")
def test_a_new_week_with_every_feed_unchanged_gives_the_plain_paths_answers(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Next week, every server answers 304 and every feed is read again for the new week,
    starting while the other feeds are still being asked for (FreeTimes.prepare): the answers
    are availability's, and a body whose week is already cached is not read again."""
    made = _generator().generate(6, tmp_path / "generated", seed=5, history_weeks=1)
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
    community = dataclasses.replace(_community(tmp_path, {}), members=members)
    prepared: list[tuple[str, int, bool]] = []
    original = FreeTimes.prepare

    def prepare(self: FreeTimes, body: bytes, email: str) -> None:
        original(self, body, email)
        prepared.append((email, len(self._pending), self._pool is not None))

    monkeypatch.setattr(FreeTimes, "prepare", prepare)
    now = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
    rounds.read_feeds(community, W49, now)  # every feed downloaded: nothing to prepare
    assert prepared == []
    week = W49.shifted(1)
    _, free = rounds.read_feeds(community, week, now + dt.timedelta(days=7))
    assert sorted(e for e, _, _ in prepared) == sorted(bodies)  # every feed answered 304
    assert max(n for _, n, _ in prepared) >= 1  # work started before the fetching ended
    assert free == availability.free_times(community, dict(bodies), week)
    prepared.clear()
    _, again = rounds.read_feeds(community, week, now + dt.timedelta(days=7))
    assert again == free
    # cached: nothing is read again, and no worker process is started for nothing
    assert [(n, pool) for _, n, pool in prepared] == [(0, False)] * len(bodies)
