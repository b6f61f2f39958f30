"""Occurrences of a parsed calendar's events near a week: the one call into recurring-ical-events.

It also applies X-WR-TIMEZONE (see :func:`_apply_x_wr_timezone`), isolates a series the library
cannot expand (:class:`Unexpandable`) and finds times whose zone could not be resolved
(:func:`unknown_tzid`); :mod:`.rules` decides what each costs. :func:`occurrences_in_windows`
expands once across several weeks' windows (the horizon of :func:`.horizon.free_times`).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import icalendar
import recurring_ical_events
import x_wr_timezone
from recurring_ical_events.util import (
    convert_to_datetime,
    has_timezone,
    is_date,
    time_span_contains_event,
)

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


Window = tuple[dt.date, dt.date]  # [start, end), as :func:`occurrences` is asked


def occurrences_in_windows(
    calendar: icalendar.Calendar, email: str, windows: Sequence[Window]
) -> list[tuple[icalendar.cal.Component, tuple[int, ...]]] | None:
    """What :func:`occurrences` gives for each of ``windows`` (overlapping or adjacent), from one
    expansion across all of them: every occurrence, each with the indexes of the windows that
    recurring-ical-events' own test (``is_in_span``, which its ``between`` applies) puts it in.

    ``None`` when that one expansion fails or warns: then each window is to be asked alone (a
    failure or a warning can depend on how far the rules are walked; asked alone, a window
    gives exactly what it gives today). Otherwise each window's occurrences are exactly the
    ones ``between`` gives for it: the library walks each series' rules across the whole span
    (a superset of any window's walk, widened by the same amounts), computes every occurrence's
    start and end from its recurrence alone, and keeps those its test puts in the span; so an
    occurrence in a window is found, with the same times, by the larger walk. Only the order
    may differ (an override found by the walk in one and after it in the other):
    :func:`.horizon.free_times` checks that its answer does not depend on it.
    """
    if not windows:
        return []
    start = min(w[0] for w in windows)
    end = max(w[1] for w in windows)
    try:
        with WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            standard = _apply_x_wr_timezone(calendar, email)
            query: Any = recurring_ical_events.CalendarQuery(standard)
            between = getattr(query, "_occurrences_between", None)  # as ``between`` finds them
            if between is None:  # another version of the library: ask each window alone
                return None
            spans = _Spans(windows)
            found = []
            for occurrence in between(start, end):
                inside = spans.holding(occurrence.start, occurrence.end)
                if inside:  # as ``between`` makes it: a copy with this occurrence's times
                    found.append((occurrence.as_component(False), inside))
    except Exception:  # noqa: BLE001 - the plain path, window by window, says what went wrong
        return None
    if caught:
        return None
    return found


class _Spans:
    """Which windows recurring-ical-events' test puts an occurrence in: ``is_in_span(first,
    last)``, which is ``time_span_contains_event`` on the four values made comparable (dates
    become midnights in the zone of the occurrence's first aware value, or stay naive), with
    each window's values converted once per zone rather than once per occurrence."""

    def __init__(self, windows: Sequence[Window]) -> None:
        self.windows = windows
        self._converted: dict[tuple[bool, int], tuple[Any, list[tuple[Any, Any]]]] = {}

    def holding(self, start: Any, end: Any) -> tuple[int, ...]:
        # make_comparable's choice of zone: the first aware value; the windows are dates
        zone = None
        dates = True
        for value in (start, end):
            if not is_date(value):
                dates = False
                if has_timezone(value):
                    zone = value.tzinfo
                    break
        if dates:
            spans: list[tuple[Any, Any]] = list(self.windows)
        else:
            start, end = convert_to_datetime(start, zone), convert_to_datetime(end, zone)
            key = (dates, id(zone))
            kept = self._converted.get(key)
            if kept is None:  # the zone is kept with them: its id stays its own
                converted = [
                    (convert_to_datetime(a, zone), convert_to_datetime(b, zone))
                    for a, b in self.windows
                ]
                kept = self._converted[key] = (zone, converted)
            spans = kept[1]
        return tuple(
            i
            for i, (first, last) in enumerate(spans)
            if time_span_contains_event(first, last, start, end, True)
        )


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
        if str(component.get("UID", "")) in uids:
            notes.extend(_guessed(component, defined))


def guessed_zones(calendar: icalendar.Calendar) -> list[tuple[str, str]]:
    """Every note :func:`note_guessed_zones` can make, with its event's UID, in its order."""
    defined = {str(tz.get("TZID")) for tz in calendar.walk("VTIMEZONE")}
    return [
        (str(component.get("UID", "")), note)
        for component in calendar.walk("VEVENT")
        for note in _guessed(component, defined)
    ]


def _guessed(component: icalendar.cal.Component, defined: set[str]) -> list[str]:
    notes = []
    for name in TIME_PROPS:
        for prop in as_list(component.get(name)):
            tzid = getattr(prop, "params", {}).get("TZID")
            if tzid and str(tzid).startswith("/") and str(tzid) not in defined:
                zone = getattr(getattr(prop, "dt", None), "tzinfo", None)
                notes.append(
                    f"time zone {str(tzid)[:60]!r} read as {str(zone)!r} "
                    "(a guess from a globally unique TZID)"
                )
    return notes


def _is_naive(prop: Any) -> bool:
    values = [prop.dt] if hasattr(prop, "dt") else [d.dt for d in getattr(prop, "dts", [])]
    for value in values:
        if isinstance(value, tuple):
            value = value[0]
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            return True
    return False
