"""An independent second opinion on every fixture: python-dateutil's rrule instead of
recurring-ical-events, zoneinfo/dateutil gap and fold handling instead of ``timeutil.to_utc``.

icalendar is used only to read property values; recurrence, EXDATE/RDATE, overrides, DST and the
free-time rules are re-implemented here from RFC 5545 and the issue, in the simplest way that
covers the fixtures. Both this and calroulette are compared with the hand-written expected files,
so a wrong expectation, a calroulette bug or a gap in this model shows up as a disagreement.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil import rrule
from dateutil import tz as dateutil_tz

from calroulette.availability.repairs import repair_feed
from calroulette.errors import FeedError
from calroulette.intervals import clip, merge, subtract
from calroulette.timeutil import IsoWeek

from .support import CALENDARS
from .support.availability import CASES, Case, compute, expected_free

UTC = dt.UTC


def _instant(value: dt.date | dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """RFC 5545 §3.3.5 by dateutil's own helpers: gap times move forward, repeats are the first."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=zone)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    value = value.replace(fold=0)
    if not dateutil_tz.datetime_exists(value):
        value = dateutil_tz.resolve_imaginary(value)
    return value.astimezone(UTC)


def _values(component: icalendar.cal.Component, name: str) -> list[Any]:
    props = component.get(name)
    if props is None:
        return []
    out = []
    for prop in props if isinstance(props, list) else [props]:
        for item in prop.dts:
            out.append(item.dt[0] if isinstance(item.dt, tuple) else item.dt)
    return out


def _localise(value: Any, wr_zone: dt.tzinfo | None) -> Any:
    """X-WR-TIMEZONE (the documented decision): UTC and floating times move into that zone."""
    if wr_zone is None or not isinstance(value, dt.datetime):
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=wr_zone)
    if value.utcoffset() == dt.timedelta(0) and str(value.tzinfo) in {"UTC", "UTC+00:00"}:
        return value.astimezone(wr_zone)
    return value


def _occurrences(
    calendar: icalendar.Calendar, zone: dt.tzinfo, lo: dt.datetime, hi: dt.datetime
) -> list[tuple[icalendar.cal.Component, dt.datetime, dt.datetime]]:
    wr = calendar.get("X-WR-TIMEZONE")
    wr_zone = ZoneInfo(str(wr)) if wr else None
    events = list(calendar.walk("VEVENT"))
    # iTIP: of the events sharing a UID, only the highest SEQUENCE is current
    newest: dict[str, int] = {}
    for event in events:
        if "RECURRENCE-ID" not in event:
            uid = str(event.get("UID", ""))
            newest[uid] = max(newest.get(uid, 0), int(event.get("SEQUENCE", 0)))
    events = [
        e
        for e in events
        if "RECURRENCE-ID" in e or int(e.get("SEQUENCE", 0)) == newest[str(e.get("UID", ""))]
    ]
    overrides: dict[tuple[str, dt.datetime], icalendar.cal.Component] = {}
    for event in events:
        if "RECURRENCE-ID" in event:
            rid = _localise(event["RECURRENCE-ID"].dt, wr_zone)
            overrides[(str(event["UID"]), _instant(rid, zone))] = event
    out = []
    for event in events:
        start = _localise(event["DTSTART"].dt, wr_zone)
        if "DTEND" in event:
            length = _localise(event["DTEND"].dt, wr_zone) - start
        elif "DURATION" in event:
            length = event["DURATION"].dt
        else:
            length = dt.timedelta(days=1) if not isinstance(start, dt.datetime) else dt.timedelta()
        starts = [start] if "RECURRENCE-ID" in event else _expand(event, start, wr_zone, hi)
        uid = str(event.get("UID", ""))
        for one in starts:
            key = (uid, _instant(one, zone))
            if "RECURRENCE-ID" not in event and key in overrides:
                continue  # the override stands in for it
            begin = _instant(one, zone)
            end = _instant(_add(one, length), zone)
            if begin < hi and end > lo:
                out.append((event, begin, end))
    return out


def _add(start: Any, length: dt.timedelta) -> Any:
    if isinstance(start, dt.datetime) and start.tzinfo is not None:
        # wall-clock arithmetic, as for a duration of days and hours in one zone
        return (start.replace(tzinfo=None) + length).replace(tzinfo=start.tzinfo)
    return start + length


def _expand(
    event: icalendar.cal.Component, start: Any, wr_zone: dt.tzinfo | None, hi: dt.datetime
) -> list[Any]:
    is_date = not isinstance(start, dt.datetime)
    # all-day: expanded as floating midnights, turned back into dates below
    base = dt.datetime.combine(start, dt.time()) if is_date else start
    found: list[Any] = [base]
    if "RRULE" in event:
        text = event["RRULE"].to_ical().decode()
        if base.tzinfo is None:
            text = re.sub(r"UNTIL=(\d{8}T\d{6})Z", r"UNTIL=\1", text)  # floating: floating UNTIL
        elif "UNTIL=" in text and not re.search(r"UNTIL=\d{8}T\d{6}Z", text):
            text = re.sub(r"UNTIL=(\d{8})(?!T)", r"UNTIL=\1T235959Z", text)
        rule = rrule.rrulestr(text, dtstart=base)
        horizon = hi.astimezone(base.tzinfo).replace(tzinfo=base.tzinfo) if base.tzinfo else None
        limit = horizon if horizon is not None else hi.replace(tzinfo=None)
        limit = limit + dt.timedelta(days=3)
        found = list(rule.between(base - dt.timedelta(seconds=1), limit, inc=True))
        if base not in found:
            found.insert(0, base)
    for extra in _values(event, "RDATE"):
        found.append(_as_base(_localise(extra, wr_zone), is_date))
    excluded = {_key(_as_base(_localise(x, wr_zone), is_date)) for x in _values(event, "EXDATE")}
    result = [d for d in found if _key(d) not in excluded]
    return [d.date() for d in result] if is_date else result


def _as_base(value: Any, is_date: bool) -> Any:
    """An all-day series' extra or excluded DATE as the floating midnight it is expanded as."""
    if is_date and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value


def _key(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def second_opinion(case: Case) -> list[tuple[dt.datetime, dt.datetime]]:
    exp = case.expected
    zone = ZoneInfo(exp["member_zone"])
    week = case.week
    year, number = int(week[:4]), int(week[-2:])
    monday = dt.date.fromisocalendar(year, number, 1)
    community = ZoneInfo(exp["community_zone"])
    lo = _instant(monday, community)
    hi = _instant(monday + dt.timedelta(days=7), community)
    keyword = case.case.get("keyword", exp.get("keyword", "free"))
    word = re.compile(rf"(?<!\w){re.escape(keyword)}(?!\w)", re.IGNORECASE)
    email = exp.get("email", "ada@example.org")
    # The named vendor repairs are text fixes before any parser (Exchange's raw newlines,
    # Google's dates with a Z, Outlook's display-name zones): applied here too, so that both
    # engines read the same file, as ical.js agreed on the real exports after the same repair.
    body = repair_feed((CALENDARS / f"{case.fixture}.ics").read_bytes(), [])
    calendar = icalendar.Calendar.from_ical(body)
    free, busy = [], []
    for event, begin, end in _occurrences(calendar, zone, lo, hi):
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if word.search(str(event.get("SUMMARY", ""))):
            free.append((begin, end))
        elif str(event.get("TRANSP", "OPAQUE")).upper() != "TRANSPARENT" and not _declined(
            event, email
        ):
            busy.append((begin, end))
    return [tuple(s) for s in clip(subtract(merge(free), merge(busy)), lo, hi)]


def _declined(event: icalendar.cal.Component, email: str) -> bool:
    attendees = event.get("ATTENDEE", [])
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        address = re.sub(r"(?i)^mailto:", "", str(attendee)).lower()
        also = str(attendee.params.get("EMAIL", "")).lower()  # RFC 7986
        declined = str(attendee.params.get("PARTSTAT", "")).upper() == "DECLINED"
        if email in (address, also) and declined:
            return True
    return False


# Fixtures whose answer follows calroulette's policy for a broken piece (docs/design.md, "What a
# broken piece costs") where the second opinion can only guess: checked against their hand-written
# expected files by tests/test_availability.py, not here.
POLICY_ONLY = {
    "exchange_date_start_time_end": (
        "a busy all-day DTSTART with a timed DTEND blocks its whole day; ical.js guesses"
    ),
}
CHECKABLE = [c for c in CASES if "error" not in c.case and c.fixture not in POLICY_ONLY]


@pytest.mark.parametrize("case", CHECKABLE, ids=[c.id for c in CHECKABLE])
def test_an_independent_expansion_agrees_with_the_hand_written_expectation(case: Case) -> None:
    assert second_opinion(case) == expected_free(case)


# The fixtures whose every case is an error: calroulette refuses them, so there is no free time
# to cross-check. Named by hand, so that a fixture cannot leave the cross-check unnoticed.
ERROR_ONLY = {
    "exchange_two_dtstart_lines": "two different DTSTARTs: the time is not known",
    "exchange_two_dtend_lines": "two different DTENDs: the time is not known",
    "outlook_duplicate_uid_time_only_start": "a DTSTART that is a time of day with no date",
    "outlook_duplicate_uid_backwards_rdate_period": "an RDATE period ending before it starts",
}


def test_every_fixture_is_cross_checked_unless_it_is_named_as_an_error_case() -> None:
    """Each fixture on disk has a case the second opinion checks, or is in ``ERROR_ONLY`` and
    then calroulette answers every one of its cases with an error, or in ``POLICY_ONLY``."""
    on_disk = {p.stem for p in CALENDARS.glob("*.ics")}
    checked = {c.fixture for c in CHECKABLE}
    assert on_disk - checked == set(ERROR_ONLY) | set(POLICY_ONLY)
    assert len(checked) >= 20
    for case in CASES:
        if case.fixture in ERROR_ONLY:
            assert "error" in case.case, case.id
            with pytest.raises(FeedError):
                compute(case)


NEARBY = [
    Case(c.fixture, str(IsoWeek.parse(c.week).shifted(shift)), c.expected, {**c.case, "free": []})
    for c in CHECKABLE
    if c is next(d for d in CHECKABLE if d.fixture == c.fixture)
    for shift in (-2, -1, 1, 2)
]


@pytest.mark.parametrize("case", NEARBY, ids=[c.id for c in NEARBY])
def test_calroulette_and_the_independent_expansion_agree_on_neighbouring_weeks(case: Case) -> None:
    """No hand-written answer here: the two implementations must simply agree."""
    assert list(compute(case).free) == second_opinion(case)
