"""Reading what real calendar apps write (issue 15): the named repairs of vendor quirks
(:mod:`calroulette.availability.repairs`), the lenient reading of properties that cannot change
free time, and the parse crashes that used to take the whole command down.

The fixtures these use (fixtures/calendars/, each with a hand-written expected file) are also
checked by tests/test_availability.py and tests/test_crosscheck.py; here are the behaviours
around them: other members unaffected, weeks an event does not reach unaffected, healthy feeds
left byte for byte, and the notes a member reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from calroulette.availability import FreeTime, FreeTimeReader
from calroulette.availability._zone_names import DISPLAY_NAMES, LEGACY_NAMES
from calroulette.availability.repairs import (
    REPAIRS,
    display_name_zone,
    join_exchange_raw_newlines,
    map_outlook_display_zones,
    repair_feed,
    strip_google_date_z,
)
from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.timeutil import IsoWeek

from .support import CALENDARS, SHARED_CALENDARS
from .support.freetime import plain_free_time

WEEK = IsoWeek(2026, 49)
GOOD = (CALENDARS / "google_keyword_whole_word.ics").read_bytes()
CRASHES = [
    "exchange_two_dtstart_lines",
    "exchange_two_dtend_lines",
    "outlook_duplicate_uid_time_only_start",
    "outlook_duplicate_uid_backwards_rdate_period",
]


def _member(email: str = "ada@example.org", zone: str = "UTC") -> Member:
    return Member("Ada", email, "/nowhere.ics", ZoneInfo(zone))


def _community(*members: Member, zone: str = "UTC") -> Community:
    return Community(
        name="Test",
        organizer="Test <t@example.org>",
        organizer_email="t@example.org",
        timezone=ZoneInfo(zone),
        members=members,
    )


def _reads(body: bytes, week: IsoWeek = WEEK, zone: str = "UTC") -> FreeTime | FeedError:
    ada = _member(zone=zone)
    return plain_free_time(body, ada, week, _community(ada, zone=zone))


def _calendar(*events: str) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:x", *events, "END:VCALENDAR", ""]
    return "\r\n".join(lines).encode()


def _event(*lines: str, summary: str = "Free", start: str = "20261201T100000Z") -> str:
    return "\r\n".join(
        [
            "BEGIN:VEVENT",
            f"UID:{summary.lower()}@example.org",
            "DTSTAMP:20261120T000000Z",
            f"DTSTART:{start}",
            "DTEND:20261201T120000Z",
            f"SUMMARY:{summary}",
            *lines,
            "END:VEVENT",
        ]
    )


# --- the crashes ------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", CRASHES)
def test_a_feed_that_crashed_the_command_is_one_line_for_its_member_and_others_are_read(
    tmp_path: Path, fixture: str
) -> None:
    """Read as a run reads feeds (FreeTimeReader): the broken member gets one line naming the
    event by title; the healthy member's answer is what it is alone."""
    ada, bob = _member(), _member("bob@example.org")
    community = replace(_community(ada, bob), cache_dir=tmp_path / "cache")
    body = (CALENDARS / f"{fixture}.ics").read_bytes()
    with FreeTimeReader(community, WEEK) as reader:
        results = reader.compute({ada.email: body, bob.email: GOOD})
    bad = results[ada.email]
    assert isinstance(bad, FeedError)
    assert str(bad).startswith("ada@example.org: calendar: event '") and "\n" not in str(bad)
    assert "@example.org'" not in str(bad)  # named by its title, not its UID
    assert results[bob.email] == plain_free_time(GOOD, bob, WEEK, _community(bob))


@pytest.mark.parametrize(
    "fixture", ["exchange_two_dtstart_lines", "exchange_two_dtend_lines"], ids=str
)
def test_a_time_written_twice_costs_only_the_weeks_its_readings_reach(fixture: str) -> None:
    body = (CALENDARS / f"{fixture}.ics").read_bytes()
    assert isinstance(_reads(body, WEEK), FeedError)
    later = _reads(body, IsoWeek(2026, 50))
    assert isinstance(later, FreeTime) and later.free == ()


def test_the_same_dtstart_written_twice_is_read_once_with_a_note() -> None:
    body = _calendar(_event("DTSTART:20261201T100000Z"))
    result = _reads(body)
    assert isinstance(result, FreeTime)
    assert [(f"{a:%H}", f"{b:%H}") for a, b in result.free] == [("10", "12")]
    assert any("the same DTSTART twice" in w for w in result.warnings), result.warnings


def test_two_different_dtstarts_block_no_less_than_either_reading() -> None:
    """A busy event with DTSTART 11:00 and 12:00 is not read as only one of them: with both
    readings covered, a free window 10:00–12:00 is never offered as free at 11:00."""
    body = _calendar(
        _event(start="20261201T100000Z"),
        "\r\n".join(
            [
                "BEGIN:VEVENT",
                "UID:busy@example.org",
                "DTSTAMP:20261120T000000Z",
                "DTSTART:20261201T120000Z",
                "DTSTART:20261201T110000Z",
                "DURATION:PT30M",
                "SUMMARY:Call",
                "END:VEVENT",
            ]
        ),
    )
    result = _reads(body)
    eleven, twelve = (dt.datetime(2026, 12, 1, h, tzinfo=dt.UTC) for h in (11, 12))
    if isinstance(result, FreeTime):  # blocked for every reading (rules' policy)
        assert all(not (span.start < twelve and span.end > eleven) for span in result.free)
    else:  # or refused for this week, naming it
        assert "event 'Call' (first on 2026-12-01)" in str(result)


# --- properties that cannot change free time --------------------------------------------------

HARMLESS = {
    "created-year-zero": "CREATED:00001231T000000Z",
    "last-modified-garbage": "LAST-MODIFIED:yesterday",
    "dtstamp-bad-month": "DTSTAMP:20261320T000000Z",
    "geo-text": "GEO:somewhere",
    "priority-word": "PRIORITY:high",
    "x-date": "X-MOZ-LASTACK;VALUE=DATE-TIME:not-a-date",
    "percent": "PERCENT-COMPLETE:half",
}


@pytest.mark.parametrize("line", list(HARMLESS.values()), ids=list(HARMLESS))
def test_a_malformed_property_that_cannot_change_free_time_is_only_a_note(line: str) -> None:
    body = _calendar(_event(line))
    result = _reads(body)
    assert isinstance(result, FreeTime), result
    assert [(f"{a:%H}", f"{b:%H}") for a, b in result.free] == [("10", "12")]
    name = line.split(":")[0].split(";")[0]
    assert any(
        f"event 'Free' (first on 2026-12-01): ignored a malformed {name}" in w
        for w in result.warnings
    ), result.warnings


def test_a_malformed_time_still_refuses_and_names_the_event() -> None:
    body = _calendar(_event("RRULE:FREQ=SOMETIMES", summary="Standup"))
    result = _reads(body)
    assert isinstance(result, FeedError)
    assert "event 'Standup' (first on 2026-12-01) has a malformed RRULE" in str(result)


# --- the repairs: each leaves a feed without its quirk alone ---------------------------------


@pytest.mark.parametrize("path", sorted(CALENDARS.glob("*.ics")), ids=lambda p: p.stem)
def test_a_repair_changes_nothing_in_a_feed_without_its_quirk(path: Path) -> None:
    """Every fixture whose name does not announce a repaired quirk comes back byte for byte,
    with no note."""
    quirky = {
        "exchange_raw_newlines_in_description",
        "google_all_day_rdate_with_z",
        "outlook_display_name_tzid_dst_us",
        "outlook_bare_offset_tzid",
        "outlook_display_name_tzid_unknown",
    }
    body = path.read_bytes()
    notes: list[str] = []
    repaired = repair_feed(body, notes)
    if path.stem in quirky:
        assert repaired != body and len(notes) >= 1
    else:
        assert repaired == body and notes == []


def test_exchange_raw_lines_join_the_text_they_follow_and_name_the_event() -> None:
    body = (CALENDARS / "exchange_raw_newlines_in_description.ics").read_bytes()
    notes: list[str] = []
    repaired = join_exchange_raw_newlines(body, notes)
    assert (
        b"Free for a coffee chat, say hello!\\nLocation: the kitchen on floor 2\\n\\n" in repaired
    )
    assert b"\r\nMeeting ID" not in repaired
    assert notes[0].startswith("event 'Free for coffee' (first on 2026-03-03): ")
    assert notes[1].startswith("event 'Budget review' (first on 2026-12-01): ")


def test_a_stray_line_after_a_time_is_not_joined_and_still_names_the_event() -> None:
    body = _calendar(_event().replace("T120000Z", "T120000Z\r\nor until lunch"))
    notes: list[str] = []
    assert join_exchange_raw_newlines(body, notes) == body and notes == []
    result = _reads(body)
    assert isinstance(result, FeedError)
    assert "event 'Free' (first on 2026-12-01)" in str(result)


def test_a_date_with_z_is_left_alone_on_a_timed_series() -> None:
    """Only an all-day series means a day by ``RDATE:20261210Z``; on a timed series it is not
    known which time was meant, so the RDATE stays malformed (and refused)."""
    body = _calendar(_event("RRULE:FREQ=WEEKLY;COUNT=2", "RDATE:20261210Z"))
    notes: list[str] = []
    assert strip_google_date_z(body, notes) == body and notes == []
    assert isinstance(_reads(body), FeedError)


def test_google_date_with_z_is_read_as_a_day_with_a_note() -> None:
    body = (CALENDARS / "google_all_day_rdate_with_z.ics").read_bytes()
    result = _reads(body, IsoWeek(2026, 50), zone="America/New_York")
    assert isinstance(result, FreeTime)
    assert any(
        w.startswith("event 'Free day (no classes)' (first on 2026-12-01): its extra dates")
        for w in result.warnings
    ), result.warnings


# --- Outlook display-name zones ---------------------------------------------------------------


def test_every_display_name_maps_to_a_zone_icalendar_knows() -> None:
    """The display-name table only names Windows IDs that CLDR's table (as icalendar ships it)
    maps to an IANA zone zoneinfo can load."""
    for name, windows_id in {**DISPLAY_NAMES, **LEGACY_NAMES}.items():
        assert windows_id in WINDOWS_TO_OLSON, (name, windows_id)
        assert display_name_zone(f"(UTC+01:00) {name}") == WINDOWS_TO_OLSON[windows_id], name


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("(UTC-05:00) Eastern Time (US & Canada)", "America/New_York"),
        ("(UTC-05:00) Eastern Time (US and Canada)", "America/New_York"),
        ("(GMT+10:00) Canberra, Melbourne, Sydney", "Australia/Sydney"),
        ("(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "Europe/Berlin"),
        ("(UTC) Dublin, Edinburgh, Lisbon, London", "Europe/London"),
        ("(GMT +01:00)", None),
        ("Amsterdam, Belgrade, Berlin, Brussels", None),
    ],
)
def test_display_names_are_mapped_through_the_windows_tables(name: str, zone: str | None) -> None:
    assert display_name_zone(name) == zone


def test_a_vtimezone_defining_the_display_name_is_not_overridden() -> None:
    body = (CALENDARS / "outlook_display_name_tzid_dst_us.ics").read_bytes()
    zone = (
        b"BEGIN:VTIMEZONE\r\nTZID:(UTC-05:00) Eastern Time (US & Canada)\r\nBEGIN:STANDARD\r\n"
        b"DTSTART:16010101T000000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\n"
        b"END:VTIMEZONE\r\n"
    )
    body = body.replace(b"METHOD:PUBLISH\r\n", b"METHOD:PUBLISH\r\n" + zone)
    notes: list[str] = []
    assert map_outlook_display_zones(body, notes) == body and notes == []


def test_a_bare_offset_is_a_fixed_offset_with_a_warning_a_member_can_act_on() -> None:
    body = (CALENDARS / "outlook_bare_offset_tzid.ics").read_bytes()
    result = _reads(body, IsoWeek(2026, 27), zone="Europe/Berlin")
    assert isinstance(result, FreeTime)
    assert [(f"{a:%d %H:%M}", f"{b:%d %H:%M}") for a, b in result.free] == [
        ("29 17:00", "29 19:00")
    ]
    (warning,) = [w for w in result.warnings if "(GMT +01:00)" in w]
    assert "read as UTC+01:00 all year" in warning and "in Outlook" in warning


def test_repairs_are_named_functions_with_their_evidence() -> None:
    for repair in REPAIRS:
        assert repair.__doc__ and ("Evidence" in repair.__doc__), repair.__name__


# --- the real exports -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "week", "keyword", "expected"),
    [
        # 13:30–15:00 "(GMT+10:00) Canberra, Melbourne, Sydney" on 28 Oct 2020: AEDT (+11:00).
        ("nodeical/Office-2012-owa.ics", "2020-W44", "syd", [("28 02:30", "28 04:00")]),
        # Exchange 2010 with raw newlines: floating 10:00–10:30 read in the member's zone (UTC).
        ("icsparser/issue-343.ics", "2024-W39", "team", [("23 10:00", "23 10:30")]),
    ],
)
def test_real_exports_with_vendor_quirks_are_read_as_their_apps_mean_them(
    name: str, week: str, keyword: str, expected: list[tuple[str, str]]
) -> None:
    path = SHARED_CALENDARS / name
    if not path.is_file():
        pytest.skip(
            "the shared real-calendar corpus is not checked out beside the repository "
            "(../shared/calendars): the real exports are not tested"
        )
    member = Member("Ada", "ada@example.org", str(path), ZoneInfo("UTC"), keyword=keyword)
    result = plain_free_time(path.read_bytes(), member, IsoWeek.parse(week), _community(member))
    assert isinstance(result, FreeTime), result
    assert [(f"{a:%d %H:%M}", f"{b:%d %H:%M}") for a, b in result.free] == expected
