"""What a broken piece of a feed costs (issue 15), and exact durations.

A broken free event is skipped with a warning naming it; a broken busy event blocks every time it
could mean, or, when its time cannot be read at all, refuses the member only in the weeks it
might reach. Every expected interval below is derived by hand in the comment above it. Last, a
property: damaging one property of one event of a healthy feed never raises past the member's
result, and changes free time only around that event's own occurrences.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calroulette.availability import FreeTime, parse_calendar
from calroulette.availability.rules import skipped_events
from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.intervals import merge, subtract
from calroulette.timeutil import IsoWeek, parse_utc, to_utc

from .support import CALENDARS
from .support.freetime import plain_free_time

EMAIL = "ada@example.org"
W49 = IsoWeek(2026, 49)  # Monday 30 November – Sunday 6 December 2026


def _member(zone: str = "UTC") -> Member:
    return Member("Ada", EMAIL, "/nowhere.ics", ZoneInfo(zone))


def _community(member: Member, zone: str = "UTC") -> Community:
    return Community(
        name="Test",
        organizer="Test <t@example.org>",
        organizer_email="t@example.org",
        timezone=ZoneInfo(zone),
        members=(member,),
    )


def _feed(*events: str, head: str = "") -> bytes:
    body = "".join(
        f"BEGIN:VEVENT\r\nUID:e{k}@test\r\nDTSTAMP:20261120T000000Z\r\n"
        + "".join(f"{line}\r\n" for line in event.strip().splitlines())
        + "END:VEVENT\r\n"
        for k, event in enumerate(events)
    )
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n{head}{body}END:VCALENDAR\r\n".encode()


def _read(body: bytes, week: IsoWeek = W49, zone: str = "UTC") -> FreeTime | FeedError:
    member = _member(zone)
    return plain_free_time(body, member, week, _community(member))


def _free(result: FreeTime | FeedError) -> list[tuple[str, str]]:
    assert isinstance(result, FreeTime), result
    return [(f"{a:%m-%d %H:%M}", f"{b:%m-%d %H:%M}") for a, b in result.free]


FREE_MORNING = "DTSTART:20261201T080000Z\nDTEND:20261201T120000Z\nSUMMARY:Free for coffee"


# --- a broken free event is skipped, and named --------------------------------------------------


def test_a_free_event_that_ends_before_it_starts_is_skipped_and_the_rest_is_used() -> None:
    body = _feed(
        FREE_MORNING,
        "DTSTART:20261202T150000Z\nDTEND:20261202T140000Z\nSUMMARY:Free afternoon",
    )
    result = _read(body)
    assert _free(result) == [("12-01 08:00", "12-01 12:00")]
    assert isinstance(result, FreeTime)
    (warning,) = skipped_events(result)
    assert warning.startswith(
        "skipped event 'Free afternoon' (first on 2026-12-02): it ends before it starts"
    )
    assert "calendar app" in warning and "e1@test" not in warning


def test_a_free_event_in_an_unknown_zone_is_skipped_even_when_x_wr_timezone_would_place_it() -> (
    None
):
    body = _feed(
        FREE_MORNING,
        "DTSTART;TZID=LOLOLOL:20261203T100000\nDTEND;TZID=LOLOLOL:20261203T110000\nSUMMARY:free",
        head="X-WR-TIMEZONE:Europe/Berlin\r\n",
    )
    result = _read(body)
    assert _free(result) == [("12-01 08:00", "12-01 12:00")]
    assert isinstance(result, FreeTime)
    assert any("unknown time zone 'LOLOLOL'" in w for w in skipped_events(result))


def test_a_free_series_that_cannot_be_expanded_is_skipped_and_the_others_are_expanded() -> None:
    # BYSETPOS=0 parses, but recurring-ical-events refuses to expand it: the whole calendar
    # used to be refused. Now only that series is left out.
    body = _feed(
        FREE_MORNING,
        "DTSTART:20261101T100000Z\nDTEND:20261101T110000Z\nRRULE:FREQ=DAILY;BYSETPOS=0\n"
        "SUMMARY:Free daily",
    )
    result = _read(body)
    assert _free(result) == [("12-01 08:00", "12-01 12:00")]
    assert isinstance(result, FreeTime)
    (warning,) = skipped_events(result)
    assert warning.startswith("skipped event 'Free daily' (first on 2026-11-01): it has a repeat")


# --- a broken busy event blocks what it could mean, or refuses only the weeks it reaches --------


def test_a_busy_event_that_ends_before_it_starts_refuses_only_the_weeks_it_reaches() -> None:
    body = _feed(FREE_MORNING, "DTSTART:20261201T100000Z\nDTEND:20261201T090000Z\nSUMMARY:Dentist")
    refused = _read(body)
    assert isinstance(refused, FeedError)
    assert str(refused) == (
        "ada@example.org: calendar: event 'Dentist' (first on 2026-12-01) ends before it "
        "starts, so its busy time in 2026-W49 cannot be read (set its end after its start in "
        "your calendar app)"
    )
    assert _free(_read(body, IsoWeek(2026, 51))) == []  # nothing reaches W51: an answer


def test_a_busy_series_that_cannot_be_expanded_refuses_only_from_its_first_date() -> None:
    body = _feed(
        FREE_MORNING,
        "DTSTART:20261214T100000Z\nDTEND:20261214T110000Z\nRRULE:FREQ=DAILY;BYSETPOS=0\n"
        "SUMMARY:Standup",
    )
    before = _read(body)  # the series starts two weeks after W49: it cannot reach it
    assert _free(before) == [("12-01 08:00", "12-01 12:00")]
    after = _read(body, IsoWeek(2026, 51))
    assert isinstance(after, FeedError)
    assert "event 'Standup' (first on 2026-12-14) has a repeat rule (RRULE) that cannot" in str(
        after
    )


def test_a_busy_event_in_an_unknown_zone_blocks_every_time_it_could_mean() -> None:
    # 10:00–11:00 on 2 December in a zone nobody knows: UTC offsets run from −12 to +14 hours,
    # so it is somewhere in [10:00 − 14 h, 11:00 + 12 h] = [1 Dec 20:00Z, 2 Dec 23:00Z].
    body = _feed(
        "DTSTART:20261130T000000Z\nDTEND:20261207T000000Z\nSUMMARY:free",
        "DTSTART;TZID=Mars/Olympus:20261202T100000\nDTEND;TZID=Mars/Olympus:20261202T110000\n"
        "SUMMARY:Gym",
    )
    result = _read(body)
    assert _free(result) == [("11-30 00:00", "12-01 20:00"), ("12-02 23:00", "12-07 00:00")]
    assert isinstance(result, FreeTime) and not skipped_events(result)
    assert any(
        w.startswith("event 'Gym' (first on 2026-12-02) uses the unknown time zone")
        and "nothing to do: calroulette reads around it" in w
        for w in result.warnings
    )


def test_a_busy_time_in_a_zone_and_in_utc_blocks_both_readings() -> None:
    # 10:00–11:00 "Europe/Berlin" ending in Z: Berlin's reading (+01:00 in December) is
    # 09:00Z–10:00Z, UTC's 10:00Z–11:00Z; both are kept busy: 09:00Z–11:00Z.
    body = _feed(
        FREE_MORNING,
        "DTSTART;TZID=Europe/Berlin:20261201T100000Z\nDTEND;TZID=Europe/Berlin:20261201T110000Z\n"
        "SUMMARY:Call",
    )
    assert _free(_read(body)) == [("12-01 08:00", "12-01 09:00"), ("12-01 11:00", "12-01 12:00")]


def test_a_busy_all_day_value_with_a_time_blocks_its_whole_day() -> None:
    # VALUE=DATE with a time: the whole of 1 December (UTC member), or 10:00–11:00 that day; the
    # day covers both. Free 1 Dec 08:00 – 2 Dec 12:00 keeps 2 Dec 00:00–12:00.
    body = _feed(
        "DTSTART:20261201T080000Z\nDTEND:20261202T120000Z\nSUMMARY:free",
        "DTSTART;VALUE=DATE:20261201T100000\nDURATION:PT1H\nSUMMARY:Offsite",
    )
    assert _free(_read(body)) == [("12-02 00:00", "12-02 12:00")]


def test_a_broken_event_that_neither_frees_nor_blocks_costs_nothing() -> None:
    body = _feed(
        FREE_MORNING,
        "DTSTART:20261201T100000Z\nDTEND:20261201T090000Z\nSUMMARY:Maybe\nTRANSP:TRANSPARENT",
    )
    result = _read(body)
    assert _free(result) == [("12-01 08:00", "12-01 12:00")]
    assert isinstance(result, FreeTime) and result.warnings == ()


# --- exact durations -------------------------------------------------------------------------

# A weekly free Saturday night 22:00–06:00, from Saturday 3 January 2026, written with a DTEND or
# with DURATION:PT8H, in each week whose Saturday night has a clock change. 2026's changes: the US
# on 8 March (02:00 EST → 03:00 EDT) and 1 November (02:00 EDT → 01:00 EST); Europe on 29 March
# (01:00Z, CET → CEST) and 25 October (01:00Z, CEST → CET). The community's zone is UTC, so the
# weeks are UTC weeks and the Saturday before (a week earlier) ends on the Sunday of the week
# before: one interval each.
DST_NIGHTS = [
    # zone, week, DTEND's answer (wall-clock 06:00), DURATION's answer (exactly 8 hours later)
    # 7 Mar 22:00 EST = 8 Mar 03:00Z; 06:00 EDT = 10:00Z; 03:00Z + 8 h = 11:00Z.
    (
        "America/New_York",
        "2026-W10",
        ("03-08 03:00", "03-08 10:00"),
        ("03-08 03:00", "03-08 11:00"),
    ),
    # 31 Oct 22:00 EDT = 1 Nov 02:00Z; 06:00 EST = 11:00Z; 02:00Z + 8 h = 10:00Z.
    (
        "America/New_York",
        "2026-W44",
        ("11-01 02:00", "11-01 11:00"),
        ("11-01 02:00", "11-01 10:00"),
    ),
    # 28 Mar 22:00 CET = 21:00Z; 29 Mar 06:00 CEST = 04:00Z; 21:00Z + 8 h = 05:00Z.
    ("Europe/Berlin", "2026-W13", ("03-28 21:00", "03-29 04:00"), ("03-28 21:00", "03-29 05:00")),
    # 24 Oct 22:00 CEST = 20:00Z; 25 Oct 06:00 CET = 05:00Z; 20:00Z + 8 h = 04:00Z.
    ("Europe/Berlin", "2026-W43", ("10-24 20:00", "10-25 05:00"), ("10-24 20:00", "10-25 04:00")),
]


@pytest.mark.parametrize(("zone", "week", "by_dtend", "by_duration"), DST_NIGHTS)
def test_a_dtend_ends_at_its_wall_clock_time_and_a_duration_lasts_exactly_its_hours(
    zone: str, week: str, by_dtend: tuple[str, str], by_duration: tuple[str, str]
) -> None:
    start = f"DTSTART;TZID={zone}:20260103T220000\nRRULE:FREQ=WEEKLY;BYDAY=SA\nSUMMARY:free"
    with_end = _feed(f"{start}\nDTEND;TZID={zone}:20260104T060000")
    with_duration = _feed(f"{start}\nDURATION:PT8H")
    assert _free(_read(with_end, IsoWeek.parse(week), zone)) == [by_dtend]
    assert _free(_read(with_duration, IsoWeek.parse(week), zone)) == [by_duration]


def test_a_durations_days_stay_nominal_and_only_its_hours_are_exact() -> None:
    # DURATION:P1DT2H from Saturday 7 March 2026 12:00 in New York: one calendar day later is
    # Sunday 12:00 EDT (16:00Z) – the day has 23 hours – then exactly 2 hours: 18:00Z.
    body = _feed("DTSTART;TZID=America/New_York:20260307T120000\nDURATION:P1DT2H\nSUMMARY:free")
    assert _free(_read(body, IsoWeek(2026, 10), "America/New_York")) == [
        ("03-07 17:00", "03-08 18:00")
    ]


# --- the property: damage one property of one event ------------------------------------------

HEALTHY = [
    "google_weekly_free_dst_eu",
    "google_moved_and_cancelled_occurrences",
    "outlook_windows_tzid_duration",
    "nextcloud_exdate_rdate",
    "thunderbird_count_and_until",
    "apple_transparent_tentative_cancelled",
    "fastmail_attendee_email_parameter",
    "proton_multi_day_timed_absence",
    "google_overnight_weekly_week_edges",
]
_TIME = re.compile(r"\d{8}T\d{6}")
_NEAR = dt.timedelta(hours=14)  # a time in any zone is within 14 hours of its wall clock


def _damage(line: str, how: str) -> list[str]:
    """``line`` (one unfolded property line) damaged one way; the lines that replace it."""
    head, _, value = line.partition(":")
    if how == "garbage":
        return [f"{head}:!!not a value;,\\"]
    if how == "drop":
        return []
    if how == "twice":
        return [line, line]
    if how == "twice-differently":
        return [line, f"{head}:{_TIME.sub('20240229T233000', value)}"]
    if not _TIME.search(value):
        return [f"{head};X-DAMAGED=1:{value}"]
    bare = re.sub(r";TZID=(\"[^\"]*\"|[^;:]*)", "", head)
    if how == "unknown-zone":
        return [f"{bare};TZID=Mars/Olympus:{value.rstrip('Z')}"]
    if how == "zone-and-utc":
        return [f"{bare};TZID=Europe/Berlin:{value.rstrip('Z')}Z"]
    return [f"{bare};VALUE=DATE:{value}"]  # date-with-time


def _occurrences(body: bytes, uid: str, member: Member, week: IsoWeek, zone: str) -> list:
    """Where the event ``uid`` (and its copies read as events of their own) occurs near the
    week, each widened to its whole local days and the 14 hours either side."""
    try:
        calendar = parse_calendar(body, member.email)
        start, end = week.bounds(ZoneInfo(zone))
        found = recurring_ical_events.of(calendar).between(
            start.date() - dt.timedelta(days=3), end.date() + dt.timedelta(days=3)
        )
    except Exception:  # noqa: BLE001 - a damaged feed the library cannot read: no occurrences
        return []
    spans = []
    for occurrence in found:
        if not str(occurrence.get("UID", "")).startswith(uid):
            continue
        first, last = occurrence["DTSTART"].dt, occurrence["DTEND"].dt
        day = first.date() if isinstance(first, dt.datetime) else first
        after = (last.date() if isinstance(last, dt.datetime) else last) + dt.timedelta(days=1)
        lo = min(to_utc(first, member.timezone), to_utc(day, member.timezone)) - _NEAR
        hi = max(to_utc(last, member.timezone), to_utc(after, member.timezone)) + _NEAR
        spans.append((lo, hi))
    return spans


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(HEALTHY),
    event_at=st.integers(0, 50),
    line_at=st.integers(0, 50),
    how=st.sampled_from(
        [
            "garbage",
            "drop",
            "twice",
            "twice-differently",
            "unknown-zone",
            "zone-and-utc",
            "date-with-time",
        ]
    ),
)
def test_damaging_one_property_changes_free_time_only_around_that_event(
    name: str, event_at: int, line_at: int, how: str
) -> None:
    expected = tomllib.loads((CALENDARS / f"{name}.expected.toml").read_text(encoding="utf-8"))
    case = next(c for c in expected["cases"] if "free" in c)
    week, zone = IsoWeek.parse(case["week"]), expected["community_zone"]
    member = Member("Ada", EMAIL, "/nowhere.ics", ZoneInfo(expected["member_zone"]))
    community = _community(member, zone)
    text = re.sub(r"\r?\n[ \t]", "", (CALENDARS / f"{name}.ics").read_text(encoding="utf-8"))
    lines = text.splitlines()
    begins = [k for k, line in enumerate(lines) if line.strip() == "BEGIN:VEVENT"]
    first = begins[event_at % len(begins)]
    last = lines.index("END:VEVENT", first)
    props = [
        k
        for k in range(first + 1, last)
        if not re.match(r"(UID|BEGIN|END)[;:]", lines[k], re.IGNORECASE)
    ]
    at = props[line_at % len(props)]
    uid = next(line[4:] for line in lines[first:last] if line.upper().startswith("UID:"))
    damaged_lines = lines[:at] + _damage(lines[at], how) + lines[at + 1 :]
    healthy_body = "\r\n".join(lines).encode() + b"\r\n"
    damaged_body = "\r\n".join(damaged_lines).encode() + b"\r\n"

    healthy = plain_free_time(healthy_body, member, week, community)
    assert isinstance(healthy, FreeTime)
    assert healthy.free == tuple(  # unfolding changed nothing
        (parse_utc(a), parse_utc(b)) for a, b in case["free"]
    )
    damaged = plain_free_time(damaged_body, member, week, community)  # raises nothing else
    if isinstance(damaged, FeedError):
        assert "\n" not in str(damaged) and str(damaged).startswith(f"{EMAIL}: ")
        return
    assert isinstance(damaged, FreeTime)
    changed = merge([*subtract(healthy.free, damaged.free), *subtract(damaged.free, healthy.free)])
    around = merge(
        _occurrences(healthy_body, uid, member, week, zone)
        + _occurrences(damaged_body, uid, member, week, zone)
    )
    assert subtract(changed, around) == (), (how, lines[at])
