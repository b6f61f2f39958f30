"""An event's time properties after parsing: the checks and fixes that keep a contradictory or
repeated time from crashing expansion or being silently guessed, and how an event is named.

Split from :mod:`.parse`, which applies them (see :func:`.parse.parse_calendar`'s decisions).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import icalendar

from calroulette.errors import FeedError

from .repairs import event_name

# An event whose time is contradictory carries this; it is an error once it reaches the week.
PROBLEM = "X-CALROULETTE-PROBLEM"

_SINGLE_TIMES = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID")


def mark(event: icalendar.cal.Component, kind: str, text: str) -> None:
    """Mark ``event``'s time as contradictory (the first mark stays): :mod:`.rules` decides what
    it costs by ``kind``, its KIND parameter (``ends-before-start``, ``mixed-kinds``,
    ``date-with-time``, ``zone-and-utc`` or ``other``); ``text`` names the event and the fault."""
    if PROBLEM not in event:
        event.add(PROBLEM, text, parameters={"KIND": kind})


def collapse_repeats(event: icalendar.cal.Component, member: str) -> list[str]:
    """One value for each time property written more than once (icalendar returns a list, which
    recurring-ical-events cannot expand): the value, if all are the same; else the span that
    covers every reading (earliest start, latest end, longest duration), marked."""
    notes = []
    spread = dt.timedelta(0)
    for name in _SINGLE_TIMES:
        values = event.get(name)
        if not isinstance(values, list):
            continue
        del event[name]
        if len({ical(v) for v in values}) == 1:
            event[name] = values[0]
            notes.append(f"{describe(event)} has the same {name} twice; read once (nothing to do)")
            continue
        times: list[Any] = [getattr(v, "dt", None) for v in values]
        if len({_kind(t) for t in times}) != 1 or _kind(times[0]) == "other":
            event[name] = values[0]
            raise FeedError(
                member,
                "calendar",
                f"{describe(event)} has {len(values)} different {name} lines of different "
                "kinds, so its time is not known; fix or re-create it",
            )
        pick = max if name in ("DTEND", "DURATION") else min
        chosen = values[times.index(pick(times))]
        if name == "DTSTART":
            spread = max(times) - min(times)
        event[name] = chosen
        mark(event, "other", f"{describe(event)} has {len(values)} different {name} lines")
    if spread and "DURATION" in event and "DTEND" not in event:
        length = getattr(event["DURATION"], "dt", None)
        if isinstance(length, dt.timedelta):
            event.pop("DURATION")
            event.add("DURATION", length + spread)
    return notes


def _kind(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return "naive" if value.tzinfo is None else "aware"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, dt.timedelta):
        return "duration"
    return "other"


def check_kinds(event: icalendar.cal.Component, member: str) -> None:
    """A start, end or override that is not a date or a date-time (``DTSTART;VALUE=TIME``), or a
    DURATION that is not one: there is no time to read, so no answer."""
    for name in _SINGLE_TIMES:
        prop = event.get(name)
        if prop is None:
            continue
        kind = _kind(getattr(prop, "dt", None))
        expected = ("duration",) if name == "DURATION" else ("date", "naive", "aware")
        if kind not in expected:
            what = "a length of time" if name == "DURATION" else "a date, or a date and time"
            raise FeedError(
                member,
                "calendar",
                f"{describe(event)} has a {name} that is not {what} (in your calendar app, "
                "set its date and time again, or re-create it)",
            )


def turn_backwards_periods(event: icalendar.cal.Component) -> bool:
    """Turn each RDATE period that ends before it starts around (so that its occurrence covers
    the span the period names either way); whether there was one."""
    turned = False
    for prop in as_list(event.get("RDATE")):
        for value in getattr(prop, "dts", None) or ():
            period = getattr(value, "dt", None)
            if not isinstance(period, tuple) or len(period) != 2:
                continue
            start, end = period
            if isinstance(end, dt.timedelta):
                if end < dt.timedelta(0):
                    value.dt = (start + end, -end)
                    turned = True
            elif _kind(start) == _kind(end) and _kind(start) != "other" and end < start:
                value.dt = (end, start)
                turned = True
    return turned


def ical(prop: Any) -> bytes:
    """A property's value as text, to compare; never raises (a value icalendar can read but not
    write, such as a ``VALUE=TIME`` start, is compared by its repr)."""
    try:
        value = prop.to_ical()
    except Exception:  # noqa: BLE001 - only compared, never shown
        return repr(prop).encode("utf-8", "replace")
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")


def ends_before_start(event: icalendar.cal.Component) -> bool:
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


def mixed_kinds(event: icalendar.cal.Component) -> str | None:
    """A whole-day start with a timed end, or the other way round: a day, or those hours?"""
    start_prop: Any = event.get("DTSTART")
    end_prop: Any = event.get("DTEND")
    if start_prop is None or end_prop is None:
        return None
    start_is_time = isinstance(start_prop.dt, dt.datetime)
    end_is_time = isinstance(end_prop.dt, dt.datetime)
    if start_is_time == end_is_time:
        return None
    if start_is_time:
        return "its DTSTART is a date and time but its DTEND is a date"
    return "its DTSTART is a date but its DTEND is a date and time"


def describe(component: icalendar.cal.Component) -> str:
    """``event 'Lunch' starting 2026-12-01`` or ``time zone 'W. Europe'``: how a member finds
    it in their app; never its body (printable text only, shortened). The UID only when the
    event has neither a title nor a readable start."""
    name = str(component.name).upper()
    if name in ("VTIMEZONE", "STANDARD", "DAYLIGHT", "VCALENDAR") or name != "VEVENT":
        key = component.get("TZID") if name == "VTIMEZONE" else None
        kind = {"VTIMEZONE": "time zone", "VCALENDAR": "the calendar"}.get(name, name)
        if key is None:
            return kind if kind == "the calendar" else f"a {kind}"
        return f"{kind} {_shown(str(key))!r}"
    title = component.get("SUMMARY")
    title_text = str(title[0] if isinstance(title, list) else title) if title is not None else ""
    day = _first_day(component.get("DTSTART"))
    if not title_text.strip() and day is None and component.get("UID") is not None:
        return f"event {_shown(str(component.get('UID')))!r}"
    return event_name(title_text, day)


def _first_day(prop: Any) -> dt.date | None:
    """The date of a DTSTART (the first, when written twice), even an unreadable one."""
    if isinstance(prop, list):
        prop = prop[0] if prop else None
    try:
        value = getattr(prop, "dt", None)
    except Exception:  # noqa: BLE001 - icalendar's vBroken raises on .dt: read its text below
        value = None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    match = re.match(r"\s*(\d{4})(\d{2})(\d{2})", str(prop or ""))
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _shown(text: str) -> str:
    shown = "".join(ch for ch in text if ch.isprintable())
    return shown if len(shown) <= 40 else shown[:39] + "…"


def as_list(value: Any) -> Iterable[Any]:
    if value is None:
        return ()
    return value if isinstance(value, list) else (value,)
