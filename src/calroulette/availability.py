"""A member's calendar feed → their free time in one week, as merged UTC intervals.

The rules (member M, week W = [Monday 00:00, next Monday 00:00) in the community zone):

- A: occurrences of events whose SUMMARY contains M's keyword as a whole word (case-insensitive),
  unless the occurrence is STATUS:CANCELLED;
- B: occurrences of every other event that blocks time: TRANSP is OPAQUE or absent, STATUS is not
  CANCELLED, and M is not an ATTENDEE with PARTSTAT=DECLINED;
- free(M, W) = (A − B) clipped to W.

Parsing is icalendar's and recurrence expansion is recurring-ical-events'; this module only adds
the rules on top and the conversion of every value to UTC at one edge (:func:`timeutil.to_utc`).

Decisions, each with a fixture or test (fixtures/calendars/, tests/test_availability.py):

- Keyword: a whole word, case-insensitive; a word character may not touch it on either side, so
  "free-time" and "I'm free!" match, "Freelance", "carefree" and "free_time" do not.
- All-day (DATE) events cover the member's local day(s); floating times are read in the member's
  zone, unless the feed declares its own zone with X-WR-TIMEZONE (then that zone: see
  :func:`_apply_x_wr_timezone`).
- Never guess silently: an unknown TZID in an event that reaches the week, an unknown
  X-WR-TIMEZONE, a malformed VEVENT or VTIMEZONE anywhere, an event ending before it starts, a
  zoned time that also ends in Z, a VALUE=DATE with a time: each is a one-line
  :class:`FeedError` for that member only.
  What cannot change free time (a broken VALARM, an event with no DTSTART) is ignored and noted
  in :attr:`FreeTime.warnings`; so is an override whose series is not in the feed, read as a
  series of its own.
- Each feed is read with its own VTIMEZONE definitions (icalendar would share them by TZID
  across feeds); IANA TZIDs always mean the IANA zone.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import x_wr_timezone
from icalendar.parser.ical.component import ComponentIcalParser

from .config import Community, Member
from .errors import FeedError
from .feedformat import sniff, strip_preamble
from .intervals import Intervals, clip, merge, subtract
from .timeutil import IsoWeek, load_zone, to_utc

# Queried around the week, then clipped in UTC: a zone is at most 14 hours from UTC, so a
# member's local day can start up to a day before (or end a day after) the community's week.
_PAD = dt.timedelta(days=2)
_TIME_PROPS = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")


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


def parse_calendar(body: bytes, member: str, notes: list[str] | None = None) -> icalendar.Calendar:
    """Parse a feed body; a :class:`FeedError` with a hint when it is not a usable calendar.

    ``body`` is always data, never a file name: it is checked to start with ``BEGIN:VCALENDAR``
    before icalendar sees it (``Calendar.from_ical`` would read a :class:`~pathlib.Path`).

    Decisions (never guess silently):

    - A malformed VEVENT or VTIMEZONE anywhere in the feed is an error for the member, naming the
      event and property: it may hide a busy time or a free slot, so no answer is better than a
      wrong one.
    - A malformed VALARM, VTODO, VJOURNAL or VFREEBUSY cannot change free time (calroulette never
      reads them), so it is ignored with a note in ``notes`` (an Outlook reminder written
      ``TRIGGER:PT-2H`` would otherwise lock a member out for good).
    - A VEVENT without DTSTART (allowed with METHOD) has no time to block or offer: ignored, noted.
    - icalendar's warnings (e.g. a guessed globally unique TZID) go to ``notes``, never escape.
    """
    text = strip_preamble(body)
    problem = sniff(text)  # shared with feeds, which must not store a non-calendar as good
    if problem is not None:
        raise FeedError(member, "calendar", str(problem))
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            calendar = _FeedCalendar.from_ical(text)
    except UnicodeDecodeError:
        raise FeedError(
            member, "calendar", "the feed is not UTF-8 text; re-export the calendar"
        ) from None
    except Exception as exc:  # noqa: BLE001 - icalendar's messages quote the raw feed; never show them
        raise FeedError(
            member,
            "calendar",
            f"not valid iCalendar ({type(exc).__name__} in a property value or line); "
            "re-export the calendar",
        ) from None
    if not isinstance(calendar, icalendar.Calendar):
        raise FeedError(member, "calendar", "not an iCalendar VCALENDAR")
    found = [
        _warning_note(w.message)
        for w in caught
        if not issubclass(w.category, icalendar.GloballyUniqueTZIDGuessed)  # noted per event
    ]
    found.extend(_check_components(calendar, member))
    _check_tzid_with_z(text, member)
    found.extend(_adopt_orphans(calendar))
    _use_own_zones(calendar)
    if notes is not None:
        notes.extend(found)
    return calendar


class _TolerantAlarm(icalendar.Alarm):
    ignore_exceptions = True


class _TolerantTodo(icalendar.Todo):
    ignore_exceptions = True


class _TolerantJournal(icalendar.Journal):
    ignore_exceptions = True


class _TolerantFreeBusy(icalendar.FreeBusy):
    ignore_exceptions = True


_FACTORY = icalendar.ComponentFactory()
for _cls in (_TolerantAlarm, _TolerantTodo, _TolerantJournal, _TolerantFreeBusy):
    _FACTORY.add_component_class(_cls)


class _FeedParser(ComponentIcalParser):
    """Also tolerates values that parse but cannot be built (a FREEBUSY period ending before it
    starts) in the components calroulette never reads."""

    def parse_and_add_property(
        self, name: str, params: Any, val: str, tzid: Any, line: Any
    ) -> None:
        try:
            super().parse_and_add_property(name, params, val, tzid, line)
        except (ValueError, TypeError) as exc:
            component = self.component
            if component is None or str(component.name).upper() not in _IGNORED:
                raise
            component.errors.append((name, type(exc).__name__))


class _FeedCalendar(icalendar.Calendar):
    """icalendar's Calendar, parsing the components calroulette never reads error-tolerantly."""

    _components_factory = _FACTORY

    @classmethod
    def _get_ical_parser(cls, st: str | bytes) -> ComponentIcalParser:
        return _FeedParser(st, cls._get_component_factory(), cls.types_factory)


_IGNORED = {"VALARM", "VTODO", "VJOURNAL", "VFREEBUSY"}


def _check_components(calendar: icalendar.Calendar, member: str) -> list[str]:
    """Raise for a malformed VEVENT/VTIMEZONE; drop DTSTART-less events; return notes."""
    notes: list[str] = []
    for component in calendar.walk():
        errors = getattr(component, "errors", None)
        if not errors:
            continue
        name = str(component.name).upper()
        prop = errors[0][0]
        what = f"a malformed {prop}" if prop else "a line that is not iCalendar"
        if name in _IGNORED:
            notes.append(f"ignored a {name} with {what} (it does not affect free time)")
            continue
        raise FeedError(
            member, "calendar", f"{_describe(component)} has {what}; fix or re-create it"
        )
    for event in list(calendar.subcomponents):
        if event.name != "VEVENT":
            continue
        if "DTSTART" not in event:
            calendar.subcomponents.remove(event)
            notes.append(f"ignored {_describe(event)}: it has no start time (DTSTART)")
        elif _ends_before_start(event):
            # recurring-ical-events would silently swap the two: a guess about a typo.
            raise FeedError(
                member, "calendar", f"{_describe(event)} ends before it starts; fix its end time"
            )
    return notes


# A zoned time that also ends in Z (UTC): RFC 5545 forbids the TZID there, and icalendar reads
# it in the TZID's zone while others read UTC; the two differ by the zone's offset (unless the
# TZID is itself UTC).
_TZID_AND_Z = re.compile(
    rb"^(DTSTART|DTEND|RECURRENCE-ID|EXDATE|RDATE)[^:\r\n]*;TZID=\"?([^;:\"\r\n]*)\"?"
    rb"[^:\r\n]*:[^\r\n]*\d{8}T\d{6}Z",
    re.IGNORECASE | re.MULTILINE,
)
_UTC_NAMES = {b"utc", b"etc/utc", b"gmt", b"etc/gmt", b"z", b"zulu", b"universal"}


# VALUE=DATE with a time part: a whole day, or that time? icalendar silently reads the time.
_DATE_WITH_TIME = re.compile(
    rb"^(DTSTART|DTEND|RECURRENCE-ID|EXDATE|RDATE)[^:\r\n]*;VALUE=DATE(?=[;:])[^:\r\n]*:"
    rb"[^\r\n]*\d{8}T\d",
    re.IGNORECASE | re.MULTILINE,
)


def _check_tzid_with_z(text: bytes, member: str) -> None:
    """Times whose meaning depends on which half of a contradictory value one believes."""
    date_with_time = _DATE_WITH_TIME.search(text)
    if date_with_time:
        name = date_with_time.group(1).decode("ascii").upper()
        raise FeedError(
            member,
            "calendar",
            f"an event's {name} says VALUE=DATE but has a time, so it is ambiguous "
            "(fix or re-create that event)",
        )
    for match in _TZID_AND_Z.finditer(text):
        if match.group(2).strip().lower() in _UTC_NAMES:
            continue
        name = match.group(1).decode("ascii").upper()
        raise FeedError(
            member,
            "calendar",
            f"an event's {name} has both a TZID and a UTC 'Z', so its time is ambiguous "
            "(fix or re-create that event)",
        )


def _adopt_orphans(calendar: icalendar.Calendar) -> list[str]:
    """An override (RECURRENCE-ID) of a series the feed does not hold, with its own RRULE or
    RDATE, is read as a series of its own, with a note.

    Lotus Notes exports a meeting series this way (RECURRENCE-ID;RANGE=THISANDFUTURE plus the
    remaining dates as RDATE); as an override, recurring-ical-events would keep only its first
    occurrence and silently drop the rest. An orphan without RRULE/RDATE is one event anyway.
    """
    events = list(calendar.walk("VEVENT"))
    masters = {str(e.get("UID", "")) for e in events if "RECURRENCE-ID" not in e}
    orphans: dict[str, list[icalendar.cal.Component]] = {}
    for event in events:
        uid = str(event.get("UID", ""))
        if "RECURRENCE-ID" in event and uid not in masters:
            orphans.setdefault(uid, []).append(event)
    notes = []
    for group in orphans.values():
        event = group[0]
        if len(group) == 1 and ("RRULE" in event or "RDATE" in event):
            del event["RECURRENCE-ID"]
            notes.append(
                f"{_describe(event)} changes a series that is not in the feed; "
                "its dates are read as a series of their own"
            )
    return notes


def _use_own_zones(calendar: icalendar.Calendar) -> None:
    """Read every time with a custom TZID in the zone this feed's own VTIMEZONE defines.

    icalendar caches a zone built from a VTIMEZONE by its TZID for the whole process, and the
    first definition wins: without this, a member's "W. Europe Standard Time" would be read with
    whatever definition another member's feed (or an earlier run in the same process) gave that
    name. IANA TZIDs are left to zoneinfo, which icalendar prefers to any VTIMEZONE.
    """
    own: dict[str, dt.tzinfo] = {}
    for component in calendar.walk("VTIMEZONE"):
        if not isinstance(component, icalendar.Timezone):
            continue
        try:
            own[str(component["TZID"])] = component.to_tz(lookup_tzid=False)
        except Exception:  # noqa: BLE001, S112 - a VTIMEZONE icalendar cannot build: keep its own
            continue
    if not own:
        return
    for event in calendar.walk("VEVENT"):
        for name in _TIME_PROPS:
            for prop in _as_list(event.get(name)):
                zone = own.get(str(getattr(prop, "params", {}).get("TZID", "")))
                if zone is None:
                    continue
                for value in getattr(prop, "dts", None) or [prop]:
                    value.dt = _rezoned(value.dt, zone)


def _rezoned(value: Any, zone: dt.tzinfo) -> Any:
    if isinstance(value, tuple):  # an RDATE period: (start, end or duration)
        return tuple(_rezoned(part, zone) for part in value)
    aware = isinstance(value, dt.datetime) and value.tzinfo is not None
    if aware and not isinstance(value.tzinfo, ZoneInfo):
        return value.replace(tzinfo=zone)
    return value


def _ends_before_start(event: icalendar.cal.Component) -> bool:
    """DTEND before DTSTART, compared only when both are the same kind of value."""
    start_prop, end_prop = event.get("DTSTART"), event.get("DTEND")
    if end_prop is None:
        return False
    start, end = start_prop.dt, end_prop.dt
    if isinstance(start, dt.datetime) and isinstance(end, dt.datetime):
        if (start.tzinfo is None) != (end.tzinfo is None):
            return False
        return bool(end < start)
    if type(start) is dt.date and type(end) is dt.date:
        return end < start
    return False


def _describe(component: icalendar.cal.Component) -> str:
    """``event 'uid…'`` (the UID shortened, printable only): names a component, never its body."""
    kind = {"VEVENT": "event", "VTIMEZONE": "time zone"}.get(
        str(component.name).upper(), str(component.name)
    )
    key = component.get("TZID") if kind == "time zone" else component.get("UID")
    if key is None:
        return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
    shown = "".join(ch for ch in str(key) if ch.isprintable())
    shown = shown if len(shown) <= 40 else shown[:39] + "…"
    return f"{kind} {shown!r}"


def free_time(
    calendar: icalendar.Calendar,
    member: Member,
    week: IsoWeek,
    *,
    keyword: str,
    week_zone: dt.tzinfo,
) -> FreeTime:
    """Compute ``member``'s free time in ``week`` from a parsed calendar.

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
    for occurrence in _occurrences(calendar, member.email, local_start, local_end, notes):
        uids.add(str(occurrence.get("UID", "")))
        span = _span(occurrence, zone)
        if span is None or not (span[0] < week_end and span[1] > week_start):
            continue
        if _status(occurrence) == "CANCELLED":
            continue
        if pattern.search(str(occurrence.get("SUMMARY", ""))):
            free_spans.append(span)
            n_free += 1
        elif _blocks(occurrence, member.email):
            busy_spans.append(span)
            n_busy += 1
    _check_zones(calendar, uids, member.email, notes)
    free = clip(subtract(merge(free_spans), merge(busy_spans)), week_start, week_end)
    return FreeTime(member.email, week, free, n_free, n_busy, tuple(dict.fromkeys(notes)))


def free_times(
    community: Community,
    feeds: Mapping[str, bytes | FeedError],
    week: IsoWeek,
) -> dict[str, FreeTime | FeedError]:
    """Every member's free time in ``week``; a member's failure is a value, never an exception."""
    out: dict[str, FreeTime | FeedError] = {}
    for member in community.members:
        feed = feeds.get(member.email)
        if feed is None:
            out[member.email] = FeedError(member.email, "calendar", "not fetched")
        elif isinstance(feed, FeedError):
            out[member.email] = feed
        else:
            out[member.email] = member_free_time(feed, member, week, community)
    return out


def member_free_time(
    body: bytes, member: Member, week: IsoWeek, community: Community
) -> FreeTime | FeedError:
    """Parse and expand one feed body; errors come back as a value."""
    notes: list[str] = []
    try:
        calendar = parse_calendar(body, member.email, notes)
        result = free_time(
            calendar,
            member,
            week,
            keyword=community.keyword_for(member),
            week_zone=community.timezone,
        )
    except FeedError as error:
        return error
    if notes:
        result = replace(result, warnings=tuple(dict.fromkeys([*notes, *result.warnings])))
    return result


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
        address = str(attendee).strip()
        if address.lower().startswith("mailto:"):
            address = address[len("mailto:") :]
        if address.strip().lower() != email:
            continue
        params: Mapping[str, Any] = getattr(attendee, "params", {})
        if str(params.get("PARTSTAT", "")).strip().upper() == "DECLINED":
            return True
    return False


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


# --- expansion ----------------------------------------------------------------------------------


class _XWrTimezone(x_wr_timezone.UTCChangingWalker):  # type: ignore[misc]  # untyped library
    """x-wr-timezone's walker, but deciding "floating" and "UTC" by offset, not by name.

    The original takes any time whose zone has no name (``tzname() is None``) for floating. The
    zones icalendar builds from an Outlook VTIMEZONE have no TZNAME, so their times would be
    moved into the X-WR-TIMEZONE zone: wrong whenever the two zones differ.
    """

    def is_Floating(self, value: dt.datetime) -> bool:  # the library's name
        return value.tzinfo is None or value.utcoffset() is None

    def is_UTC(self, value: dt.datetime) -> bool:  # the library's name
        return value.utcoffset() == dt.timedelta(0) and str(value.tzname()).upper() == "UTC"


def _apply_x_wr_timezone(calendar: icalendar.Calendar, email: str) -> icalendar.Calendar:
    """Google's and Apple's X-WR-TIMEZONE, as recurring-ical-events' ``of()`` applies it.

    Decision: the property is the calendar's own zone, so floating times are read in it and UTC
    times are moved into it before their rules are expanded (a weekly 08:00Z event made in
    Berlin summer recurs at 10:00 Berlin time after the clocks change). Without the property,
    floating times are read in the member's zone. The original calendar is not changed.
    """
    name = calendar.get("X-WR-TIMEZONE")
    if name is None:
        return calendar
    try:
        zone = load_zone(str(name).strip())
    except ValueError:
        raise FeedError(
            email,
            "timezone",
            f"unknown time zone {str(name).strip()[:60]!r} in X-WR-TIMEZONE "
            "(set the calendar's time zone in its settings and export it again)",
        ) from None
    result: icalendar.Calendar = _XWrTimezone(zone).walk(calendar)
    return result


def _occurrences(
    calendar: icalendar.Calendar,
    email: str,
    start: dt.date,
    end: dt.date,
    notes: list[str],
) -> Iterator[icalendar.cal.Component]:
    """Occurrences of VEVENTs overlapping ``[start, end)``, each a component with DTSTART/DTEND.

    The only call into recurring-ical-events (it ships no type information).
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            standard = _apply_x_wr_timezone(calendar, email)
            query: Any = recurring_ical_events.CalendarQuery(standard)
            found: list[icalendar.cal.Component] = list(query.between(start, end))
        notes.extend(_warning_note(w.message) for w in caught)
    except FeedError:
        raise
    except recurring_ical_events.BadRuleStringFormat:
        raise FeedError(
            email,
            "calendar",
            "an event has a malformed repeat rule (RRULE); edit or re-create its recurrence",
        ) from None
    except recurring_ical_events.PeriodEndBeforeStart:
        raise FeedError(
            email, "calendar", "an event ends before it starts; fix its end time"
        ) from None
    except Exception as exc:  # noqa: BLE001 - library messages may quote the raw feed body
        raise FeedError(
            email,
            "calendar",
            f"cannot expand the calendar's events ({type(exc).__name__}); re-export the calendar",
        ) from None
    yield from found


def _warning_note(message: Warning | str) -> str:
    text = str(message).splitlines()[0] if str(message) else type(message).__name__
    return text[:200]


def _check_zones(
    calendar: icalendar.Calendar, uids: set[str], email: str, notes: list[str]
) -> None:
    """An unknown TZID silently parses as a floating time: report it instead of guessing.

    Only events that reach the queried window matter, so an ancient event in an odd zone does
    not stop a member's availability. (Sound because the query is padded by two days: an unknown
    zone is at most ~26 hours from the floating reading.)

    A "globally unique" TZID (``/freeassociation.sourceforge.net/Europe/Berlin``) that icalendar
    resolved by dropping the vendor prefix is noted: icalendar warns only on its first lookup in a
    process, so the note is made here, every time.
    """
    defined = {str(tz.get("TZID")) for tz in calendar.walk("VTIMEZONE")}
    for component in calendar.walk("VEVENT"):
        if str(component.get("UID", "")) not in uids:
            continue
        for name in _TIME_PROPS:
            for prop in _as_list(component.get(name)):
                tzid = getattr(prop, "params", {}).get("TZID")
                if tzid and _is_naive(prop):
                    raise FeedError(
                        email,
                        "timezone",
                        f"unknown time zone {str(tzid)[:60]!r} in an event "
                        "(use an IANA zone like 'Europe/Berlin', or export with VTIMEZONE)",
                    )
                if tzid and str(tzid).startswith("/") and str(tzid) not in defined:
                    zone = getattr(getattr(prop, "dt", None), "tzinfo", None)
                    notes.append(
                        f"time zone {str(tzid)[:60]!r} read as {str(zone)!r} "
                        "(a guess from a globally unique TZID)"
                    )


def _as_list(value: Any) -> Iterable[Any]:
    if value is None:
        return ()
    return value if isinstance(value, list) else (value,)


def _is_naive(prop: Any) -> bool:
    values = [prop.dt] if hasattr(prop, "dt") else [d.dt for d in getattr(prop, "dts", [])]
    for value in values:
        if isinstance(value, tuple):
            value = value[0]
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            return True
    return False
