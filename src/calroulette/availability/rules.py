"""A member's calendar feed → their free time in one week, as merged UTC intervals.

The rules (member M, week W = [Monday 00:00, next Monday 00:00) in the community zone):

- A: occurrences of events whose SUMMARY contains M's keyword as a whole word (case-insensitive),
  unless the occurrence is STATUS:CANCELLED;
- B: occurrences of every other event that blocks time: TRANSP is OPAQUE or absent, STATUS is not
  CANCELLED, and M is not an ATTENDEE with PARTSTAT=DECLINED (M's email in the address, with
  ``mailto:`` ignored, or in RFC 7986's EMAIL parameter);
- free(M, W) = (A − B) clipped to W.

Parsing is icalendar's and recurrence expansion is recurring-ical-events'; this module only adds
the rules on top and the conversion of every value to UTC at one edge (:func:`timeutil.to_utc`).

Decisions, each with a fixture or test (fixtures/calendars/, tests/test_availability.py):

- Keyword: a whole word, case-insensitive; a word character may not touch it on either side, so
  "free-time" and "I'm free!" match, "Freelance", "carefree" and "free_time" do not.
- All-day (DATE) events cover the member's local day(s); floating times are read in the member's
  zone, unless the feed declares its own zone with X-WR-TIMEZONE (then that zone: see
  :func:`.expansion._apply_x_wr_timezone`).
- Never guess silently. A one-line :class:`FeedError` for that member only: a malformed VEVENT
  or VTIMEZONE anywhere in the feed; an unknown X-WR-TIMEZONE; and, when the event reaches the
  week, an unknown TZID, an end before the start, a zoned time that also ends in Z, a VALUE=DATE
  with a time. What cannot change free time (a broken VALARM, an event with no DTSTART) is
  ignored and noted in :attr:`FreeTime.warnings`; so is an override whose series is not in the
  feed, read as a series of its own.
- Each feed is read with its own VTIMEZONE definitions (icalendar would share them by TZID
  across feeds); IANA TZIDs always mean the IANA zone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import icalendar

from calroulette.config import Member
from calroulette.errors import FeedError
from calroulette.intervals import Intervals, clip, merge, subtract
from calroulette.timeutil import IsoWeek, to_utc

from .expansion import check_zones, occurrences
from .parse import PROBLEM

# Queried around the week, then clipped in UTC: a zone is at most 14 hours from UTC, so a
# member's local day can start up to a day before (or end a day after) the community's week.
_PAD = dt.timedelta(days=2)


@dataclass(frozen=True, slots=True)
class FreeTime:
    """What one member's calendar says about one week."""

    member: str  # email
    week: IsoWeek
    free: Intervals  # merged, UTC, inside the week
    availability_events: int = 0  # occurrences of keyword events that touch the week
    busy_events: int = 0  # occurrences that block time in the week
    warnings: tuple[str, ...] = ()


def keyword_pattern(keyword: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive: 'Free for coffee', "I'm free!", 'FREE' — not 'Freelance'."""
    return re.compile(rf"(?<!\w){re.escape(keyword.strip())}(?!\w)", re.IGNORECASE)


def free_time(
    calendar: icalendar.Calendar,
    member: Member,
    week: IsoWeek,
    *,
    keyword: str,
    week_zone: dt.tzinfo,
    ignore_uids: frozenset[str] = frozenset(),
) -> FreeTime:
    """Compute ``member``'s free time in ``week`` from a parsed calendar.

    Events whose UID is in ``ignore_uids`` neither free nor block time: moving a meeting must
    not be refused because the member already accepted that very meeting in this calendar.

    Raises :class:`FeedError` when the calendar cannot be expanded or uses a time zone that
    cannot be resolved in an event that reaches the week.
    """
    week_start, week_end = week.bounds(week_zone)
    zone = member.timezone
    pattern = keyword_pattern(keyword)
    notes: list[str] = []
    free_spans: list[tuple[dt.datetime, dt.datetime]] = []
    busy_spans: list[tuple[dt.datetime, dt.datetime]] = []
    uids: set[str] = set()
    n_free = n_busy = 0
    local_start = week_start.astimezone(zone).date() - _PAD
    local_end = week_end.astimezone(zone).date() + _PAD
    for occurrence in occurrences(calendar, member.email, local_start, local_end, notes):
        uids.add(str(occurrence.get("UID", "")))
        problem = occurrence.get(PROBLEM)
        if problem is not None:
            raise FeedError(member.email, "calendar", str(problem))
        span = _span(occurrence, zone)
        if span is None or not (span[0] < week_end and span[1] > week_start):
            continue
        if ignore_uids and str(occurrence.get("UID", "")) in ignore_uids:
            continue
        if _status(occurrence) == "CANCELLED":
            continue
        if pattern.search(str(occurrence.get("SUMMARY", ""))):
            free_spans.append(span)
            n_free += 1
        elif _blocks(occurrence, member.email):
            busy_spans.append(span)
            n_busy += 1
    check_zones(calendar, uids, member.email, notes)
    free = clip(subtract(merge(free_spans), merge(busy_spans)), week_start, week_end)
    return FreeTime(member.email, week, free, n_free, n_busy, tuple(dict.fromkeys(notes)))


# --- rules ------------------------------------------------------------------------------------


def _status(component: icalendar.cal.Component) -> str:
    return str(component.get("STATUS", "")).strip().upper()


def _blocks(event: icalendar.cal.Component, email: str) -> bool:
    """Busy: opaque (or TRANSP absent), not cancelled, and not declined by the member."""
    if str(event.get("TRANSP", "OPAQUE")).strip().upper() == "TRANSPARENT":
        return False
    return not _declined_by(event, email)


def _declined_by(event: icalendar.cal.Component, email: str) -> bool:
    attendees = event.get("ATTENDEE")
    if attendees is None:
        return False
    if not isinstance(attendees, list):
        attendees = [attendees]
    for attendee in attendees:
        params: Mapping[str, Any] = getattr(attendee, "params", {})
        # RFC 7986 §6.2: EMAIL names the attendee's email when the address is not one
        # (urn:uuid:…, as JMAP servers such as Fastmail write) or differs from it.
        addresses = {_address(str(attendee)), _address(str(params.get("EMAIL", "")))}
        if email not in addresses:
            continue
        if str(params.get("PARTSTAT", "")).strip().upper() == "DECLINED":
            return True
    return False


def _address(value: str) -> str:
    """``MAILTO:Ada@Example.org`` → ``ada@example.org``."""
    address = value.strip()
    if address.lower().startswith("mailto:"):
        address = address[len("mailto:") :]
    return address.strip().lower()


def _span(
    event: icalendar.cal.Component, zone: dt.tzinfo
) -> tuple[dt.datetime, dt.datetime] | None:
    start_prop = event.get("DTSTART")
    if start_prop is None:
        return None
    start = start_prop.dt
    end_prop = event.get("DTEND")
    end = end_prop.dt if end_prop is not None else start
    start_utc, end_utc = to_utc(start, zone), to_utc(end, zone)
    if end_utc <= start_utc:
        return None
    return start_utc, end_utc
