"""Pruning VEVENTs as text (``availability._prune``) must never change anyone's free time."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from calroulette.availability import free_time, parse_calendar
from calroulette.availability._prune import prune_feed
from calroulette.config import Member
from calroulette.errors import FeedError
from calroulette.timeutil import IsoWeek

from .support.availability import calendar_files, generator

ZONE = ZoneInfo("Europe/Berlin")
_DTSTART = re.compile(rb"DTSTART[^:\r\n]*:(\d{8})")


def _weeks_of(body: bytes) -> list[IsoWeek]:
    """A few weeks the file has events in (first, middle, last), and 2026-W49."""
    dates = sorted({m.group(1) for m in _DTSTART.finditer(body)})
    picks = [dates[0], dates[len(dates) // 2], dates[-1]] if dates else []
    weeks = {IsoWeek.containing(dt.date(int(d[:4]), int(d[4:6]), int(d[6:]))) for d in picks}
    weeks.add(IsoWeek(2026, 49))
    return sorted(weeks)


def _result(body: bytes, member: Member, week: IsoWeek) -> object:
    """The free time or the error, with the notes parsing took (a run shows them too)."""
    notes: list[str] = []
    try:
        calendar = parse_calendar(body, member.email, notes)
        return free_time(calendar, member, week, keyword="free", week_zone=ZONE), notes
    except FeedError as error:
        return error, notes


def _pruned(body: bytes, week: IsoWeek) -> bytes:
    start, end = week.bounds(ZONE)
    return prune_feed(body, start.date(), end.date())


@pytest.mark.parametrize("path", calendar_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pruned_feed_gives_the_same_free_time(path: Path) -> None:
    """Fixtures, demo calendars and (when present) the real exports in ../shared agree."""
    body = path.read_bytes()
    member = Member("M", "m@example.org", str(path), ZoneInfo("America/New_York"))
    for week in _weeks_of(body):
        assert _result(_pruned(body, week), member, week) == _result(body, member, week), week


@pytest.mark.slow
def test_generated_community_feeds_agree_pruned_and_unpruned(tmp_path: Path) -> None:
    """Heavy primary-calendar feeds from the bench generator, where pruning matters most."""
    module = generator()
    module.HEAVY_SHARE = 0.25
    made = module.generate(16, tmp_path, seed=3, history_weeks=1)
    shrunk = 0
    week = IsoWeek(2026, 49)
    for feed in sorted(made.feeds.iterdir()):
        body = feed.read_bytes()
        zone_name = re.search(rb"X-WR-TIMEZONE:(\S+)", body)
        assert zone_name is not None
        member = Member("M", "m@example.org", str(feed), ZoneInfo(zone_name.group(1).decode()))
        pruned = _pruned(body, week)
        shrunk += len(pruned) < len(body) // 2
        assert _result(pruned, member, week) == _result(body, member, week), feed.name
    assert shrunk >= 1, "no heavy feed was generated: the test would prove nothing"


def _event(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", *lines, "END:VEVENT"])


def _calendar(*events: str) -> bytes:
    return (
        "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", *events, "END:VCALENDAR"]) + "\r\n"
    ).encode()


WEEK = (dt.date(2026, 11, 30), dt.date(2026, 12, 6))


def test_an_old_override_keeps_its_recurring_master_and_siblings() -> None:
    body = _calendar(
        _event("UID:series", "DTSTART:20200106T100000Z", "RRULE:FREQ=WEEKLY"),
        _event("UID:series", "RECURRENCE-ID:20200113T100000Z", "DTSTART:20200114T100000Z"),
        _event("UID:lonely-override-sibling", "DTSTART:20200101T100000Z"),
    )
    pruned = prune_feed(body, *WEEK)
    assert pruned.count(b"UID:series") == 2
    assert b"lonely-override-sibling" not in pruned


def test_a_long_event_reaching_into_the_window_is_kept() -> None:
    body = _calendar(
        _event("UID:long", "DTSTART;VALUE=DATE:20261101", "DTEND;VALUE=DATE:20261201"),
        _event("UID:duration", "DTSTART:20261120T100000Z", "DURATION:P10D"),
        _event("UID:short", "DTSTART:20261120T100000Z", "DURATION:PT1H"),
    )
    pruned = prune_feed(body, *WEEK)
    assert b"UID:long" in pruned and b"UID:duration" in pruned
    assert b"UID:short" not in pruned


def test_unreadable_dates_and_nested_alarms_are_kept_verbatim() -> None:
    body = _calendar(
        _event("UID:weird", "DTSTART:2020-01-01"),
        _event(
            "UID:alarm",
            "DTSTART:20261201T100000Z",
            "BEGIN:VALARM",
            "TRIGGER:-PT15M",
            "END:VALARM",
        ),
        _event("UID:folded", "DTSTART;TZID=Europe/Ber", " lin:20261201T100000"),
    )
    assert prune_feed(body, *WEEK) == body


# Each line, on a one-off event years before the week, makes icalendar call the feed malformed
# (or adds a note): pruning must keep that event so the result does not change.
# Except these: icalendar 7.3 reads them without a word, but pruning keeps any line with a VALUE
# parameter, as a version that judges them could.
READ_WITHOUT_A_WORD = {"DTSTAMP;VALUE=DATE:20200101"}
MALFORMED_OR_NOTED = [
    "DTSTAMP:garbage",
    "DTSTAMP:20201301T000000Z",
    "DTSTAMP;VALUE=DATE:20200101",
    "CREATED:xx",
    "LAST-MODIFIED:zz",
    "SEQUENCE:abc",
    "PRIORITY:x",
    "DURATION:P1Q",
    "EXDATE:zz",
    "GEO:a;b",
    "DUE:zz",
    "COMPLETED:zz",
    "PERCENT-COMPLETE:zz",
    "FREEBUSY:zz",
    "TZOFFSETTO:zz",
    "SUMMARY;VALUE=INTEGER:abc",
    "X-FOO;VALUE=INTEGER:abc",
    "BEGIN:VALARM\r\nTRIGGER:zz\r\nEND:VALARM",
]


@pytest.mark.parametrize("line", MALFORMED_OR_NOTED)
def test_an_old_event_that_would_fail_or_note_the_feed_is_kept(line: str) -> None:
    body = _calendar(
        _event("UID:now", "DTSTART:20261201T100000Z", "DTEND:20261201T120000Z", "SUMMARY:free"),
        _event("UID:old", "DTSTART:20200101T100000Z", "DTEND:20200101T110000Z", line),
    )
    assert prune_feed(body, *WEEK) == body
    member = Member("M", "m@example.org", "x", ZoneInfo("UTC"))
    week = IsoWeek(2026, 49)
    without_it = _calendar(
        _event("UID:now", "DTSTART:20261201T100000Z", "DTEND:20261201T120000Z", "SUMMARY:free")
    )
    # the old event changes the answer, so a pruning that dropped it would change it too
    changes = _result(body, member, week) != _result(without_it, member, week)
    assert changes is (line not in READ_WITHOUT_A_WORD)


def test_old_events_with_only_harmless_lines_are_dropped() -> None:
    """Text, well-formed stamps, counters and alarms: what a Google export puts on every event."""
    old = _event(
        "UID:old",
        "DTSTAMP:20261101T090000Z",
        "CREATED:20190101T000000Z",
        "LAST-MODIFIED:20190102T000000Z",
        "SEQUENCE:2",
        "DTSTART;TZID=Europe/Berlin:20200101T100000",
        "DTEND;TZID=Europe/Berlin:20200101T110000",
        'ATTENDEE;CN="Ada: the first";PARTSTAT=ACCEPTED:mailto:ada@example.org',
        "X-GOOGLE-CONFERENCE:https://meet.example/abc",
        "SUMMARY:Standup",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER:-PT15M",
        "END:VALARM",
    )
    body = _calendar(_event("UID:now", "DTSTART:20261201T100000Z"), old)
    pruned = prune_feed(body, *WEEK)
    assert b"UID:old" not in pruned and b"UID:now" in pruned


def test_one_off_events_sharing_a_uid_are_kept_together() -> None:
    body = _calendar(
        _event("UID:twice", "DTSTART:20261201T100000Z", "SUMMARY:free"),
        _event("UID:twice", "DTSTART:20200101T100000Z", "SUMMARY:busy"),
    )
    assert prune_feed(body, *WEEK) == body


@pytest.mark.parametrize(
    "lines",
    [
        ("DTSTART:99991230T000000Z", "DURATION:P10D"),  # ends after year 9999
        ("DTSTART:20200101T100000Z", "DURATION:P99999999999W"),  # too long for a timedelta
        ("DTSTART:20200101T100000Z", "BEGIN:VALARM", "TRIGGER:-P99999999999W", "END:VALARM"),
    ],
)
def test_a_duration_out_of_python_range_keeps_the_event_instead_of_failing(
    lines: tuple[str, ...],
) -> None:
    """Pruning once raised OverflowError here, taking the whole run down for one member's feed:
    such an event is kept, and icalendar decides (an error for the member, or a note)."""
    body = _calendar(_event("UID:now", "DTSTART:20261201T100000Z"), _event("UID:odd", *lines))
    assert prune_feed(body, *WEEK) == body


def test_lines_alike_up_to_a_quoted_colon_are_judged_each_on_its_own_name() -> None:
    """Both lines start ``SUMMARY;X="a:``; only the second has a VALUE parameter, which keeps its
    event (what is learnt about one name must not be reused for the other)."""
    body = _calendar(
        _event("UID:now", "DTSTART:20261201T100000Z"),
        _event("UID:plain", "DTSTART:20200101T100000Z", 'SUMMARY;X="a:b":c'),
        _event("UID:valued", "DTSTART:20200102T100000Z", 'SUMMARY;X="a:b";VALUE=INTEGER:c'),
    )
    pruned = prune_feed(body, *WEEK)
    assert b"UID:plain" not in pruned
    assert b"UID:valued" in pruned


@pytest.mark.parametrize(
    ("lines", "dropped"),
    [
        (("DTSTART: 20200101T100000Z ",), True),  # spaces around a UTC time
        (("DTSTART;VALUE=DATE:20200101",), True),
        (("DTSTART:20200101T235959", "DTEND:20200102T000000"), True),
        (("DTSTART;VALUE=DATE:20200101", "DTEND:20200101T000000"), True),  # same instant
        (("DTSTART:20200101T240000",), False),  # no hour 24
        (("DTSTART:20200101T100060",), False),  # no leap second
        (("DTSTART:20200230T100000",), False),  # no 30 February
        (("DTSTART:20200101T1000",), False),
        (("DTSTART:20200101 T100000",), False),
        (("DTSTART:20200101T100000", "DTEND:20200101"), False),  # ends (midnight) before it starts
        (("DTSTART;VALUE=DATE:20200102", "DTEND:20200101T235959"), False),
    ],
)
def test_an_old_event_is_dropped_only_when_its_dates_read_cleanly_in_order(
    lines: tuple[str, ...], dropped: bool
) -> None:
    body = _calendar(_event("UID:now", "DTSTART:20261201T100000Z"), _event("UID:old", *lines))
    assert (b"UID:old" not in prune_feed(body, *WEEK)) is dropped


def test_an_event_line_that_only_starts_with_end_vevent_does_not_end_the_event() -> None:
    """``END:VEVENTX`` is not the end: the block runs to the next END:VEVENT line, and the
    stray END inside it keeps the event (as icalendar would see something odd there)."""
    body = _calendar(
        _event("UID:now", "DTSTART:20261201T100000Z"),
        "BEGIN:VEVENT\r\nUID:odd\r\nDTSTART:20200101T100000Z\r\nEND:VEVENTX\r\n"
        + _event("UID:old", "DTSTART:20200101T100000Z"),
        _event("UID:plain", "DTSTART:20200101T100000Z"),
    )
    pruned = prune_feed(body, *WEEK)
    assert b"UID:odd" in pruned and b"UID:old" in pruned
    assert b"UID:plain" not in pruned
