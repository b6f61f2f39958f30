"""Feed body → icalendar.Calendar, refusing what cannot be read without guessing.

icalendar does the parsing; this adds the checks and repairs that decide whether its result can
be trusted (see :func:`parse_calendar` for each decision).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import warnings
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from icalendar.parser.ical.component import ComponentIcalParser

from calroulette.errors import FeedError
from calroulette.feedformat import sniff, strip_preamble

from ._times import (
    PROBLEM,
    as_list,
    check_kinds,
    collapse_repeats,
    describe,
    ends_before_start,
    ical,
    mark,
    mixed_kinds,
    turn_backwards_periods,
)
from .repairs import repair_feed

__all__ = ["PROBLEM", "TIME_PROPS", "WARNINGS_LOCK", "as_list", "parse_calendar", "warning_note"]

TIME_PROPS = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")
# warnings.catch_warnings swaps process-wide state; feeds are parsed in worker threads (fetching
# validates each body), so every block that records warnings holds this lock.
WARNINGS_LOCK = threading.RLock()


def parse_calendar(body: bytes, member: str, notes: list[str] | None = None) -> icalendar.Calendar:
    """Parse a feed body; a :class:`FeedError` with a hint when it is not a usable calendar.

    ``body`` is always data, never a file name: it is checked to start with ``BEGIN:VCALENDAR``
    before icalendar sees it (``Calendar.from_ical`` would read a :class:`~pathlib.Path`).

    Decisions (never guess silently):

    - Known vendor quirks are repaired as text first (:mod:`.repairs`), each with a note.
    - A malformed property that can change free time (:data:`_READ`: the times, repeat rules,
      title, transparency, status, attendees, UID and SEQUENCE of a VEVENT; a VTIMEZONE's
      offsets and rules) is an error for the member, naming the event by its title and first
      date: it may hide a busy time or a free slot, so no answer is better than a wrong one.
      Any other malformed property (CREATED, DTSTAMP, DESCRIPTION, ATTACH, X-…) cannot change
      free time: it is ignored with a note.
    - A time property written twice (two DTSTART lines): the same value is read once, with a
      note; different values are read as the span that covers them all, marked (:data:`PROBLEM`)
      so that the member is refused only in the weeks it reaches. A DTSTART, DTEND or DURATION
      that is not a time at all (``DTSTART;VALUE=TIME``) is an error.
    - An RDATE period that ends before it starts is marked, like a DTEND before DTSTART.
    - A malformed VALARM, VTODO, VJOURNAL or VFREEBUSY cannot change free time (calroulette never
      reads them), so it is ignored with a note in ``notes`` (an Outlook reminder written
      ``TRIGGER:PT-2H`` would otherwise lock a member out for good).
    - A VEVENT without DTSTART (allowed with METHOD) has no time to block or offer: ignored, noted.
    - A contradictory time is marked (:data:`PROBLEM`), to be an error when its event reaches
      the week rather than icalendar's silent pick: DTEND before DTSTART (which
      recurring-ical-events would swap), a TZID on a time ending in Z, VALUE=DATE with a time,
      a DTSTART and DTEND of different kinds (a date and a date-time).
    - An override whose series is not in the feed keeps its own RRULE/RDATE, with a note.
    - Two different events sharing a UID (same SEQUENCE, no RECURRENCE-ID) are both read, with a
      note; a higher SEQUENCE replaces a lower one.
    - Each feed's custom TZIDs are read with its own VTIMEZONEs (icalendar caches them by TZID
      for the whole process, first definition wins).
    - icalendar's warnings (e.g. a guessed globally unique TZID) go to ``notes``, never escape.
    """
    text = strip_preamble(body)
    problem = sniff(text)  # shared with feeds, which must not store a non-calendar as good
    if problem is not None:
        raise FeedError(member, "calendar", str(problem))
    repaired: list[str] = []
    text = repair_feed(text, repaired)
    with WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        calendar = _parse(text, member)
        found = [*repaired, *_check_components(calendar, member)]
        _mark_ambiguous_times(text, calendar)
        found.extend(_separate_duplicates(calendar))
        found.extend(_adopt_orphans(calendar))
        _use_own_zones(calendar)
    found[:0] = [
        warning_note(w.message)
        for w in caught
        if not issubclass(w.category, icalendar.GloballyUniqueTZIDGuessed)  # noted per event
    ]
    if notes is not None:
        notes.extend(found)
    return calendar


def _parse(text: bytes, member: str) -> icalendar.Calendar:
    try:
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


# The properties whose value can change free time, per component; a malformed other one is
# ignored with a note. A line that is not iCalendar at all ("") could be any of them.
_EVENT_READS = frozenset(
    {"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID"}
    | {"SUMMARY", "TRANSP", "STATUS", "ATTENDEE", "UID", "SEQUENCE"}
)
_ZONE_READS = frozenset(["TZID", "DTSTART", "TZOFFSETFROM", "TZOFFSETTO", "RRULE", "RDATE"])
_READ = {
    "VEVENT": _EVENT_READS,
    "VTIMEZONE": _ZONE_READS,
    "STANDARD": _ZONE_READS,
    "DAYLIGHT": _ZONE_READS,
    "VCALENDAR": frozenset({"X-WR-TIMEZONE"}),
}


def _check_components(calendar: icalendar.Calendar, member: str) -> list[str]:
    """Raise for a malformed VEVENT/VTIMEZONE; drop DTSTART-less events; return notes."""
    notes: list[str] = []
    for component in calendar.walk():
        errors = getattr(component, "errors", None)
        if not errors:
            continue
        name = str(component.name).upper()
        reads = _READ.get(name)
        for prop, _ in errors:
            what = f"a malformed {prop}" if prop else "a line that is not iCalendar"
            if reads is None or (prop and str(prop).upper() not in reads):
                notes.append(
                    f"{describe(component)}: ignored {what}, which does not affect free time "
                    "(nothing to do: calroulette reads around it)"
                )
                continue
            raise FeedError(
                member, "calendar", f"{describe(component)} has {what}; fix or re-create it"
            )
    for event in list(calendar.subcomponents):
        if event.name != "VEVENT":
            continue
        if "DTSTART" not in event:
            calendar.subcomponents.remove(event)
            notes.append(f"ignored {describe(event)}: it has no start time (DTSTART)")
            continue
        notes.extend(collapse_repeats(event, member))
        check_kinds(event, member)
        if ends_before_start(event):
            # recurring-ical-events would silently swap the two: a guess about a typo.
            mark(event, "ends-before-start", f"{describe(event)} ends before it starts")
        elif (mixed := mixed_kinds(event)) is not None:
            # RFC 5545 §3.8.2.2: the same kind; icalendar reads the date as local midnight.
            mark(event, "mixed-kinds", f"{describe(event)}: {mixed}; fix its start or end")
        elif turn_backwards_periods(event):
            mark(
                event,
                "ends-before-start",
                f"{describe(event)}: one of its extra dates (RDATE) ends before it starts",
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
# What every match of _TZID_AND_Z has (a time property's line with a TZID, then a UTC time), found
# without its backtracking: _TZID_AND_Z tries every split of each zoned line's TZID before it
# fails, ~0.3 ms for a small feed with none.
_MAYBE_TZID_AND_Z = re.compile(
    rb"^(?:DTSTART|DTEND|RECURRENCE-ID|EXDATE|RDATE)[^\r\n]*;TZID=[^\r\n]*\d{8}T\d{6}Z",
    re.IGNORECASE | re.MULTILINE,
)


# VALUE=DATE with a time part: a whole day, or that time? icalendar silently reads the time.
_DATE_WITH_TIME = re.compile(
    rb"^(DTSTART|DTEND|RECURRENCE-ID|EXDATE|RDATE)[^:\r\n]*;VALUE=DATE(?=[;:])[^:\r\n]*:"
    rb"[^\r\n]*\d{8}T\d",
    re.IGNORECASE | re.MULTILINE,
)


_VEVENT_BLOCK = re.compile(rb"^BEGIN:VEVENT\s*$.*?^END:VEVENT\s*$", re.I | re.M | re.S)
_UID_LINE = re.compile(rb"^UID:([^\r\n]*)", re.I | re.M)


def _mark_ambiguous_times(text: bytes, calendar: icalendar.Calendar) -> None:
    """Mark the events whose times depend on which half of a contradictory value one believes.

    Read from the text, since icalendar keeps only its own pick. The mark (:data:`PROBLEM`)
    travels with every occurrence; :func:`calroulette.availability.free_time` turns it into an
    error when one reaches the week, so an ancient odd event does not lock a member out.
    """
    if _DATE_WITH_TIME.search(text) is None and _MAYBE_TZID_AND_Z.search(text) is None:
        return  # nearly every feed: no line anywhere, so no event, has either contradiction
    found: dict[str, tuple[str, str]] = {}
    for block in _VEVENT_BLOCK.finditer(text):
        lines = block.group(0)
        uid_match = _UID_LINE.search(lines)
        uid = uid_match.group(1).decode("utf-8", "replace").strip() if uid_match else ""
        if uid in found:
            continue
        date_with_time = _DATE_WITH_TIME.search(lines)
        if date_with_time:
            name = date_with_time.group(1).decode("ascii").upper()
            found[uid] = ("date-with-time", f"its {name} says VALUE=DATE but has a time")
            continue
        for match in _TZID_AND_Z.finditer(lines):
            if match.group(2).strip().lower() not in _UTC_NAMES:
                name = match.group(1).decode("ascii").upper()
                found[uid] = ("zone-and-utc", f"its {name} has both a TZID and a UTC 'Z'")
                break
    if not found:
        return
    for event in calendar.walk("VEVENT"):
        why = found.get(str(event.get("UID", "")).strip())
        if why is not None:
            mark(event, why[0], f"{describe(event)}: {why[1]}, so its time is ambiguous")


_IDENTITY = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "SUMMARY", "TRANSP")


def _separate_duplicates(calendar: icalendar.Calendar) -> list[str]:
    """Two different events with one UID (and no RECURRENCE-ID) are read as two events, noted.

    RFC 5545 makes a UID unique to one event, so such a feed is wrong, but Outlook exports of
    copied meetings and merged calendars have them; recurring-ical-events would silently keep
    one of the two, dropping a free window or a meeting (a double booking). A higher SEQUENCE is
    a newer version of the same event (iTIP): the older one is left for recurring-ical-events to
    drop. Overrides stay with the first; exact copies are left alone.
    """
    masters: dict[str, list[icalendar.cal.Component]] = {}
    for event in calendar.walk("VEVENT"):
        if "RECURRENCE-ID" not in event:
            masters.setdefault(str(event.get("UID", "")), []).append(event)
    notes = []
    for uid, group in masters.items():
        if len(group) < 2:
            continue
        top = max(_sequence(e) for e in group)
        latest = [e for e in group if _sequence(e) == top]
        seen = {_identity(latest[0])}
        for k, event in enumerate(latest[1:], start=1):
            if _identity(event) in seen:
                continue
            seen.add(_identity(event))
            event["UID"] = icalendar.vText(f"{uid}#calroulette-duplicate-{k}")
            notes.append(
                f"{describe(latest[0])} appears more than once with different times or titles; "
                "each is read as an event of its own"
            )
    return list(dict.fromkeys(notes))


def _sequence(event: icalendar.cal.Component) -> int:
    try:
        return int(event.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        return 0


def _identity(event: icalendar.cal.Component) -> tuple[bytes, ...]:
    return tuple(b"".join(ical(p) for p in as_list(event.get(name))) for name in _IDENTITY)


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
                f"{describe(event)} changes a series that is not in the feed; "
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
        for name in TIME_PROPS:
            for prop in as_list(event.get(name)):
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


def warning_note(message: Warning | str) -> str:
    text = str(message).splitlines()[0] if str(message) else type(message).__name__
    return text[:200]
