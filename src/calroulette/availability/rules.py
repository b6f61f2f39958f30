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

Decisions, each with a fixture or test (fixtures/calendars/, tests/test_availability.py,
tests/test_availability_policy.py):

- Keyword: a whole word, case-insensitive; a word character may not touch it on either side, so
  "free-time" and "I'm free!" match, "Freelance", "carefree" and "free_time" do not.
- All-day (DATE) events cover the member's local day(s); floating times are read in the member's
  zone, unless the feed declares its own zone with X-WR-TIMEZONE (then that zone: see
  :func:`.expansion._apply_x_wr_timezone`).
- Durations: a DTEND ends at its wall-clock time, a DURATION's hours are exact (see
  :func:`_exact_end`).
- A broken piece costs only itself (:class:`Damage`; the issue 15 policy). An event whose time
  is contradictory (marked by :mod:`.parse`), in an unknown zone, or whose series
  recurring-ical-events cannot expand:

  - if it is a free event, it is skipped: the rest of the member's free time is used, and the
    result carries a warning naming it by title and first date (:func:`skipped_events`);
  - if it is a busy event whose time can still be bounded (every reading of a contradictory
    time, or ±14 hours around a time in an unknown zone), it blocks that bound, with a note;
  - if it is a busy event whose time cannot be read (an end before its start, a series that
    cannot be expanded), the member gets a :class:`FeedError` naming it, only for the weeks it
    might reach (an occurrence within two days of the week; a series starting before its end);
  - an event that neither frees nor blocks (transparent, cancelled, declined) costs nothing.

  An unknown X-WR-TIMEZONE is still the whole calendar's error. What cannot change free time (a
  broken VALARM, an event with no DTSTART) is ignored and noted in :attr:`FreeTime.warnings`;
  so is an override whose series is not in the feed, read as a series of its own.
- Each feed is read with its own VTIMEZONE definitions (icalendar would share them by TZID
  across feeds); IANA TZIDs always mean the IANA zone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import icalendar

from calroulette.config import Member
from calroulette.errors import FeedError
from calroulette.intervals import Intervals, clip, merge, subtract
from calroulette.timeutil import IsoWeek, to_utc

from .expansion import (
    Unexpandable,
    note_guessed_zones,
    occurrences,
    unknown_tzid,
)
from .parse import PROBLEM
from .repairs import event_name

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


def skipped_events(free: FreeTime) -> tuple[str, ...]:
    """The warnings about free events that were skipped because they are broken: ``check``
    rates a member with any as WARN (their free time is smaller than their calendar shows)."""
    return tuple(w for w in free.warnings if w.startswith(SKIPPED))


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

    Raises :class:`FeedError` when the calendar's zone (X-WR-TIMEZONE) is unknown, or when a
    busy event whose time cannot be read might reach the week (see the module's policy).
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
    sources = _Sources(calendar)
    broken: list[Unexpandable] = []
    for occurrence in occurrences(calendar, member.email, local_start, local_end, notes, broken):
        uid = str(occurrence.get("UID", ""))
        uids.add(uid)
        if (ignore_uids and uid in ignore_uids) or _status(occurrence) == "CANCELLED":
            continue
        is_free = bool(pattern.search(str(occurrence.get("SUMMARY", ""))))
        if not is_free and not _blocks(occurrence, member.email):
            continue  # neither frees nor blocks: nothing in it can cost anything
        source = sources.find(occurrence, zone)
        damage = _damage(occurrence, source)
        if damage is None:
            span = _span(occurrence, zone, source)
        elif is_free:
            notes.append(damage.skipped(sources.name(uid)))
            continue
        else:
            span = damage.bound(occurrence, zone)
            if span is None:
                raise FeedError(member.email, "calendar", damage.refusal(sources.name(uid), week))
        if span is None or not (span[0] < week_end and span[1] > week_start):
            continue
        if damage is not None:
            notes.append(damage.blocked(sources.name(uid)))
        if is_free:
            free_spans.append(span)
            n_free += 1
        else:
            busy_spans.append(span)
            n_busy += 1
    reach_end = to_utc(local_end, zone)
    for series in broken:
        notes.extend(_judge_unexpandable(series, member, pattern, ignore_uids, reach_end, week))
    note_guessed_zones(calendar, uids, notes)
    free = clip(subtract(merge(free_spans), merge(busy_spans)), week_start, week_end)
    return FreeTime(member.email, week, free, n_free, n_busy, tuple(dict.fromkeys(notes)))


# --- the policy for broken pieces -------------------------------------------------------------

SKIPPED = "skipped "  # how every warning about a skipped free event begins


class Kind(StrEnum):
    """What is broken in an event's time."""

    ENDS_BEFORE_START = "ends-before-start"
    MIXED_KINDS = "mixed-kinds"
    DATE_WITH_TIME = "date-with-time"
    ZONE_AND_UTC = "zone-and-utc"
    UNKNOWN_ZONE = "unknown-zone"
    UNEXPANDABLE = "unexpandable"
    OTHER = "other"


# What the member reads: what is wrong, and what to do in their calendar app.
_SAY = {
    Kind.ENDS_BEFORE_START: ("ends before it starts", "set its end after its start"),
    Kind.MIXED_KINDS: (
        "starts as a whole day but ends at a time of day (or the other way round)",
        "make it all-day, or give it a start and an end time",
    ),
    Kind.DATE_WITH_TIME: (
        "is marked all-day but also carries a time",
        "make it all-day, or set its time again",
    ),
    Kind.ZONE_AND_UTC: (
        "gives its time in a time zone and in UTC at once",
        "set its time zone again",
    ),
    Kind.UNKNOWN_ZONE: ("uses a time zone nobody knows", "pick its time zone from the list"),
    Kind.UNEXPANDABLE: ("has a repeat that cannot be read", "set its repeat again"),
    Kind.OTHER: ("has a time that cannot be read", "set its time again, or re-create it"),
}
# How far a wall-clock time in an unknown zone can be from UTC: offsets run from -12 to +14.
_EARLIEST, _LATEST = dt.timedelta(hours=14), dt.timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class Damage:
    """One broken event's time: its kind, and the detail a sentence needs (a zone's name)."""

    kind: Kind
    detail: str = ""  # the unknown zone's name, or what cannot be expanded
    action: str = ""  # what to do, when the kind's usual advice does not fit

    def _what(self) -> tuple[str, str]:
        """What is wrong, and what to do about it in the member's calendar app."""
        what, action = _SAY[self.kind]
        action = self.action or action
        if self.kind is Kind.UNKNOWN_ZONE and self.detail:
            what = f"uses the unknown time zone {self.detail!r}"
        elif self.kind is Kind.UNEXPANDABLE and self.detail:
            what = self.detail
        return what, f"{action} in your calendar app"

    def skipped(self, name: str) -> str:
        what, fix = self._what()
        return f"{SKIPPED}{name}: it {what}, so its free time is not offered ({fix})"

    def blocked(self, name: str) -> str:
        what, fix = self._what()
        return (
            f"{name} {what}: every time it could mean is kept busy "
            f"(nothing to do: calroulette reads around it; to free that time, {fix})"
        )

    def refusal(self, name: str, week: IsoWeek) -> str:
        what, fix = self._what()
        return f"{name} {what}, so its busy time in {week} cannot be read ({fix})"

    def bound(
        self, event: icalendar.cal.Component, zone: dt.tzinfo
    ) -> tuple[dt.datetime, dt.datetime] | None:
        """Every instant the event could mean, in UTC; ``None`` when its time cannot be read."""
        start, end = _values(event)
        if start is None or end is None:
            return None
        if self.kind is Kind.ZONE_AND_UTC:  # the zone's reading, or the same wall time in UTC
            points = [to_utc(v, zone) for v in (start, end)] + [_wall(v) for v in (start, end)]
        elif self.kind in (Kind.MIXED_KINDS, Kind.DATE_WITH_TIME):  # those hours, or whole days
            points = [to_utc(v, zone) for v in (start, end)] + [
                to_utc(_day(start), zone),
                to_utc(_day_after(end), zone),
            ]
        elif self.kind is Kind.UNKNOWN_ZONE:  # the same wall time in any zone of the world
            points = [_wall(start) - _EARLIEST, _wall(end) + _LATEST]
        else:
            return None
        return min(points), max(points)


def _damage(event: icalendar.cal.Component, source: icalendar.cal.Component) -> Damage | None:
    mark = event.get(PROBLEM)
    if mark is not None:
        mark = mark[0] if isinstance(mark, list) else mark
        kind = str(getattr(mark, "params", {}).get("KIND", ""))  # set by .parse (_times.mark)
        return Damage(Kind(kind) if kind in set(Kind) else Kind.OTHER)
    tzid = unknown_tzid(source)
    return Damage(Kind.UNKNOWN_ZONE, tzid) if tzid is not None else None


def _judge_unexpandable(
    series: Unexpandable,
    member: Member,
    pattern: re.Pattern[str],
    ignore_uids: frozenset[str],
    reach_end: dt.datetime,
    week: IsoWeek,
) -> list[str]:
    """A series that cannot be expanded: skipped when free, refused when busy and it might
    reach the week (its occurrences never start before its first DTSTART)."""
    events = series.components
    master = next((e for e in events if "RECURRENCE-ID" not in e), events[0])
    uid = str(master.get("UID", ""))
    if uid in ignore_uids or _status(master) == "CANCELLED":
        return []
    starts = [_values(e)[0] for e in events]
    firsts = [to_utc(s, member.timezone) for s in starts if s is not None]
    if firsts and min(firsts) >= reach_end:
        return []
    damage = Damage(Kind.UNEXPANDABLE, series.reason, series.action)
    name = _Sources.describe(master)
    blocking = [
        e
        for e in events
        if _status(e) != "CANCELLED"
        and not pattern.search(str(e.get("SUMMARY", "")))
        and _blocks(e, member.email)
    ]
    if blocking:
        raise FeedError(member.email, "calendar", damage.refusal(name, week))
    if pattern.search(str(master.get("SUMMARY", ""))):
        return [damage.skipped(name)]
    return []


class _Sources:
    """The parsed VEVENTs an occurrence came from (a series or one of its overrides), found
    by UID and RECURRENCE-ID; and each series' name for a person: title and first date."""

    def __init__(self, calendar: icalendar.Calendar) -> None:
        self._calendar = calendar
        self._index: dict[str, dict[dt.datetime | None, icalendar.cal.Component]] | None = None

    def _events(self, zone: dt.tzinfo) -> dict[str, dict[dt.datetime | None, Any]]:
        if self._index is None:  # built on first use: one walk of the calendar
            self._index = {}
            for event in self._calendar.walk("VEVENT"):
                rid = event.get("RECURRENCE-ID")
                key = _instant(rid, zone) if rid is not None else None
                self._index.setdefault(str(event.get("UID", "")), {}).setdefault(key, event)
        return self._index

    def find(self, occurrence: icalendar.cal.Component, zone: dt.tzinfo) -> Any:
        """The override this occurrence comes from, or else its series (or itself)."""
        series = self._events(zone).get(str(occurrence.get("UID", "")), {})
        rid = occurrence.get("RECURRENCE-ID")
        found = series.get(_instant(rid, zone)) if rid is not None else None
        return found or series.get(None) or occurrence

    def name(self, uid: str) -> str:
        series = (self._index or {}).get(uid, {})
        event = series.get(None) or next(iter(series.values()), None)
        return self.describe(event) if event is not None else "an event"

    @staticmethod
    def describe(event: icalendar.cal.Component) -> str:
        """``event 'Team sync' (first on 2026-12-01)``: what the member sees in their app."""
        start = _values(event)[0]
        title = event.get("SUMMARY", "")
        title = title[0] if isinstance(title, list) and title else title
        return event_name(str(title), _day(start) if start else None)


def _instant(prop: Any, zone: dt.tzinfo) -> dt.datetime | None:
    value = getattr(prop, "dt", None)
    return to_utc(value, zone) if isinstance(value, dt.date) else None


def _values(
    event: icalendar.cal.Component,
) -> tuple[dt.date | None, dt.date | None]:
    """DTSTART's and DTEND's values (DTEND defaults to DTSTART); ``None`` where unreadable."""
    start = getattr(event.get("DTSTART"), "dt", None)
    end = getattr(event.get("DTEND"), "dt", None)
    start = start if isinstance(start, dt.date) else None
    end = end if isinstance(end, dt.date) else start
    return start, end


def _wall(value: dt.date | None) -> dt.datetime:
    """A value's wall-clock time read as if it were UTC."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value or dt.date.min, dt.time())
    return value.replace(tzinfo=dt.UTC)


def _day(value: dt.date | None) -> dt.date:
    """The local day a value falls on."""
    return value.date() if isinstance(value, dt.datetime) else (value or dt.date.min)


def _day_after(value: dt.date | None) -> dt.date:
    """The first local midnight at or after a value (a DATE end is already one)."""
    if isinstance(value, dt.datetime):
        return value.date() + dt.timedelta(days=1 if value.time() != dt.time() else 0)
    return value or dt.date.min


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
    event: icalendar.cal.Component, zone: dt.tzinfo, source: icalendar.cal.Component
) -> tuple[dt.datetime, dt.datetime] | None:
    start_prop = event.get("DTSTART")
    if start_prop is None:
        return None
    start = start_prop.dt
    end_prop = event.get("DTEND")
    end = end_prop.dt if end_prop is not None else start
    start_utc, end_utc = to_utc(start, zone), to_utc(end, zone)
    exact = _exact_end(start, source, zone)
    if exact is not None:
        end_utc = exact
    if end_utc <= start_utc:
        return None
    return start_utc, end_utc


def _exact_end(
    start: dt.date, source: icalendar.cal.Component, zone: dt.tzinfo
) -> dt.datetime | None:
    """The end of an occurrence whose event has a DURATION with hours, minutes or seconds.

    Decision (issue 15, "Exact durations"): an event ends where the member's calendar app shows
    it ending.

    - A DTEND ends at its wall-clock time on every occurrence: a weekly Saturday 22:00–06:00 in
      New York ends at 06:00 on the night the clocks go forward (03:00Z–10:00Z, 7 hours) and
      back (02:00Z–11:00Z, 9 hours). RFC 5545 §3.8.5.3 would keep the first occurrence's exact
      length instead, but the apps that write DTEND show the wall-clock end: Google Calendar
      stores an event's end as a local time with its own zone, "the time zone in which the
      recurrence is expanded" (Calendar API, EventDateTime.timeZone); Mozilla's ical.js
      (Thunderbird) adds the length to the wall clock, and agrees with calroulette on every DST
      week of tests/test_crosscheck.py. recurring-ical-events gives this: no adjustment.
    - A DURATION's hours, minutes and seconds are exact, its days and weeks nominal (RFC 5545
      §3.3.6, §3.8.5.3): DURATION:PT8H from Saturday 22:00 in New York is 03:00Z–11:00Z on the
      night the clocks go forward. Android's calendar (AOSP CalendarProvider, which keeps a
      repeating event's length as a DURATION) ends each occurrence at its begin plus the
      duration in milliseconds (CalendarInstancesHelper: ``dtendMillis = date + durationMillis``),
      so that is what its users see. recurring-ical-events adds the whole DURATION to the wall
      clock (03:00Z–10:00Z): this moves the end, on top of its start.

    Apple Calendar's display of either case could not be checked from a public source.
    """
    if "DURATION" not in source or "DTEND" in source or not isinstance(start, dt.datetime):
        return None
    duration = getattr(source.get("DURATION"), "dt", None)
    if not isinstance(duration, dt.timedelta) or duration <= dt.timedelta(0):
        return None
    exact = dt.timedelta(seconds=duration.seconds, microseconds=duration.microseconds)
    if not exact:
        return None  # whole days: nominal, as recurring-ical-events computes it
    return to_utc(start + dt.timedelta(days=duration.days), zone) + exact
