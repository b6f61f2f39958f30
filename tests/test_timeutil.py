"""Time at the edges: RFC 5545 §3.3.5 for local times, ISO weeks read in a zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest

from calroulette.timeutil import (
    UTC,
    IsoWeek,
    ensure_utc,
    format_utc,
    load_zone,
    parse_utc,
    to_utc,
)

NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
BERLIN = ZoneInfo("Europe/Berlin")

# The same New York rules as an Outlook VTIMEZONE: icalendar turns it into a dateutil zone, which
# answers gap times differently from zoneinfo; to_utc must give RFC 5545's answer for both.
OUTLOOK_EASTERN = icalendar.Timezone.from_ical(
    "BEGIN:VTIMEZONE\r\nTZID:Eastern Standard Time\r\nBEGIN:STANDARD\r\n"
    "DTSTART:16010101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\n"
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n"
    "DTSTART:16010101T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\n"
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
).to_tz()


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def floating(*args: int) -> dt.datetime:
    """A zone-less iCalendar time (DTSTART:20261201T090000)."""
    return dt.datetime(*args)  # noqa: DTZ001 - floating on purpose


def test_a_date_is_local_midnight_in_the_members_zone() -> None:
    assert to_utc(dt.date(2026, 12, 1), ZoneInfo("Asia/Tokyo")) == utc(2026, 11, 30, 15)
    assert to_utc(dt.date(2026, 12, 1), NEW_YORK) == utc(2026, 12, 1, 5)
    assert to_utc(dt.date(2026, 3, 29), BERLIN) == utc(2026, 3, 28, 23)  # still CET at midnight


def test_a_floating_time_is_read_in_the_members_zone() -> None:
    assert to_utc(floating(2026, 12, 1, 9), ZoneInfo("Asia/Kolkata")) == utc(2026, 12, 1, 3, 30)


def test_an_aware_time_is_converted_and_the_members_zone_is_ignored() -> None:
    value = dt.datetime(2026, 7, 1, 9, tzinfo=BERLIN)
    assert to_utc(value, NEW_YORK) == utc(2026, 7, 1, 7)
    assert to_utc(utc(2026, 7, 1, 7), NEW_YORK) == utc(2026, 7, 1, 7)
    fixed = dt.datetime(2026, 7, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    assert to_utc(fixed, BERLIN) == utc(2026, 7, 1, 12)


@pytest.mark.parametrize("zone", [NEW_YORK, OUTLOOK_EASTERN], ids=["zoneinfo", "vtimezone"])
def test_a_time_in_the_spring_gap_uses_the_offset_before_the_gap(zone: dt.tzinfo) -> None:
    # RFC 5545 §3.3.5's own example: 2007-03-11 02:30 New York "indicates 3:30 A.M. EDT".
    assert to_utc(dt.datetime(2007, 3, 11, 2, 30, tzinfo=zone), UTC) == utc(2007, 3, 11, 7, 30)
    assert to_utc(dt.datetime(2026, 3, 8, 2, 0, tzinfo=zone), UTC) == utc(2026, 3, 8, 7, 0)
    # just outside the gap, both sides
    assert to_utc(dt.datetime(2026, 3, 8, 1, 59, tzinfo=zone), UTC) == utc(2026, 3, 8, 6, 59)
    assert to_utc(dt.datetime(2026, 3, 8, 3, 0, tzinfo=zone), UTC) == utc(2026, 3, 8, 7, 0)


@pytest.mark.parametrize("zone", [NEW_YORK, OUTLOOK_EASTERN], ids=["zoneinfo", "vtimezone"])
def test_a_repeated_time_is_its_first_occurrence(zone: dt.tzinfo) -> None:
    # RFC 5545 §3.3.5: 2007-11-04 01:30 New York "indicates ... 1:30 A.M. EDT (UTC-04:00)".
    assert to_utc(dt.datetime(2007, 11, 4, 1, 30, tzinfo=zone), UTC) == utc(2007, 11, 4, 5, 30)
    # even when a library hands over the second one (fold=1)
    second = dt.datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=zone)
    assert to_utc(second, UTC) == utc(2026, 11, 1, 5, 30)
    assert to_utc(dt.datetime(2026, 11, 1, 2, 0, tzinfo=zone), UTC) == utc(2026, 11, 1, 7, 0)


def test_floating_times_in_a_gap_or_fold_follow_the_same_rule() -> None:
    assert to_utc(floating(2026, 10, 4, 2, 30), SYDNEY) == utc(2026, 10, 3, 16, 30)
    assert to_utc(floating(2026, 4, 5, 2, 30), SYDNEY) == utc(2026, 4, 4, 15, 30)


@pytest.mark.parametrize(
    ("week", "zone", "start", "end", "hours"),
    [
        ("2026-W13", BERLIN, utc(2026, 3, 22, 23), utc(2026, 3, 29, 22), 167),
        ("2026-W43", BERLIN, utc(2026, 10, 18, 22), utc(2026, 10, 25, 23), 169),
        ("2026-W10", NEW_YORK, utc(2026, 3, 2, 5), utc(2026, 3, 9, 4), 167),
        ("2026-W44", NEW_YORK, utc(2026, 10, 26, 4), utc(2026, 11, 2, 5), 169),
        ("2026-W14", SYDNEY, utc(2026, 3, 29, 13), utc(2026, 4, 5, 14), 169),
        ("2026-W40", SYDNEY, utc(2026, 9, 27, 14), utc(2026, 10, 4, 13), 167),
        ("2026-W49", UTC, utc(2026, 11, 30), utc(2026, 12, 7), 168),
    ],
)
def test_week_bounds_are_local_mondays_and_dst_weeks_are_an_hour_short_or_long(
    week: str, zone: dt.tzinfo, start: dt.datetime, end: dt.datetime, hours: int
) -> None:
    assert IsoWeek.parse(week).bounds(zone) == (start, end)
    assert end - start == dt.timedelta(hours=hours)


def test_week_53_exists_only_in_long_years() -> None:
    assert IsoWeek.parse("2026-W53").monday() == dt.date(2026, 12, 28)  # 2026 starts on a Thursday
    assert IsoWeek.parse("2026-W53").shifted(1) == IsoWeek(2027, 1)
    assert IsoWeek.parse("2020-W53").days()[-1] == dt.date(2021, 1, 3)
    with pytest.raises(ValueError, match="not a week of that year"):
        IsoWeek.parse("2027-W53")
    assert IsoWeek.containing(dt.date(2027, 1, 1)) == IsoWeek(2026, 53)
    assert IsoWeek.containing(dt.date(2024, 12, 30)) == IsoWeek(2025, 1)


@pytest.mark.parametrize("text", ["2026-49", "2026W49", "26-W49", "2026-W4", "2026-W00", "", "x"])
def test_a_malformed_week_says_how_to_write_it(text: str) -> None:
    with pytest.raises(ValueError, match=r"2026-W49|not a week"):
        IsoWeek.parse(text)


def test_week_text_round_trips_and_pads() -> None:
    assert str(IsoWeek.parse(" 2026-W09 ")) == "2026-W09"
    assert str(IsoWeek(1, 2)) == "0001-W02"


def test_next_week_is_read_in_the_community_zone() -> None:
    # Sunday 6 Dec 2026 23:30 in New York is already Monday 7 Dec (W50) in UTC.
    now = utc(2026, 12, 7, 4, 30)
    assert IsoWeek.next_after(now, NEW_YORK) == IsoWeek(2026, 50)
    assert IsoWeek.next_after(now, UTC) == IsoWeek(2026, 51)


def test_weeks_since_and_shifted() -> None:
    assert IsoWeek(2027, 2).weeks_since(IsoWeek(2026, 52)) == 3
    assert IsoWeek(2026, 52).weeks_since(IsoWeek(2027, 2)) == -3
    assert IsoWeek(2026, 1).shifted(-1) == IsoWeek(2025, 52)


def test_utc_text_round_trips() -> None:
    assert format_utc(dt.datetime(2026, 11, 30, 9, tzinfo=BERLIN)) == "2026-11-30T08:00:00Z"
    assert parse_utc("2026-12-02T15:00Z") == utc(2026, 12, 2, 15)
    assert parse_utc("2026-12-02T16:00:00+01:00") == utc(2026, 12, 2, 15)
    with pytest.raises(ValueError, match="no time zone"):
        parse_utc("2026-12-02T15:00")
    with pytest.raises(ValueError, match="naive"):
        ensure_utc(dt.datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


@pytest.mark.parametrize("name", ["Mars/Olympus", "", " Europe/Berlin", "../etc/passwd", "/etc/x"])
def test_an_unknown_zone_is_a_readable_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        load_zone(name)


def test_a_known_zone_loads() -> None:
    assert load_zone("Pacific/Chatham") == ZoneInfo("Pacific/Chatham")


def _custom_zone(offset_from: str, offset_to: str) -> dt.tzinfo:
    """A VTIMEZONE that starts at +offset_from and changes at 08:00 on 5 May 2024.

    Each gets its own TZID: icalendar caches zones by TZID for the whole process."""
    return icalendar.Timezone.from_ical(
        f"BEGIN:VTIMEZONE\r\nTZID:Custom{offset_from}{offset_to}\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+1000\r\n"
        f"TZOFFSETTO:{offset_from}\r\nDTSTART:20240101T000000\r\nTZNAME:before\r\n"
        f"END:STANDARD\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:{offset_from}\r\n"
        f"TZOFFSETTO:{offset_to}\r\nDTSTART:20240505T080000\r\nTZNAME:after\r\n"
        "END:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
    ).to_tz()


def test_a_two_hour_fall_back_in_a_vtimezone_takes_the_first_reading() -> None:
    # +12:00 -> +10:00 at 08:00 (= 20:00Z): 06:00–08:00 happens twice. dateutil's fromutc places
    # the change at 22:00Z, so a round trip alone would pick the second reading.
    zone = _custom_zone("+1200", "+1000")
    assert to_utc(dt.datetime(2024, 5, 5, 7, 0, 1, tzinfo=zone), UTC) == utc(2024, 5, 4, 19, 0, 1)
    assert to_utc(dt.datetime(2024, 5, 5, 5, 59, tzinfo=zone), UTC) == utc(2024, 5, 4, 17, 59)
    assert to_utc(dt.datetime(2024, 5, 5, 8, 0, 1, tzinfo=zone), UTC) == utc(2024, 5, 4, 22, 0, 1)


def test_a_two_hour_gap_in_a_vtimezone_uses_the_offset_before_it() -> None:
    # +10:00 -> +12:00 at 08:00 (= 22:00Z): 08:00–10:00 does not exist.
    zone = _custom_zone("+1000", "+1200")
    assert to_utc(dt.datetime(2024, 5, 5, 7, 59, tzinfo=zone), UTC) == utc(2024, 5, 4, 21, 59)
    assert to_utc(dt.datetime(2024, 5, 5, 9, 0, tzinfo=zone), UTC) == utc(2024, 5, 4, 23, 0)
    assert to_utc(dt.datetime(2024, 5, 5, 10, 0, tzinfo=zone), UTC) == utc(2024, 5, 4, 22, 0)
