"""Occurrences of a parsed calendar's events near a week: the one call into recurring-ical-events.

It also applies X-WR-TIMEZONE (see :func:`_apply_x_wr_timezone`), isolates a series the library
cannot expand (:class:`Unexpandable`) and finds times whose zone could not be resolved
(:func:`unknown_tzid`); :mod:`.rules` decides what each costs.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Unexpandable:
    """A series recurring-ical-events cannot expand: its components, and why (a clause)."""

    components: tuple[icalendar.cal.Component, ...]
    reason: str  # "has a repeat rule (RRULE) that cannot be read"
    action: str  # what to do in the member's calendar app: "set its repeat again"


def occurrences(
    calendar: icalendar.Calendar,
    email: str,
    start: dt.date,
    end: dt.date,
    notes: list[str],
    broken: list[Unexpandable] | None = None,
) -> Iterator[icalendar.cal.Component]:
    """Occurrences of VEVENTs overlapping ``[start, end)``, each a component with DTSTART/DTEND.

    The only call into recurring-ical-events (it ships no type information). When it cannot
    expand the calendar, each series (the events sharing a UID) is expanded on its own, so one
    broken series costs only itself: the ones that still fail go to ``broken`` for the rules
    to judge (:func:`.rules.free_time`). Without ``broken``, the first failure is the member's
    :class:`FeedError`. An unknown X-WR-TIMEZONE is always the whole calendar's error.
    """
    try:
        found = _expand(calendar, email, start, end, notes)
    except _ExpansionError as error:
        if broken is None:
            raise FeedError(email, "calendar", error.sentence()) from None
        found = []
        for group in _series(calendar):
            try:
                found.extend(_expand(_alone(calendar, group), email, start, end, notes))
            except _ExpansionError as failed:
                broken.append(Unexpandable(tuple(group), failed.reason, failed.fix))
    yield from found


class _ExpansionError(Exception):
    """recurring-ical-events failed; ``reason`` says what is wrong in the member's words."""

    def __init__(self, reason: str, fix: str) -> None:
        super().__init__(reason)
        self.reason, self.fix = reason, fix

    def sentence(self) -> str:
        return f"an event {self.reason} ({self.fix})"


def _expand(
    calendar: icalendar.Calendar, email: str, start: dt.date, end: dt.date, notes: list[str]
) -> list[icalendar.cal.Component]:
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
        raise _ExpansionError(
            "has a repeat rule (RRULE) that cannot be read", "set its repeat again"
        ) from None
    except recurring_ical_events.PeriodEndBeforeStart:
        raise _ExpansionError(
            "has an extra date (RDATE) that ends before it starts", "set its dates again"
        ) from None
    except Exception as exc:  # noqa: BLE001 - library messages may quote the raw feed body
        raise _ExpansionError(
            f"has dates that cannot be expanded ({type(exc).__name__})",
            "set its dates and repeat again, or re-create it",
        ) from None
    return found


def _series(calendar: icalendar.Calendar) -> list[list[icalendar.cal.Component]]:
    """The calendar's VEVENTs grouped by UID, in file order."""
    groups: dict[str, list[icalendar.cal.Component]] = {}
    for event in calendar.walk("VEVENT"):
        groups.setdefault(str(event.get("UID", "")), []).append(event)
    return list(groups.values())


def _alone(
    calendar: icalendar.Calendar, events: list[icalendar.cal.Component]
) -> icalendar.Calendar:
    """A calendar with ``calendar``'s properties and time zones and only ``events``."""
    alone = icalendar.Calendar()
    for name, value in calendar.items():
        alone[name] = value
    alone.subcomponents.extend(calendar.walk("VTIMEZONE"))
    alone.subcomponents.extend(events)
    return alone


def unknown_tzid(component: icalendar.cal.Component) -> str | None:
    """The first TZID of ``component`` that could not be resolved, shortened; else ``None``.

    icalendar silently reads a time with an unknown TZID as floating: a value with a TZID
    parameter that came back naive is one (even when X-WR-TIMEZONE would later localise it, so
    ask the component as parsed, not the occurrence).
    """
    for name in TIME_PROPS:
        for prop in as_list(component.get(name)):
            tzid = getattr(prop, "params", {}).get("TZID")
            if tzid and _is_naive(prop):
                return "".join(ch for ch in str(tzid) if ch.isprintable())[:60]
    return None


def note_guessed_zones(calendar: icalendar.Calendar, uids: set[str], notes: list[str]) -> None:
    """A "globally unique" TZID (``/freeassociation.sourceforge.net/Europe/Berlin``) that
    icalendar resolved by dropping the vendor prefix is noted, for the events in ``uids``:
    icalendar warns only on its first lookup in a process, so the note is made here, every time.
    """
    defined = {str(tz.get("TZID")) for tz in calendar.walk("VTIMEZONE")}
    for component in calendar.walk("VEVENT"):
        if str(component.get("UID", "")) not in uids:
            continue
        for name in TIME_PROPS:
            for prop in as_list(component.get(name)):
                tzid = getattr(prop, "params", {}).get("TZID")
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
