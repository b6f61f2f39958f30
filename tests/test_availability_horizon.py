"""Free time for several weeks from one read (issue 17): each week's answer from the horizon
(:func:`calroulette.availability.horizon.free_times`, one expansion across the weeks; the reader's
workers, which cache every week) is exactly the week-by-week answer: :func:`free_time` called
for that week alone, on the whole feed (tests/support/freetime.py).

Checked on every fixture, the demo's calendars, the real exports in ../shared (when present),
broken feeds and a generated community; across the clock changes of Europe/London, New York
and Sydney; with members in other zones than the community's. Then what the horizon must never
do: cost more than a member's bounds, turn a good answer into an error, cache an error, or lose
the later weeks to the cache's clean-up; and what it is for: next week's run on unchanged
bodies parses nothing and starts no worker.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from pytest_httpserver import HTTPServer

from calroulette.availability import (
    FreeTime,
    FreeTimeReader,
    _worker,
    free_time,
    parse_calendar,
    reader,
)
from calroulette.availability import horizon as horizon_module
from calroulette.availability._worker import ReadLimits, read
from calroulette.availability.horizon import free_times
from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.service.reading import read_calendars
from calroulette.timeutil import IsoWeek

from .support import CALENDARS, SHARED_CALENDARS
from .support.availability import CASES, calendar_files, generator
from .support.feeds import etag_handler
from .support.freetime import plain_free_time, plain_free_times

W49 = IsoWeek(2026, 49)
HORIZON = reader.HORIZON_WEEKS
# (member zone, community zone): never the same, and clocks that change on different days
# (London and New York three weeks apart in March, one in autumn; Sydney the other way round)
ZONES = (
    ("America/New_York", "Europe/London"),
    ("Europe/London", "America/New_York"),
    ("Australia/Sydney", "UTC"),
)
_DTSTART = re.compile(rb"DTSTART[^:\r\n]*:(\d{8})")
_SUMMARY = re.compile(rb"^SUMMARY[^:\r\n]*:(.*)$", re.M)
SHARED = sorted(SHARED_CALENDARS.rglob("*.ics")) if SHARED_CALENDARS.is_dir() else []
FILES = sorted({*calendar_files(), *SHARED})


def _horizon(first: IsoWeek, n: int = HORIZON) -> list[IsoWeek]:
    return [first.shifted(k) for k in range(n)]


def _weeks_read(community: Community, body: bytes, first: IsoWeek) -> list[IsoWeek]:
    """The weeks a reader of ``first`` reads the first member's ``body`` for: its horizon."""
    with FreeTimeReader(community, first) as free:
        return _horizon(first, free.horizon_for(body, community.members[0]))


def _starts(body: bytes) -> list[IsoWeek]:
    """Where horizons start for a file: around its first, middle and last event (each week
    then read both as a horizon's first week and as a later one), across the clock changes of
    March and of October-November in its middle event's year, and 2026-W49."""
    days = sorted({m.group(1) for m in _DTSTART.finditer(body)})
    picks = [days[0], days[len(days) // 2], days[-1]] if days else []
    weeks = {IsoWeek.containing(dt.date(int(d[:4]), int(d[4:6]), int(d[6:]))) for d in picks}
    starts = {w.shifted(-2) for w in weeks} | {w.shifted(-HORIZON + 2) for w in weeks}
    year = int(picks[1][:4]) if picks else 2026
    if 1971 <= year <= 2099:
        starts |= {IsoWeek(year, 8), IsoWeek(year, 41)}  # covers 2nd Sunday of March → April
    starts.add(W49)
    return sorted(starts)


def _keyword(body: bytes) -> str:
    """The commonest word of the file's titles: many of its events free, the others busy."""
    words = Counter(
        w.lower()
        for line in _SUMMARY.findall(body)
        for w in re.findall(r"[A-Za-z]{3,}", line.decode("utf-8", "replace"))
    )
    return words.most_common(1)[0][0] if words else "free"


def _week_by_week(
    calendar: icalendar.Calendar,
    member: Member,
    weeks: list[IsoWeek],
    keyword: str,
    zone: dt.tzinfo,
) -> dict[IsoWeek, FreeTime | FeedError]:
    """Today's path, one week at a time (the calendar parsed once: parsing does not depend on
    the week)."""
    out: dict[IsoWeek, FreeTime | FeedError] = {}
    for week in weeks:
        try:
            out[week] = free_time(calendar, member, week, keyword=keyword, week_zone=zone)
        except FeedError as error:
            out[week] = error
    return out


def _settings(path: Path) -> Iterator[tuple[str, str, str]]:
    """(member zone, community zone, keyword) to read a file with: the zone pairs above with
    "free" and with its commonest title word, and each of a fixture's own cases."""
    body = path.read_bytes()
    for member_zone, community_zone in ZONES:
        for keyword in dict.fromkeys(("free", _keyword(body))):
            yield member_zone, community_zone, keyword
    for case in CASES:
        if CALENDARS / f"{case.fixture}.ics" == path:
            keyword = case.case.get("keyword") or case.expected.get("keyword", "free")
            yield case.expected["member_zone"], case.expected["community_zone"], keyword


def _file_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", FILES, ids=_file_id)
def test_the_horizon_gives_every_week_what_it_gives_alone(path: Path) -> None:
    """Every fixture, demo calendar and real export: for horizons starting around its events
    and across the clock changes, each week of :func:`free_times` is :func:`free_time` of that
    week, error or free time, notes and counts included."""
    body = path.read_bytes()
    compared = 0
    for member_zone, community_zone, keyword in dict.fromkeys(_settings(path)):
        member = Member("Ada", "ada@example.org", str(path), ZoneInfo(member_zone))
        zone = ZoneInfo(community_zone)
        try:
            calendar = parse_calendar(body, member.email)
        except FeedError:
            return  # nothing to expand: every week is the same parse error (see the reader test)
        for first in _starts(body):
            weeks = _horizon(first)
            horizon = free_times(calendar, member, weeks, keyword=keyword, week_zone=zone)
            assert horizon == _week_by_week(calendar, member, weeks, keyword, zone), (
                member_zone,
                community_zone,
                keyword,
                first,
            )
            compared += len(weeks)
    assert compared >= HORIZON


def test_the_real_exports_are_there_or_the_skip_says_so() -> None:
    if not SHARED:
        pytest.skip(
            "the shared real-calendar corpus is not checked out beside the repository "
            "(../shared/calendars): the real exports are not compared"
        )
    assert len([p for p in FILES if p in SHARED]) == len(SHARED)


@pytest.mark.parametrize("member_zone", ["America/New_York", "Europe/London", "Asia/Kolkata"])
@pytest.mark.parametrize(
    "first", [IsoWeek(2026, 8), IsoWeek(2026, 41)], ids=["march-clocks", "autumn-clocks"]
)
def test_a_weekly_free_window_across_each_clock_change(member_zone: str, first: IsoWeek) -> None:
    """Free late evenings and all-day Fridays that straddle week boundaries (Sunday 22:00 to
    Monday 02:00), a busy event every other day, one moved and one cancelled occurrence, across
    the changes of London (29 March, 25 October) and New York (8 March, 1 November), for a
    community in London: week by week and from the horizon, the same."""
    body = _calendar(
        _event(
            "late",
            "free",
            "DTSTART;TZID=America/New_York:20260104T220000",
            "DTEND;TZID=America/New_York:20260105T020000",
            "RRULE:FREQ=WEEKLY;BYDAY=SU,WE",
            "EXDATE;TZID=America/New_York:20261025T220000",
        ),
        _event(
            "late",
            "free (moved)",
            "RECURRENCE-ID;TZID=America/New_York:20260308T220000",
            "DTSTART;TZID=America/New_York:20260310T230000",
            "DTEND;TZID=America/New_York:20260311T010000",
        ),
        _event(
            "fridays",
            "Free all day",
            "DTSTART;VALUE=DATE:20260102",
            "DTEND;VALUE=DATE:20260103",
            "RRULE:FREQ=WEEKLY",
        ),
        _event(
            "busy",
            "Gym",
            "DTSTART;TZID=Europe/London:20260101T230000",
            "DURATION:PT2H",
            "RRULE:FREQ=DAILY;INTERVAL=2",
        ),
        _event(
            "busy",
            "Gym",
            "RECURRENCE-ID;TZID=Europe/London:20261024T230000",
            "DTSTART;TZID=Europe/London:20261024T230000",
            "DTEND;TZID=Europe/London:20261025T010000",
            "STATUS:CANCELLED",
        ),
        _event("trip", "Conference", "DTSTART:20260330", "DTEND:20260402"),
    )
    member = Member("Ada", "ada@example.org", "x.ics", ZoneInfo(member_zone))
    zone = ZoneInfo("Europe/London")
    calendar = parse_calendar(body, member.email)
    weeks = _horizon(first)
    horizon = free_times(calendar, member, weeks, keyword="free", week_zone=zone)
    assert horizon == _week_by_week(calendar, member, weeks, "free", zone)
    assert all(isinstance(r, FreeTime) and r.free for r in horizon.values())


FREE_MORNINGS = (
    "free-mornings",
    "free",
    "DTSTART:20261130T080000Z",
    "DTEND:20261130T120000Z",
    "RRULE:FREQ=DAILY",
)
BROKEN = {  # the issue 15 policy: what a broken event costs, week by week
    "unexpandable free series": (
        "broken",
        "Free daily",
        "DTSTART:20261101T100000Z",
        "DTEND:20261101T110000Z",
        "RRULE:FREQ=DAILY;BYSETPOS=0",
    ),
    "unexpandable busy series from W51": (
        "broken",
        "Standup",
        "DTSTART:20261214T100000Z",
        "DTEND:20261214T110000Z",
        "RRULE:FREQ=DAILY;BYSETPOS=0",
    ),
    "busy, ends before it starts, in W50": (
        "broken",
        "Dentist",
        "DTSTART:20261209T100000Z",
        "DTEND:20261209T090000Z",
    ),
    "busy weekly in an unknown zone": (
        "broken",
        "Gym",
        "DTSTART;TZID=Mars/Olympus:20261202T100000",
        "DTEND;TZID=Mars/Olympus:20261202T110000",
        "RRULE:FREQ=WEEKLY",
    ),
    "free weekly in an unknown zone": (
        "broken",
        "free",
        "DTSTART;TZID=Mars/Olympus:20261203T100000",
        "DTEND;TZID=Mars/Olympus:20261203T110000",
        "RRULE:FREQ=WEEKLY",
    ),
}
# two different sentences about broken events in the same weeks: their order is the library's
BROKEN["two broken events at once"] = BROKEN["busy weekly in an unknown zone"]
SECOND = (
    "broken-2",
    "Yoga",
    "DTSTART;TZID=Venus/Maxwell:20261204T100000",
    "DTEND;TZID=Venus/Maxwell:20261204T110000",
    "RRULE:FREQ=WEEKLY",
)


@pytest.mark.parametrize("name", BROKEN)
def test_broken_events_cost_the_same_weeks_and_notes_from_the_horizon(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each broken piece of the policy tests (skipped, blocked, refused only in the weeks it
    reaches), alone and two at once: the same answers, errors and notes as week by week, by
    the one expansion or, where the answer could depend on the library's order or the one
    expansion cannot be made, by reading those weeks alone."""
    events = [_event(*FREE_MORNINGS), _event(*BROKEN[name])]
    if name == "two broken events at once":
        events.append(_event(*SECOND))
    calendar = parse_calendar(_calendar(*events), "ada@example.org")
    alone: list[IsoWeek] = []
    original = horizon_module._alone

    def counted(calendar: Any, member: Member, week: IsoWeek, *args: Any) -> Any:
        alone.append(week)
        return original(calendar, member, week, *args)

    monkeypatch.setattr(horizon_module, "_alone", counted)
    member = Member("Ada", "ada@example.org", "x.ics", ZoneInfo("Europe/Berlin"))
    weeks = _horizon(W49.shifted(-1))
    zone = ZoneInfo("UTC")
    horizon = free_times(calendar, member, weeks, keyword="free", week_zone=zone)
    assert horizon == _week_by_week(calendar, member, weeks, "free", zone)
    if name.startswith("unexpandable"):
        assert alone == weeks  # the one expansion fails: every week alone
    elif name == "two broken events at once":
        assert alone and len(alone) < len(weeks)  # the weeks with both: alone
    else:
        assert alone == []
    if "W50" in name or "W51" in name:
        refused = [w for w, r in horizon.items() if isinstance(r, FeedError)]
        assert refused and len(refused) < len(weeks)


# --- through the reader: workers, pruning for the horizon, the cache -----------------------


def _community(
    tmp_path: Path, emails: list[str], zones: tuple[str, ...], community_zone: str
) -> Community:
    members = tuple(
        Member(f"M{i}", email, f"{email}.ics", ZoneInfo(zones[i % len(zones)]))
        for i, email in enumerate(emails)
    )
    return Community(
        name="Horizon",
        organizer="Org <org@example.org>",
        organizer_email="org@example.org",
        timezone=ZoneInfo(community_zone),
        members=members,
        cache_dir=tmp_path / "cache",
    )


def _rows(community: Community) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(community.cache_dir / "free.sqlite")) as conn:
        return conn.execute("SELECT week, key FROM free ORDER BY week, key").fetchall()


class _Counted(FreeTimeReader):
    """A reader that counts what it hands to workers, and the worker pools it starts."""

    submitted: list[str]
    pools: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.submitted, self.pools = [], 0
        super().__init__(*args, **kwargs)

    def _submit(self, body: bytes, member: Member) -> Any:
        self.submitted.append(member.email)
        return super()._submit(body, member)

    def _new_pool(self, workers: int, horizon: int | None = None) -> Any:
        self.pools += 1
        return super()._new_pool(workers, horizon)


def _read(
    community: Community, feeds: Mapping[str, bytes | FeedError], week: IsoWeek
) -> tuple[dict[str, FreeTime | FeedError], _Counted]:
    with _Counted(community, week, workers=2) as free:
        return free.compute(feeds), free


BROKEN_LATER = b"\r\n".join(
    [
        b"BEGIN:VCALENDAR",
        b"VERSION:2.0",
        b"BEGIN:VEVENT",
        b"UID:free",
        b"DTSTART:20261130T100000Z",
        b"DTEND:20261130T160000Z",
        b"RRULE:FREQ=WEEKLY",
        b"SUMMARY:free",
        b"END:VEVENT",
        b"BEGIN:VEVENT",  # busy, and its time cannot be read: refused in W51 only
        b"UID:broken",
        b"DTSTART:20261216T120000Z",
        b"DTEND:20261216T110000Z",
        b"SUMMARY:Dentist",
        b"END:VEVENT",
        b"END:VCALENDAR",
        b"",
    ]
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("first", "community_zone"),
    [(W49, "Europe/Berlin"), (IsoWeek(2026, 11), "Europe/London"), (IsoWeek(2026, 42), "UTC")],
    ids=["2026-W49", "march-clocks", "autumn-clocks"],
)
def test_the_readers_later_weeks_are_the_plain_answers(
    tmp_path: Path, first: IsoWeek, community_zone: str
) -> None:
    """Fixtures, demo and shared calendars, a generated community (a few heavy feeds) and
    broken ones, members in three zones: read for one week, then each later week is answered
    from the cache, and is the plain path's answer for that week (errors read again)."""
    bench = generator()
    bench.HEAVY_SHARE = 0.2
    made = bench.generate(8, tmp_path / "generated", seed=17, history_weeks=1)
    generated = [p.read_bytes() for p in sorted(made.feeds.iterdir())]
    assert any(len(b) > 100_000 for b in generated)  # a heavy primary calendar among them
    bodies = [p.read_bytes() for p in calendar_files()] + generated
    bodies += [BROKEN_LATER, b"<html>login</html>"]
    feeds: dict[str, bytes | FeedError] = {f"m{i}@example.org": b for i, b in enumerate(bodies)}
    zones = ("America/New_York", "Europe/London", "Asia/Tokyo")
    community = _community(tmp_path, list(feeds), zones, community_zone)
    first_read, _ = _read(community, feeds, first)
    assert first_read == plain_free_times(community, feeds, first)
    good = sum(isinstance(r, FreeTime) for r in first_read.values())
    cached = Counter(week for week, _ in _rows(community))
    assert cached[str(first)] == good
    for week in _horizon(first)[1:]:
        later, free = _read(community, feeds, week)
        assert later == plain_free_times(community, feeds, week), week
        errors = {e for e, r in later.items() if isinstance(r, FeedError)}
        unread = {e for e, r in first_read.items() if isinstance(r, FeedError)}
        # errors are read again; the rest came from the cache (those unread the first time,
        # from a later week's reader that read them: it caches its own horizon)
        assert errors <= set(free.submitted) <= errors | unread
        assert cached[str(week)] >= good - len(errors)


@pytest.mark.slow
def test_next_weeks_run_on_unchanged_feeds_parses_nothing_and_starts_no_worker(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The weekly job as cron runs it: this week every feed is downloaded and read (and the
    horizon cached); next week every server answers 304, and every member's free time comes
    from the cache: no body handed to a worker, no worker pool started, nothing parsed in this
    process; and the answers are the plain path's for that week."""
    made = generator().generate(8, tmp_path / "generated", seed=23, history_weeks=1)
    bodies = {
        f"g{i}@example.org": p.read_bytes() for i, p in enumerate(sorted(made.feeds.iterdir()))
    }
    for email, body in bodies.items():
        handler = etag_handler(body, f'"{email}"')
        httpserver.expect_request(f"/{email}.ics").respond_with_handler(handler)
    zones = ("America/New_York", "Europe/Berlin")
    members = tuple(
        Member(f"M{i}", email, httpserver.url_for(f"/{email}.ics"), ZoneInfo(zones[i % 2]))
        for i, email in enumerate(bodies)
    )
    community = dataclasses.replace(
        _community(tmp_path, [], zones, "Europe/Berlin"),
        members=members,
        allow_private_feeds=True,
    )
    readers: list[_Counted] = []
    parsed: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> _Counted:
        readers.append(_Counted(*args, **kwargs))
        return readers[-1]

    def parse(body: bytes, member: str, notes: list[str] | None = None) -> Any:
        parsed.append(member)
        return parse_calendar(body, member, notes)

    monkeypatch.setattr("calroulette.service.reading.FreeTimeReader", counted)
    monkeypatch.setattr(reader, "parse_calendar", parse)
    now = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
    this_week = read_calendars(community, W49, now).free
    assert readers[-1].submitted and readers[-1].pools >= 1  # read, in workers
    assert this_week == plain_free_times(community, dict(bodies), W49)
    for k in range(1, HORIZON):
        week = W49.shifted(k)
        calendars = read_calendars(community, week, now + dt.timedelta(weeks=k))
        statuses = {getattr(f, "status", None) for f in calendars.fetched.values()}
        assert statuses == {"not-modified"}
        assert readers[-1].submitted == [] and readers[-1].pools == 0, week
        assert readers[-1]._pool is None
        assert calendars.free == plain_free_times(community, dict(bodies), week), week
    assert parsed == []


def test_a_later_week_is_keyed_as_a_reader_of_that_week_keys_it(tmp_path: Path) -> None:
    """The later weeks' rows are found by the key a reader of their week computes (the
    service deletes a member's entries by it: service/memberfields.py)."""
    body = BROKEN_LATER
    community = _community(tmp_path, ["a@example.org"], ("Asia/Tokyo",), "Europe/Berlin")
    _read(community, {"a@example.org": body}, W49)
    rows = _rows(community)
    member = community.members[0]
    for week in _horizon(W49):
        with FreeTimeReader(community, week) as free:
            key = free._key(body, member)
        assert ((str(week), key) in rows) == (week != W49.shifted(2))  # W51's error: not cached


def test_errors_in_a_later_week_are_not_cached_and_cost_the_asked_week_nothing(
    tmp_path: Path,
) -> None:
    community = _community(tmp_path, ["a@example.org"], ("UTC",), "UTC")
    feeds: dict[str, bytes | FeedError] = {"a@example.org": BROKEN_LATER}
    answer, _ = _read(community, feeds, W49)
    assert isinstance(answer["a@example.org"], FreeTime)
    weeks = [w for w, _ in _rows(community)]
    read = _weeks_read(community, BROKEN_LATER, W49)
    assert weeks == [str(w) for w in read if w != W49.shifted(2)]
    refused, free = _read(community, feeds, W49.shifted(2))
    assert isinstance(refused["a@example.org"], FeedError)
    assert "Dentist" in refused["a@example.org"].message
    assert free.submitted == ["a@example.org"]  # read again: the message is the current code's


def test_the_horizon_is_one_week_when_events_are_ignored(tmp_path: Path) -> None:
    """Moving a meeting reads one week with that meeting left out: answers no weekly run asks
    for, so no later week is read for it."""
    community = _community(tmp_path, ["a@example.org"], ("UTC",), "UTC")
    with FreeTimeReader(community, W49, ignore_uids=frozenset({"x"})) as free:
        assert free.horizon == 1
        free.compute({"a@example.org": BROKEN_LATER})
    assert [w for w, _ in _rows(community)] == [str(W49)]


def test_cleaning_old_weeks_keeps_the_later_weeks_just_read(tmp_path: Path) -> None:
    community = _community(tmp_path, ["a@example.org"], ("UTC",), "UTC")
    feeds: dict[str, bytes | FeedError] = {"a@example.org": BROKEN_LATER}
    _read(community, feeds, W49)
    changed = BROKEN_LATER.replace(b"SUMMARY:free", b"SUMMARY:free again")
    late = W49.shifted(reader.KEEP_WEEKS + 1)  # W54: W49 is now past KEEP_WEEKS
    _read(community, {"a@example.org": changed}, late)
    weeks = Counter(w for w, _ in _rows(community))
    assert str(W49) not in weeks
    old = _weeks_read(community, BROKEN_LATER, W49)
    new = _weeks_read(community, changed, late)
    assert all(weeks[str(w)] == 1 for w in old[1:] if w not in (W49.shifted(2), *new))
    assert all(weeks[str(w)] == 1 + (w in old) for w in new[1:])  # the new body's later weeks
    assert weeks[str(late)] == 1 + (late in old)  # the new body's (and the old one's)


def test_a_worker_that_died_is_read_again_without_later_weeks(tmp_path: Path) -> None:
    """A feed read again alone (its worker died: maybe the later weeks' doing) is read for
    the asked week only, as before the horizon."""
    community = _community(tmp_path, ["a@example.org"], ("UTC",), "UTC")
    with _Counted(community, W49) as free:
        started: list[int | None] = []
        original = free._new_pool

        def new_pool(workers: int, horizon: int | None = None) -> Any:
            started.append(horizon)
            return original(workers, horizon)

        free._new_pool = new_pool  # type: ignore[method-assign]
        record = free._alone(BROKEN_LATER, community.members[0])
    assert started == [1] and "weeks" not in record and "free" in record


# --- the budget: the asked week first, the later weeks only within what is left -------------

EVERY_MINUTE = b"\r\n".join(
    [
        b"BEGIN:VCALENDAR",
        b"VERSION:2.0",
        b"BEGIN:VEVENT",
        b"UID:free",
        b"DTSTART:20261130T090000Z",
        b"DTEND:20261130T170000Z",
        b"RRULE:FREQ=DAILY",
        b"SUMMARY:free",
        b"END:VEVENT",
        b"BEGIN:VEVENT",
        b"UID:minutes",
        b"DTSTART:20261101T000000Z",
        b"DURATION:PT30S",
        b"RRULE:FREQ=MINUTELY;INTERVAL=2",
        b"SUMMARY:Heartbeat",
        b"END:VEVENT",
        b"END:VCALENDAR",
        b"",
    ]
)


def _member(zone: str = "Europe/Berlin") -> tuple[Member, Community]:
    member = Member("Ada", "ada@example.org", "x.ics", ZoneInfo(zone))
    community = _community(Path("/nonexistent"), [], (zone,), "Europe/Berlin")
    return member, dataclasses.replace(community, members=(member,))


def test_the_later_weeks_never_turn_a_good_answer_into_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever goes wrong in the later weeks (the CPU budget, memory, any exception) leaves
    them out; the asked week's answer is what reading it alone gives."""
    member, community = _member()
    limits = ReadLimits(cpu_seconds=1.0, memory_bytes=None)
    alone = read(BROKEN_LATER, member, community, W49, frozenset(), limits, 1)
    assert alone.get("free")

    def spin(*args: object, **kwargs: object) -> object:
        while True:  # as expanding an event every second for weeks would
            pass

    for failure in (MemoryError(), RuntimeError("a bug"), None):

        def fail(*args: object, failure: BaseException | None = failure, **kwargs: object) -> Any:
            if failure is None:
                return spin()
            raise failure

        monkeypatch.setattr(_worker, "free_times", fail)
        started = time.process_time()
        answer = read(BROKEN_LATER, member, community, W49, frozenset(), limits, HORIZON)
        assert answer == alone, failure
        assert time.process_time() - started < limits.cpu_seconds + 1.0  # within the budget


@pytest.mark.slow
def test_a_hostile_feed_whose_later_weeks_blow_the_budget_still_gets_its_week() -> None:
    """An event every two minutes: its week alone fits the budget, six weeks of it do not.
    The asked week is answered exactly as alone; the later weeks are dropped in the CPU time
    left, so the whole reading stays within the member's budget."""
    member, community = _member()
    unbounded = ReadLimits(cpu_seconds=600.0, memory_bytes=None)
    started = time.process_time()
    alone = read(EVERY_MINUTE, member, community, W49, frozenset(), unbounded, 1)
    one_week = time.process_time() - started
    assert "free" in alone, alone
    limits = ReadLimits(cpu_seconds=one_week * 1.6 + 0.2, memory_bytes=None)
    started = time.process_time()
    answer = read(EVERY_MINUTE, member, community, W49, frozenset(), limits, HORIZON)
    spent = time.process_time() - started
    weeks = answer.pop("weeks", {})
    assert answer == alone
    assert len(weeks) < HORIZON - 1  # six weeks did not fit
    assert spent < limits.cpu_seconds + 0.5


def test_a_feed_whose_week_is_over_the_budget_is_refused_as_before() -> None:
    member, community = _member()
    limits = ReadLimits(cpu_seconds=0.05, memory_bytes=None)
    answer = read(EVERY_MINUTE, member, community, W49, frozenset(), limits, HORIZON)
    assert "error" in answer and "weeks" not in answer
    assert "more than 0.05 s of computing" in answer["error"][2]


def test_the_later_weeks_read_the_body_pruned_for_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-off event in a later week is pruned away for the asked week but read for its
    own week (the horizon prunes for the whole range), giving the plain answer."""
    member, community = _member("UTC")
    meeting = b"\r\n".join(
        [
            b"BEGIN:VEVENT",
            b"UID:meeting",
            b"DTSTAMP:20261101T000000Z",
            b"DTSTART:20261221T110000Z",
            b"DTEND:20261221T120000Z",
            b"SUMMARY:Meeting",
            b"END:VEVENT",
            b"END:VCALENDAR",
        ]
    )
    body = BROKEN_LATER.replace(b"END:VCALENDAR", meeting)
    parsed: list[int] = []
    original = _worker.parse_calendar

    def parse(text: bytes, email: str, notes: list[str] | None = None) -> Any:
        parsed.append(len(text))
        return original(text, email, notes)

    monkeypatch.setattr(_worker, "parse_calendar", parse)
    limits = ReadLimits(cpu_seconds=10.0, memory_bytes=None)
    answer = read(body, member, community, W49, frozenset(), limits, HORIZON)
    assert len(parsed) == 2 and parsed[0] < parsed[1]  # the later weeks' body has the meeting
    week = W49.shifted(3)
    plain = plain_free_time(body, member, week, community)
    assert isinstance(plain, FreeTime) and plain.busy_events == 1
    entry = answer["weeks"][str(week)]
    assert entry["busy_events"] == 1
    assert [[a, b] for a, b in entry["free"]] == [
        [s.start.isoformat(), s.end.isoformat()] for s in plain.free
    ]
    parsed.clear()
    read(BROKEN_LATER, member, community, W49, frozenset(), limits, HORIZON)
    assert len(parsed) == 1  # the same events for every week: parsed once


def _event(uid: str, summary: str, *lines: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", f"SUMMARY:{summary}", *lines, "END:VEVENT"])


def _calendar(*events: str) -> bytes:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", *events, "END:VCALENDAR", ""]).encode()


def test_horizons_end_in_different_weeks_and_keep_doing_so(tmp_path: Path) -> None:
    """The bodies of a first run do not all run out in the same week (that week's run would
    cost a first run's): their horizons are 6 to 11 weeks long, about a sixth each; and as each
    is read again for a new week, with a new length, no later week reads again more than a
    fraction of them."""
    community = _community(tmp_path, ["a@example.org"], ("UTC",), "UTC")
    member = community.members[0]
    bodies = [b"BEGIN:VCALENDAR\r\nX-N:%d\r\nEND:VCALENDAR\r\n" % n for n in range(600)]
    longest = HORIZON + reader.STAGGER_WEEKS - 1
    lengths: dict[IsoWeek, list[int]] = {}
    for k in range(40):
        with FreeTimeReader(community, W49.shifted(k)) as free:
            lengths[W49.shifted(k)] = [free.horizon_for(body, member) for body in bodies]
    first = Counter(lengths[W49])
    assert set(first) == set(range(HORIZON, longest + 1))
    assert max(first.values()) < len(bodies) / 4

    read_again: Counter[IsoWeek] = Counter()  # each body read at W49, then when it runs out
    for n in range(len(bodies)):
        week = W49
        while week < W49.shifted(40 - longest):
            week = week.shifted(lengths[week][n])
            read_again[week] += 1
    assert max(read_again.values()) < len(bodies) / 4  # one length for all: every body at once
