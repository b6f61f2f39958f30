"""Occurrences of a parsed calendar's events near a week: the one call into recurring-ical-events.

It also applies X-WR-TIMEZONE (see :func:`_apply_x_wr_timezone`) and refuses times whose zone
could not be resolved.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from typing import Any

import icalendar
import recurring_ical_events
import x_wr_timezone

from calroulette.errors import FeedError
from calroulette.timeutil import load_zone

from .parse import TIME_PROPS, WARNINGS_LOCK, as_list, warning_note


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


def occurrences(
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
        with WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            standard = _apply_x_wr_timezone(calendar, email)
            query: Any = recurring_ical_events.CalendarQuery(standard)
            found: list[icalendar.cal.Component] = list(query.between(start, end))
        notes.extend(warning_note(w.message) for w in caught)
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


def check_zones(calendar: icalendar.Calendar, uids: set[str], email: str, notes: list[str]) -> None:
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
        for name in TIME_PROPS:
            for prop in as_list(component.get(name)):
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


def _is_naive(prop: Any) -> bool:
    values = [prop.dt] if hasattr(prop, "dt") else [d.dt for d in getattr(prop, "dts", [])]
    for value in values:
        if isinstance(value, tuple):
            value = value[0]
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            return True
    return False
