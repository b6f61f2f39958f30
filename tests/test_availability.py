"""Free time from calendar files: every fixture in fixtures/calendars/ against its hand-written
``.expected.toml``, in file order and with the VEVENTs reversed (like recurring-ical-events' suite).

Expected results were derived by hand (the ``why`` in each expected file says how); they are never
produced by the code under test. Then bad feeds (one line for that member, never a problem for
the others, read as a run reads them: :class:`FreeTimeReader`), the rules' edge cases and the
notes a result carries (read the plain way: tests/support/freetime.py).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from calroulette.availability import FreeTime, FreeTimeReader, keyword_pattern
from calroulette.availability.rules import skipped_events
from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.timeutil import IsoWeek

from .support import CALENDARS
from .support.availability import CASES, EMAIL, Case, compute, expected_free
from .support.freetime import plain_free_time


def test_every_fixture_has_an_expected_file_with_a_reason() -> None:
    calendars = sorted(CALENDARS.glob("*.ics"))
    assert len(calendars) >= 20
    for path in calendars:
        expected = tomllib.loads(path.with_suffix(".expected.toml").read_text(encoding="utf-8"))
        assert expected["source"].strip() and expected["why"].strip(), path.name
        assert expected["cases"], path.name


@pytest.mark.parametrize("reverse", [False, True], ids=["file-order", "reversed"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fixture_free_time_matches_the_hand_written_expectation(case: Case, reverse: bool) -> None:
    if "error" in case.case:
        with pytest.raises(FeedError) as info:
            compute(case, reverse=reverse)
        assert case.case["error"] in str(info.value)
        assert "\n" not in str(info.value)
        return
    result = compute(case, reverse=reverse)
    assert list(result.free) == expected_free(case)


# --- bad feeds: one clear line each, and never a problem for the other members -----------------

GOOD = (CALENDARS / "google_keyword_whole_word.ics").read_bytes()
WEEK = IsoWeek(2026, 49)


def _community(*members: Member, zone: str = "UTC") -> Community:
    return Community(
        name="Test",
        organizer="Test <t@example.org>",
        organizer_email="t@example.org",
        timezone=ZoneInfo(zone),
        members=members,
    )


def _member(email: str = EMAIL, zone: str = "UTC", keyword: str | None = None) -> Member:
    return Member("Ada", email, "/nowhere.ics", ZoneInfo(zone), keyword=keyword)


def _read_together(
    tmp_path: Path, members: tuple[Member, ...], feeds: Mapping[str, bytes | FeedError]
) -> dict[str, FreeTime | FeedError]:
    """Every member's free time in ``WEEK``, read as a run reads it (:class:`FreeTimeReader`)."""
    community = replace(_community(*members), cache_dir=tmp_path / "cache")
    with FreeTimeReader(community, WEEK) as reader:
        return reader.compute(feeds)


def _ada_reads(body: bytes) -> FreeTime | FeedError:
    """What Ada (UTC, the only member of a UTC community) has in ``WEEK`` from ``body``."""
    ada = _member()
    return plain_free_time(body, ada, WEEK, _community(ada))


BAD_FEEDS = {
    "empty": (b"", "the feed is empty"),
    "only-whitespace": (b" \r\n\t\n", "the feed is empty"),
    "html-login-page": (
        b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Sign in</body></html>",
        "looks like a web page",
    ),
    "html-lowercase": (b"\n\n<html lang=en><body>Not found</body></html>", "looks like a web page"),
    "json-error": (b'{"error": {"code": 404, "message": "Not Found"}}', "this is JSON"),
    "json-list": (b"[]", "this is JSON"),
    "truncated": (GOOD[: len(GOOD) // 2], "truncated (no END:VCALENDAR)"),
    "a-path-not-a-body": (b"/etc/passwd", "not an iCalendar file"),
    "a-calendar-path": (str(CALENDARS / "google_keyword_whole_word.ics").encode(), "not an iCal"),
    "bare-vevent": (
        b"BEGIN:VEVENT\nUID:x\nDTSTART:20261201T100000Z\nEND:VEVENT\n",
        "a single event (BEGIN:VEVENT)",
    ),
    "two-calendars": (
        b"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nEND:VCALENDAR\n"
        b"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:y\nEND:VCALENDAR\n",
        "not valid iCalendar",
    ),
    "end-without-begin": (
        b"BEGIN:VCALENDAR\nVERSION:2.0\nEND:VEVENT\nEND:VCALENDAR\n",
        "not valid iCalendar",
    ),
    "malformed-rrule": (
        b"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:r1\nDTSTAMP:20261120T000000Z\n"
        b"DTSTART:20261201T100000Z\nDTEND:20261201T110000Z\nRRULE:FREQ=SOMETIMES\n"
        b"SUMMARY:free\nEND:VEVENT\nEND:VCALENDAR\n",
        "event 'free' (first on 2026-12-01) has a malformed RRULE",
    ),
    "ends-before-it-starts": (
        b"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:e1\nDTSTAMP:20261120T000000Z\n"
        b"DTSTART:20261201T100000Z\nDTEND:20261201T090000Z\nSUMMARY:Dentist\nEND:VEVENT\n"
        b"END:VCALENDAR\n",
        "event 'Dentist' (first on 2026-12-01) ends before it starts",
    ),
}


@pytest.mark.parametrize("name", list(BAD_FEEDS))
def test_a_bad_feed_is_one_line_for_that_member_only(tmp_path: Path, name: str) -> None:
    body, message = BAD_FEEDS[name]
    ada, bob = _member(), _member("bob@example.org")
    results = _read_together(tmp_path, (ada, bob), {ada.email: body, bob.email: GOOD})
    bad = results[ada.email]
    assert isinstance(bad, FeedError), bad
    line = str(bad)
    assert line.startswith(f"{EMAIL}: ") and message in line and "\n" not in line
    assert "passwd" not in line and "Sign in" not in line  # the body is never quoted
    good = results[bob.email]
    assert isinstance(good, FreeTime) and len(good.free) == 4


def test_a_feed_error_value_from_fetching_passes_through_and_others_are_still_computed(
    tmp_path: Path,
) -> None:
    ada, bob = _member(), _member("bob@example.org")
    failed = FeedError(ada.email, "calendar", "HTTP 404 from https://cal.example/…/basic.ics")
    results = _read_together(tmp_path, (ada, bob), {ada.email: failed, bob.email: GOOD})
    assert results[ada.email] is failed
    assert isinstance(results[bob.email], FreeTime)


def test_a_member_without_a_fetched_feed_gets_an_error_not_a_crash(tmp_path: Path) -> None:
    ada = _member()
    result = _read_together(tmp_path, (ada,), {})[ada.email]
    assert isinstance(result, FeedError) and "not fetched" in str(result)


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda b: b"\xef\xbb\xbf" + b, id="utf8-bom"),
        pytest.param(lambda b: b.replace(b"\r\n", b"\n"), id="lf"),
        pytest.param(lambda b: b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), id="crlf"),
        pytest.param(lambda b: b"\r\n\r\n  " + b + b"\r\n\r\n", id="blank-lines-around"),
    ],
)
def test_bom_and_line_endings_do_not_change_the_answer(transform: Any) -> None:
    ada = _member()
    result = plain_free_time(transform(GOOD), ada, WEEK, _community(ada))
    assert isinstance(result, FreeTime)
    assert [(f"{a:%d %H}", f"{b:%d %H}") for a, b in result.free] == [
        ("30 09", "30 10"),
        ("30 11", "30 12"),
        ("30 13", "30 14"),
        ("01 09", "01 10"),
    ]


def test_a_members_keyword_overrides_the_communitys() -> None:
    ada = _member(keyword="coffee")
    community = _community(ada)
    assert community.keyword_for(ada) == "coffee"
    result = plain_free_time(GOOD, ada, WEEK, community)
    assert isinstance(result, FreeTime)
    assert [f"{a:%d %H}" for a, _ in result.free] == ["30 09", "01 09", "01 13"]


def test_an_unknown_tzid_is_found_even_when_x_wr_timezone_would_localise_it() -> None:
    body = (
        b"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nX-WR-TIMEZONE:Europe/Berlin\nBEGIN:VEVENT\n"
        b"UID:1\nDTSTAMP:20261120T000000Z\nDTSTART;TZID=LOLOLOL:20261201T100000\n"
        b"DTEND;TZID=LOLOLOL:20261201T110000\nSUMMARY:free\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    result = _ada_reads(body)  # a free event: skipped, with a warning (issue 15's policy)
    assert isinstance(result, FreeTime) and result.free == ()
    assert any("unknown time zone 'LOLOLOL'" in w for w in skipped_events(result))


def test_an_unknown_tzid_in_an_event_far_from_the_week_does_not_matter() -> None:
    body = (
        b"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:old\nDTSTAMP:20261120T000000Z\n"
        b"DTSTART;TZID=LOLOLOL:20190101T100000\nDTEND;TZID=LOLOLOL:20190101T110000\n"
        b"SUMMARY:Old\nEND:VEVENT\nBEGIN:VEVENT\nUID:new\nDTSTAMP:20261120T000000Z\n"
        b"DTSTART:20261201T100000Z\nDTEND:20261201T110000Z\nSUMMARY:free\nEND:VEVENT\n"
        b"END:VCALENDAR\n"
    )
    result = _ada_reads(body)
    assert isinstance(result, FreeTime)
    assert [(f"{a:%d %H}", f"{b:%d %H}") for a, b in result.free] == [("01 10", "01 11")]


def test_a_malformed_alarm_is_ignored_with_a_note_because_it_cannot_change_free_time() -> None:
    body = (
        b"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:1\nDTSTAMP:20261120T000000Z\n"
        b"DTSTART:20261201T100000Z\nDTEND:20261201T110000Z\nSUMMARY:free\nBEGIN:VALARM\n"
        b"ACTION:DISPLAY\nTRIGGER;RELATED=START:PT-2H\nEND:VALARM\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    result = _ada_reads(body)
    assert isinstance(result, FreeTime)
    assert [(f"{a:%d %H}", f"{b:%d %H}") for a, b in result.free] == [("01 10", "01 11")]
    assert any("VALARM" in w for w in result.warnings)


def test_an_event_without_dtstart_is_ignored_with_a_note() -> None:
    body = (
        b"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nMETHOD:REQUEST\nBEGIN:VEVENT\nUID:nostart\n"
        b"DTSTAMP:20261120T000000Z\nSUMMARY:Meeting\nEND:VEVENT\nBEGIN:VEVENT\nUID:1\n"
        b"DTSTAMP:20261120T000000Z\nDTSTART:20261201T100000Z\nDTEND:20261201T110000Z\n"
        b"SUMMARY:free\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    result = _ada_reads(body)
    assert isinstance(result, FreeTime)
    assert len(result.free) == 1
    assert any("no start time" in w and "event 'Meeting'" in w for w in result.warnings)


def test_an_empty_calendar_is_no_free_time_not_an_error() -> None:
    body = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nEND:VCALENDAR\r\n"
    result = _ada_reads(body)
    assert isinstance(result, FreeTime) and result.free == ()


def test_an_all_day_event_without_dtend_blocks_its_one_local_day() -> None:
    body = (
        b"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:w\nDTSTAMP:20261120T000000Z\n"
        b"DTSTART;TZID=Pacific/Auckland:20261130T000000\n"
        b"DTEND;TZID=Pacific/Auckland:20261203T000000\nSUMMARY:free\nEND:VEVENT\n"
        b"BEGIN:VEVENT\nUID:d\nDTSTAMP:20261120T000000Z\nDTSTART;VALUE=DATE:20261201\n"
        b"SUMMARY:Holiday\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    # Auckland is on NZDT (+13:00): free 29 Nov 11:00Z – 2 Dec 11:00Z; the DATE-only holiday
    # covers Auckland's 1 December = 30 Nov 11:00Z – 1 Dec 11:00Z. The week is UTC's.
    kiwi = _member(zone="Pacific/Auckland")
    result = plain_free_time(body, kiwi, WEEK, _community(kiwi))
    assert isinstance(result, FreeTime)
    assert [(a.isoformat(), b.isoformat()) for a, b in result.free] == [
        ("2026-11-30T00:00:00+00:00", "2026-11-30T11:00:00+00:00"),
        ("2026-12-01T11:00:00+00:00", "2026-12-02T11:00:00+00:00"),
    ]


def test_keyword_pattern_is_whole_word_and_case_insensitive() -> None:
    pattern = keyword_pattern("free")
    for text in ["Free for coffee", "I'm free!", "FREE", "free-time", "(free)", "free"]:
        assert pattern.search(text), text
    for text in ["Freelance", "carefree", "freedom", "free_time", "", "fre e"]:
        assert not pattern.search(text), text
    assert keyword_pattern("coffee chat").search("Coffee Chat?")
    assert keyword_pattern("c++").search("c++ free")  # special characters are literal


def test_a_latin_1_summary_is_read_leniently_because_it_cannot_move_a_time() -> None:
    body = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:1\r\n"
        b"DTSTART:20261201T100000Z\r\nDTEND:20261201T110000Z\r\nSUMMARY:Caf\xe9 free\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    result = _ada_reads(body)
    assert isinstance(result, FreeTime)
    assert [(f"{a:%d %H}", f"{b:%d %H}") for a, b in result.free] == [("01 10", "01 11")]


def _custom_zone_feed(offset: str, uid: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTIMEZONE\r\n"
        "TZID:Office Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n"
        f"TZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261120T000000Z\r\n"
        "DTSTART;TZID=Office Standard Time:20261201T100000\r\n"
        "DTEND;TZID=Office Standard Time:20261201T110000\r\nSUMMARY:free\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    ).encode()


def test_each_feed_uses_its_own_vtimezone_even_when_another_feed_defined_the_same_tzid() -> None:
    # icalendar caches custom zones by TZID for the whole process, first definition wins:
    # 10:00 at +03:00 is 07:00Z, 10:00 at -05:00 is 15:00Z, whichever feed is read first.
    ada, bob = _member(), _member("bob@example.org")
    community = _community(ada, bob)
    for _ in range(2):
        east = plain_free_time(_custom_zone_feed("+0300", "east"), ada, WEEK, community)
        west = plain_free_time(_custom_zone_feed("-0500", "west"), bob, WEEK, community)
        assert isinstance(east, FreeTime) and isinstance(west, FreeTime)
        assert [f"{a:%H:%M}" for a, _ in east.free] == ["07:00"]
        assert [f"{a:%H:%M}" for a, _ in west.free] == ["15:00"]


def test_x_wr_timezone_does_not_move_times_in_a_vtimezone_without_tzname() -> None:
    # Outlook's VTIMEZONEs have no TZNAME; x-wr-timezone alone took such times for floating and
    # read 10:00 "Office Standard Time" (+03:00) as 10:00 Tokyo (01:00Z). It is 07:00Z.
    body = _custom_zone_feed("+0300", "xwr").replace(
        b"PRODID:x\r\n", b"PRODID:x\r\nX-WR-TIMEZONE:Asia/Tokyo\r\n"
    )
    result = _ada_reads(body)
    assert isinstance(result, FreeTime)
    assert [(f"{a:%d %H:%M}", f"{b:%d %H:%M}") for a, b in result.free] == [
        ("01 07:00", "01 08:00")
    ]


def test_an_unknown_x_wr_timezone_is_one_line() -> None:
    body = GOOD.replace(b"X-WR-TIMEZONE:UTC", b"X-WR-TIMEZONE:Mars/Olympus")
    result = _ada_reads(body)
    assert isinstance(result, FeedError)
    assert "unknown time zone 'Mars/Olympus' in X-WR-TIMEZONE" in str(result)


def test_an_override_without_its_series_keeps_its_own_rdates() -> None:
    body = (
        b"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:lotus\n"
        b"DTSTAMP:20261120T000000Z\nRECURRENCE-ID;RANGE=THISANDFUTURE:20261130T100000Z\n"
        b"DTSTART:20261130T100000Z\nDTEND:20261130T103000Z\n"
        b"RDATE;VALUE=PERIOD:20261130T100000Z/20261130T103000Z,20261202T100000Z/PT30M\n"
        b"SUMMARY:free\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    result = _ada_reads(body)
    assert isinstance(result, FreeTime)
    assert [(f"{a:%d %H:%M}", f"{b:%d %H:%M}") for a, b in result.free] == [
        ("30 10:00", "30 10:30"),
        ("02 10:00", "02 10:30"),
    ]
    assert any(
        "event 'free' (first on 2026-11-30) changes a series that is not in the feed" in w
        for w in result.warnings
    )


@pytest.mark.parametrize(
    ("tzid", "ok"), [("Europe/Berlin", False), ('"Europe/Berlin"', False), ("UTC", True)]
)
def test_a_zoned_time_ending_in_z_is_ambiguous_unless_the_zone_is_utc(tzid: str, ok: bool) -> None:
    body = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:z\nDTSTAMP:20261120T000000Z\n"
        f"DTSTART;TZID={tzid}:20261201T100000Z\nDTEND;TZID={tzid}:20261201T110000Z\n"
        "SUMMARY:free\nEND:VEVENT\nEND:VCALENDAR\n"
    ).encode()
    result = _ada_reads(body)
    assert isinstance(result, FreeTime)
    if ok:
        assert len(result.free) == 1
    else:  # a free event: skipped, with a warning naming it (issue 15's policy)
        assert result.free == ()
        assert any("in a time zone and in UTC at once" in w for w in skipped_events(result))


def test_a_date_value_with_a_time_is_ambiguous_and_a_date_time_value_is_fine() -> None:
    def feed(start: str) -> bytes:
        return (
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:d\n"
            f"DTSTAMP:20261120T000000Z\nDTSTART;{start}\nDURATION:PT1H\nSUMMARY:free\n"
            "END:VEVENT\nEND:VCALENDAR\n"
        ).encode()

    ada = _member()
    bad = plain_free_time(feed("VALUE=DATE:20261201T100000"), ada, WEEK, _community(ada))
    assert isinstance(bad, FreeTime) and bad.free == ()  # a free event: skipped, and named
    assert any("marked all-day but also carries a time" in w for w in skipped_events(bad))
    good = plain_free_time(feed("VALUE=DATE-TIME:20261201T100000Z"), ada, WEEK, _community(ada))
    assert isinstance(good, FreeTime) and len(good.free) == 1


def test_a_contradictory_time_far_from_the_week_does_not_matter() -> None:
    body = (
        b"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:old\nDTSTAMP:20261120T000000Z\n"
        b"DTSTART;TZID=Europe/Berlin:20150602T120000Z\nDTEND:20150602T110000\nSUMMARY:x\n"
        b"END:VEVENT\nBEGIN:VEVENT\nUID:new\nDTSTAMP:20261120T000000Z\n"
        b"DTSTART:20261201T100000Z\nDTEND:20261201T110000Z\nSUMMARY:free\nEND:VEVENT\n"
        b"END:VCALENDAR\n"
    )
    ada = _member()
    result = plain_free_time(body, ada, WEEK, _community(ada))
    assert isinstance(result, FreeTime) and len(result.free) == 1
    # In its own week it is busy, and both readings of its time are kept busy: Berlin's
    # 12:00 CEST (10:00Z) to the floating 11:00 (11:00Z), or 12:00Z.
    in_2015 = plain_free_time(body, ada, IsoWeek(2015, 23), _community(ada))
    assert isinstance(in_2015, FreeTime) and in_2015.busy_events == 1
    assert any(
        w.startswith("event 'x' (first on 2015-06-02) gives its time in a time zone and in UTC")
        for w in in_2015.warnings
    )


def test_parsing_in_threads_keeps_every_warning_inside() -> None:
    """Fetching validates bodies in worker threads; warnings.catch_warnings is process-wide, so
    unsynchronised blocks would restore each other's filters and let warnings escape (an error
    under this suite's filterwarnings=error)."""
    from concurrent.futures import ThreadPoolExecutor

    body = (
        b"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:g\nDTSTAMP:20261120T000000Z\n"
        b"DTSTART;TZID=/example.org/2024/Europe/Vienna:20261201T100000\n"
        b"DTEND;TZID=/example.org/2024/Europe/Vienna:20261201T110000\nSUMMARY:free\n"
        b"BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:PT-2H\nEND:VALARM\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    ada = _member()
    community = _community(ada)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: plain_free_time(body, ada, WEEK, community), range(40)))
    assert all(isinstance(r, FreeTime) and len(r.free) == 1 for r in results)


# --- notes on the result ---------------------------------------------------------------------


def test_two_different_events_sharing_a_uid_are_both_read_with_a_note() -> None:
    body = (CALENDARS / "outlook_duplicate_uid_events.ics").read_bytes()
    result = _ada_reads(body)
    assert isinstance(result, FreeTime)
    assert (result.availability_events, result.busy_events) == (2, 3)
    assert any("appears more than once" in w for w in result.warnings), result.warnings


def test_a_busy_date_start_with_a_time_end_blocks_its_whole_day_with_a_note() -> None:
    ada = _member()
    body = (CALENDARS / "exchange_date_start_time_end.ics").read_bytes()
    reached = plain_free_time(body, ada, IsoWeek(2026, 49), _community(ada))
    assert isinstance(reached, FreeTime) and reached.free == ()
    assert any(
        w.startswith("event 'Team offsite' (first on 2026-12-01) starts as a whole day")
        for w in reached.warnings
    )
    later = plain_free_time(body, ada, IsoWeek(2026, 50), _community(ada))
    assert isinstance(later, FreeTime) and later.free == () and later.warnings == ()
