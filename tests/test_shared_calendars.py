"""Real calendar exports from public projects (../shared/calendars, see its SOURCES.md).

Every file must give free time or one clean line (a :class:`FeedError`): never a traceback, never
another exception, never a warning escaping (pytest turns warnings into errors). Where the right
answer is knowable by hand, it is asserted; the reasoning is next to each case.

The files are never copied into this repository; without the folder these tests skip and say so.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from calroulette.availability import FreeTime
from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.timeutil import IsoWeek, parse_utc

from .support import SHARED_CALENDARS
from .support.freetime import plain_free_time

EMAIL = "ada@example.org"
MISSING = (
    "the shared real-calendar corpus is not checked out beside the repository "
    "(../shared/calendars): the real exports are not tested"
)
FILES = sorted(SHARED_CALENDARS.rglob("*.ics")) if SHARED_CALENDARS.is_dir() else []


def _name(path: Path) -> str:
    return path.relative_to(SHARED_CALENDARS).as_posix()


def run(
    name: str,
    week: str,
    *,
    member_zone: str = "Europe/Berlin",
    community_zone: str = "UTC",
    keyword: str = "free",
) -> FreeTime | FeedError:
    path = SHARED_CALENDARS / name
    if not path.is_file():
        pytest.skip(MISSING)
    member = Member("Ada", EMAIL, str(path), ZoneInfo(member_zone), keyword=keyword)
    community = Community(
        name="Test",
        organizer="Test <t@example.org>",
        organizer_email="t@example.org",
        timezone=ZoneInfo(community_zone),
        members=(member,),
    )
    return plain_free_time(path.read_bytes(), member, IsoWeek.parse(week), community)


def _weeks(body: bytes) -> list[IsoWeek]:
    """Up to three weeks holding the file's first DTSTARTs (test-only: picks weeks to ask about)."""
    weeks: list[IsoWeek] = []
    events = b"".join(re.findall(rb"BEGIN:VEVENT.*?END:VEVENT", body, re.DOTALL))
    for match in re.finditer(rb"^DTSTART[^:\r\n]*:(\d{4})(\d{2})(\d{2})", events, re.MULTILINE):
        try:
            day = dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            continue
        week = IsoWeek.containing(day)
        if week not in weeks:
            weeks.append(week)
        if len(weeks) == 3:
            break
    return weeks or [IsoWeek(2026, 49)]


def _free(result: FreeTime | FeedError) -> list[list[str]]:
    assert isinstance(result, FreeTime), result
    return [[f"{a:%Y-%m-%dT%H:%M}Z", f"{b:%Y-%m-%dT%H:%M}Z"] for a, b in result.free]


@pytest.mark.skipif(not FILES, reason=MISSING)
def test_the_shared_folder_holds_the_files_sources_md_describes() -> None:
    described = set(re.findall(r"`([\w/.-]+\.ics)`", (SHARED_CALENDARS / "SOURCES.md").read_text()))
    assert described, "SOURCES.md names no .ics file: nothing would be checked"
    assert described <= {_name(p) for p in FILES}


@pytest.mark.parametrize("path", FILES or [None], ids=[_name(p) for p in FILES] or ["absent"])
def test_every_real_export_gives_free_time_or_one_clean_line(path: Path | None) -> None:
    if path is None:
        pytest.skip(MISSING)
    body = path.read_bytes()
    for week in _weeks(body):
        result = run(_name(path), str(week))
        if isinstance(result, FeedError):
            line = str(result)
            assert line.startswith(f"{EMAIL}: ") and "\n" not in line and len(line) < 300
            assert "Traceback" not in line
        else:
            assert isinstance(result, FreeTime)
            assert all(a.start < a.end for a in result.free)
            assert all("\n" not in w for w in result.warnings)


# --- files whose answer is knowable by hand --------------------------------------------------

# (file, one line the member must get): the reason is in SOURCES.md and the comment.
ERRORS = [
    # A bare VEVENT (no VCALENDAR around it) is not a calendar feed.
    (
        "icalendar/issue_112_missing_tzinfo_on_exdate.ics",
        "2013-W41",
        "a single event (BEGIN:VEVENT)",
    ),
    # Malformed events: any one of them may hide a busy time, so the member gets an error.
    (
        "icalendar/broken_ical.ics",
        "2026-W49",
        "event 'An Event with too many semicolons' has a line that is not iCalendar",
    ),
    ("icalendar/issue_165_missing_event.ics", "2015-W27", "has a malformed RRULE"),
    (
        "nodeical/large-file-with-late-error.ics",
        "2024-W01",
        "event 'Event 060' has a malformed DTSTART",
    ),
    ("nodeical/ms_timezones.ics", "2020-W37", "has a malformed DTSTART"),
    ("icsparser/ICal.ics", "2017-W14", "has a malformed DTSTART"),  # DTSTART:20171032T000000
]


# Broken busy events that calroulette reads around (docs/design.md, "What a broken piece costs"):
# each blocks every time it could mean, with a note naming it, instead of refusing the member.
# None of these files has a "free" event, so the answer is no free time; what is checked is that
# the member is read, and told which event was read around.
READ_AROUND = [
    # a TZID no zone database knows: blocks 14 hours either side of its wall-clock time
    (
        "khal/event_dtr_no_tz_exdatez.ics",
        "2012-W14",
        "event 'Conf Call' (first on 2012-04-03) uses the unknown time zone 'LOLOLOL'",
    ),
    # unknown zone 'Europe/Germany', but the event is transparent: it blocks nothing, no note
    ("nodeical/germany_at_end_of_day_repeating.ics", "2024-W43", None),
    # DTEND;TZID=Europe/Berlin:20150530T160000Z: Berlin or UTC? Both readings are blocked.
    ("khal/event_dt_mixed_awareness.ics", "2015-W22", "in a time zone and in UTC at once"),
    # DTSTART;VALUE=DATE:20110804T120000: a whole day or noon? The whole local day is blocked.
    ("nodeical/festival-multiday-rrule.ics", "2011-W31", "is marked all-day but also carries"),
]


@pytest.mark.parametrize(("name", "week", "note"), READ_AROUND, ids=[r[0] for r in READ_AROUND])
def test_broken_busy_events_in_real_exports_are_read_around_and_named(
    name: str, week: str, note: str | None
) -> None:
    result = run(name, week)
    assert isinstance(result, FreeTime), result
    assert result.free == ()
    if note is None:
        assert not any("unknown time zone" in w for w in result.warnings)
    else:
        assert any(note in w for w in result.warnings), result.warnings


@pytest.mark.parametrize(("name", "week", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_broken_real_exports_give_one_line_naming_the_problem(
    name: str, week: str, message: str
) -> None:
    result = run(name, week)
    assert isinstance(result, FeedError), result
    assert message in str(result)
    assert "\n" not in str(result)


# (file, week, member zone, keyword, expected free UTC intervals, why)
KNOWN = [
    (
        "khal/event_rrule_recuid_cancelled.ics",
        "2014-W28",
        "Europe/Berlin",
        "arbeit",
        [["2014-07-07T07:00Z", "2014-07-07T12:00Z"]],
        "weekly Mon 07:00–12:00 CEST; the 7 July one moved to 09:00–14:00 CEST = 07:00–12:00Z",
    ),
    (
        "khal/event_rrule_recuid_cancelled.ics",
        "2014-W29",
        "Europe/Berlin",
        "arbeit",
        [],
        "the 14 July occurrence is overridden with STATUS:CANCELLED",
    ),
    (
        "khal/event_rrule_recuid_cancelled.ics",
        "2014-W32",
        "Europe/Berlin",
        "arbeit",
        [["2014-08-04T05:00Z", "2014-08-04T10:00Z"]],
        "4 August 07:00 CEST = 05:00Z is before UNTIL=20140806T060000Z: the last one",
    ),
    (
        "khal/event_rrule_recuid_cancelled.ics",
        "2014-W33",
        "Europe/Berlin",
        "arbeit",
        [],
        "11 August is after UNTIL",
    ),
    (
        "khal/tz_windows_format.ics",
        "2019-W47",
        "UTC",
        "windows",
        [["2019-11-20T12:00Z", "2019-11-20T13:30Z"]],
        "the file's own VTIMEZONE named 'New Zealand Standard Time' says +01:00 from 2019-10-27 "
        "(a CET definition under a Windows name): RFC 5545 makes the VTIMEZONE authoritative, "
        "so 13:00 local = 12:00Z, not Auckland's 00:00Z",
    ),
    (
        "nodeical/exchange_whole_day_moved_recurrence.ics",
        "2026-W09",
        "Europe/Berlin",
        "exchange",
        [["2026-02-23T23:00Z", "2026-02-24T23:00Z"], ["2026-02-26T23:00Z", "2026-02-27T23:00Z"]],
        "all-day Tue/Thu series; Thu 26 Feb is moved (RECURRENCE-ID given as a W. Europe "
        "DATE-TIME midnight) to Fri 27 Feb; days are the member's Berlin days (CET)",
    ),
    (
        "nodeical/whole_day_moved_over_dst_change_berlin.ics",
        "2024-W43",
        "Europe/Berlin",
        "moved",
        [["2024-10-26T22:00Z", "2024-10-27T23:00Z"]],
        "Sun 27 Oct 2024 is the 25-hour day when Berlin leaves CEST: 22:00Z to 23:00Z",
    ),
    (
        "nodeical/whole_day_moved_over_dst_change_berlin.ics",
        "2024-W44",
        "Europe/Berlin",
        "moved",
        [["2024-10-28T23:00Z", "2024-10-30T23:00Z"]],
        "COUNT=3 daily from 27 Oct: 28 Oct moved to 30 Oct, 29 Oct stays: 29 and 30 Oct (CET)",
    ),
    (
        "khal/event_dt_recuid_no_master.ics",
        "2017-W13",
        "Europe/Berlin",
        "planning",
        [["2017-03-29T14:00Z", "2017-03-29T14:25Z"]],
        "an override without its master is an ordinary event; floating 16:00 in Berlin (CEST)",
    ),
    (
        "nodeical/tentative-apple-calendar.ics",
        "2022-W27",
        "America/Vancouver",
        "status",
        [["2022-07-07T16:00Z", "2022-07-07T17:00Z"]],
        "'No Status' 09:00–10:00 PDT; nothing opaque overlaps it",
    ),
    (
        "nodeical/tentative-apple-calendar.ics",
        "2022-W27",
        "America/Vancouver",
        "cancelled",
        [],
        "the event named 'Cancelled' has STATUS:CANCELLED: it offers nothing",
    ),
    (
        "nodeical/test_with_tz_list.ics",
        "2024-W16",
        "Europe/Berlin",
        "xxx",
        [],
        "UNTIL (2021) is before DTSTART (2024) and DTSTART itself is an EXDATE: no occurrence, "
        "so its unresolvable display-name TZID never matters",
    ),
    (
        "nodeical/biweekly-exdate-until.ics",
        "2017-W27",
        "UTC",
        "comma",
        [["2017-07-03T14:00Z", "2017-07-04T00:00Z"]],
        "biweekly (WKST=SU) Mon/Thu 09:00–19:00 US/Central (CDT) from Thu 16 Feb: the weeks from "
        "Sun 2 Jul are on; Thu 6 Jul is in the folded EXDATE list",
    ),
    (
        "nodeical/biweekly-exdate-until.ics",
        "2017-W29",
        "UTC",
        "comma",
        [],
        "Mon 17 and Thu 20 Jul are both EXDATEs",
    ),
    (
        "nodeical/biweekly-exdate-until.ics",
        "2017-W31",
        "UTC",
        "comma",
        [["2017-07-31T14:00Z", "2017-08-01T00:00Z"]],
        "Mon 31 Jul stays; Thu 3 Aug is the EXDATE on the folded continuation line",
    ),
    (
        "nodeical/biweekly-exdate-until.ics",
        "2017-W33",
        "UTC",
        "comma",
        [],
        "Mon 14 Aug 09:00 CDT = 14:00Z is after UNTIL=20170814T045959Z",
    ),
    (
        "icalendar/issue_156_RDATE_with_PERIOD_TZID_khal_2.ics",
        "2021-W49",
        "UTC",
        "omitted",
        [["2021-12-06T15:00Z", "2021-12-06T15:30Z"]],
        "a Lotus Notes series sent as an orphan RECURRENCE-ID;RANGE=THISANDFUTURE with RDATE "
        "periods in its own 'Western/Central Europe' VTIMEZONE (CET in December): 16:00 = 15:00Z",
    ),
    (
        "icalendar/issue_156_RDATE_with_PERIOD_TZID_khal_2.ics",
        "2022-W06",
        "UTC",
        "omitted",
        [["2022-02-07T15:00Z", "2022-02-07T15:30Z"]],
        "the last RDATE period, on the folded continuation line",
    ),
    (
        "nodeical/Office-2012-owa.ics",
        "2020-W44",
        "UTC",
        "syd",
        [["2020-10-28T02:30Z", "2020-10-28T04:00Z"]],
        "Outlook Web Access's TZID '(GMT+10:00) Canberra, Melbourne, Sydney' (no VTIMEZONE) is the "
        "Windows display name of 'AUS Eastern Standard Time' = Australia/Sydney, in summer time "
        "(AEDT, +11:00) on 28 Oct 2020: 13:30–15:00 = 02:30–04:00Z",
    ),
    (
        "nodeical/music-school-weekly-until.ics",
        "2022-W40",
        "UTC",
        "music",
        [["2022-10-04T13:00Z", "2022-10-04T14:00Z"]],
        "TZID '(GMT +01:00)' gives only an offset: read as a fixed +01:00 (with a warning), so "
        "Tue 4 Oct 14:00–15:00 = 13:00–14:00Z",
    ),
    (
        "icsparser/issue-343.ics",
        "2024-W39",
        "UTC",
        "team",
        [["2024-09-23T10:00Z", "2024-09-23T10:30Z"]],
        "Exchange 2010's DESCRIPTION with raw line breaks is joined back; the meeting is floating "
        "10:00–10:30 (no TZID), read in the member's zone (UTC)",
    ),
    (
        "icalendar/issue_313_globally_unique_tzid.ics",
        "2020-W17",
        "UTC",
        "mozilla",
        [["2020-04-26T18:00Z", "2020-04-26T19:00Z"]],
        "'/mozilla.org/20070129_1/America/New_York' is New York (EDT): 14:00 = 18:00Z",
    ),
]


@pytest.mark.parametrize(
    ("name", "week", "zone", "keyword", "expected", "why"),
    KNOWN,
    ids=[f"{k[0]}[{k[1]},{k[3]}]" for k in KNOWN],
)
def test_real_exports_give_the_hand_derived_free_time(
    name: str, week: str, zone: str, keyword: str, expected: list[list[str]], why: str
) -> None:
    assert why
    result = run(name, week, member_zone=zone, community_zone=zone, keyword=keyword)
    assert _free(result) == expected


def test_a_guessed_globally_unique_tzid_is_a_warning_on_the_result_not_an_escape() -> None:
    result = run("icalendar/issue_313_globally_unique_tzid.ics", "2020-W17", keyword="mozilla")
    assert isinstance(result, FreeTime)
    assert any("globally unique" in w.lower() for w in result.warnings), result.warnings


def test_parse_utc_helper_agrees_with_the_expected_format() -> None:
    assert parse_utc("2014-07-07T07:00Z") == dt.datetime(2014, 7, 7, 7, tzinfo=dt.UTC)


def test_a_custom_two_hour_fall_back_is_read_per_rfc_5545() -> None:
    """issue_722: 'MyTimezone' goes from +12:00 to +10:00 at 08:00 on 5 May 2024, so 06:00–08:00
    happens twice. 07:00:01 is the first (winter, +12:00) occurrence = 19:00:01Z the day before;
    08:00:01 is after the repeat (+10:00) = 22:00:01Z."""
    import icalendar

    from calroulette.timeutil import to_utc

    path = SHARED_CALENDARS / "icalendar/issue_722_timezone_transition_ambiguity.ics"
    if not path.is_file():
        pytest.skip(MISSING)
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    got = [to_utc(e["DTSTART"].dt, dt.UTC).isoformat() for e in calendar.walk("VEVENT")]
    assert got == [
        "2024-03-02T20:00:00+00:00",  # 3 March 08:00 winter (+12:00)
        "2024-08-02T22:00:00+00:00",  # 3 August 08:00 summer (+10:00)
        "2024-05-04T22:00:01+00:00",  # 5 May 08:00:01, after the repeat: +10:00
        "2024-05-04T19:00:01+00:00",  # 5 May 07:00:01, repeated: the first, +12:00
    ]


def test_an_orphan_series_is_read_with_a_note() -> None:
    result = run("icalendar/issue_156_RDATE_with_PERIOD_TZID_khal_2.ics", "2021-W44", keyword="x")
    assert isinstance(result, FreeTime)
    assert any("series that is not in the feed" in w for w in result.warnings), result.warnings
