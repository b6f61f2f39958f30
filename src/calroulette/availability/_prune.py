"""Drop, as text, the VEVENTs that cannot reach a date window, before icalendar parses the feed.

A primary calendar exported from Google holds years of one-off meetings; parsing all of them costs
~1.4 s for a 2 MB feed, while the few that matter for one week parse in ~0.04 s. Pruning must never
change a result, so it is conservative: it drops a VEVENT only when

- it has no RRULE, RDATE or RECURRENCE-ID, and its UID is on no other component (a recurring
  master and its overrides are always kept together, and so are one-offs sharing a UID), and
- its DTSTART (and DTEND, or a simple DURATION) can be read cheaply as a date, and
- every line of it (and of its VALARMs) is one that cannot make the whole feed fail: a
  well-formed name and parameters, no VALUE parameter, a property whose value is text, or a
  date-time, integer or duration that reads as one. Anything else (GEO, EXDATE, a second
  DTSTART, a nested component other than VALARM …) keeps the event: icalendar would call the
  feed malformed, and dropping the event would hide that. A broken VALARM is only a note, but a
  note is part of the result, so it is kept too; and
- it ends before, or starts after, the window widened by two days on each side (more than any
  zone's offset from UTC, so floating, zoned and all-day values are all safe).

Anything else, including every non-VEVENT component (VTIMEZONE, VTODO …) and every line outside
a VEVENT, is kept byte for byte.

Speed matters because a heavy feed holds thousands of events of a few lines each, nearly all of
them dropped, so every line of them is read. What a line's name and parameters decide (which
property it is, and whether its value can matter) is worked out once per feed for each distinct
name; only the values of date-times, integers and durations are looked at, and those verdicts
are remembered too (every event of a Google export has the same DTSTAMP).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

_MARGIN = dt.timedelta(days=2)
# Whole lines up to the first END:VEVENT line: the same blocks as ``BEGIN…\n.*?^END:VEVENT`` with
# re.S (whose ``^`` only holds at a line start anyway), found ~2.5x faster since the regex engine
# tries END:VEVENT once per line instead of once per byte.
_EVENT_RE = re.compile(
    rb"^BEGIN:VEVENT\r?\n(?:[^\n]*\n)*?END:VEVENT(?:\r?\n|\Z)", re.IGNORECASE | re.M
)
_FOLD_RE = re.compile(rb"\r?\n[ \t]")
# A DATE or DATE-TIME value, with what ``strip().rstrip(b"Zz")`` would remove around it, and
# only the times datetime() accepts (no leap second).
_MOMENT_RE = re.compile(rb"\s*(\d{8})(?:T((?:[01]\d|2[0-3])[0-5]\d[0-5]\d))?[Zz]*\s*")
_DATE_TIME_RE = re.compile(rb"\d{8}T\d{6}Z?")
_INTEGER_RE = re.compile(rb"[+-]?\d{1,9}")
_DURATION_RE = re.compile(
    rb"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$"
)
# A property name with well-formed parameters (RFC 5545 §3.1). A line that does not match may make
# icalendar or recurring-ical-events fail on the whole feed, so its event is never dropped.
_NAME_RE = re.compile(
    rb'^[A-Za-z0-9-]+(?:;[A-Za-z0-9-]+=(?:"[^"]*"|[^";:,]*)(?:,(?:"[^"]*"|[^";:,]*))*)*$'
)
_VALUE_PARAM_RE = re.compile(rb";VALUE=", re.IGNORECASE)
# Values icalendar reads as text (or a URI, an address): they never fail to parse.
_TEXT = frozenset(
    b"UID SUMMARY DESCRIPTION LOCATION STATUS TRANSP CLASS COMMENT CONTACT RELATED-TO RESOURCES "
    b"CATEGORIES ORGANIZER ATTENDEE URL ATTACH ACTION REQUEST-STATUS".split()
)
_DATE_TIMES = frozenset((b"DTSTAMP", b"CREATED", b"LAST-MODIFIED", b"ACKNOWLEDGED"))
_INTEGERS = frozenset((b"SEQUENCE", b"PRIORITY", b"REPEAT"))
_DURATIONS = frozenset((b"TRIGGER", b"DURATION"))
_SPAN = frozenset((b"DTSTART", b"DTEND"))  # read by _date_span
# At most once in an event; RRULE, RDATE, RECURRENCE-ID, EXDATE are in no list above, so an
# event with one is never dropped.
_SINGLE = frozenset((b"UID", b"DTSTART", b"DTEND", b"DURATION", *_DATE_TIMES, *_INTEGERS))


def prune_feed(body: bytes, first_day: dt.date, last_day: dt.date) -> bytes:
    """``body`` without the one-off VEVENTs that end before ``first_day`` or start after
    ``last_day`` (both inclusive, dates in any zone).

    >>> feed = b"\\n".join([b"BEGIN:VCALENDAR",
    ...     b"BEGIN:VEVENT", b"UID:old", b"DTSTART:20200101T100000Z", b"END:VEVENT",
    ...     b"BEGIN:VEVENT", b"UID:new", b"DTSTART:20261201T100000Z", b"END:VEVENT",
    ...     b"END:VCALENDAR"])
    >>> b"UID:old" in prune_feed(feed, dt.date(2026, 11, 30), dt.date(2026, 12, 6))
    False
    >>> b"UID:new" in prune_feed(feed, dt.date(2026, 11, 30), dt.date(2026, 12, 6))
    True
    """
    return prune_feeds(body, [(first_day, last_day)])[0]


def prune_feeds(body: bytes, windows: list[tuple[dt.date, dt.date]]) -> list[bytes]:
    """:func:`prune_feed` of ``body`` for each ``(first_day, last_day)`` of ``windows``, with
    the body read once (what the windows share: every line of every event)."""
    names: dict[bytes, _Name] = {}  # a few distinct names on thousands of lines: read each once
    events = [(m.start(), m.end(), _read_event(m.group(), names)) for m in _EVENT_RE.finditer(body)]
    if not events:
        return [body for _ in windows]
    uids = Counter(uid for _, _, (uid, _) in events)  # one-offs sharing a UID stay together
    return [_without(body, events, uids, first, last) for first, last in windows]


def _without(
    body: bytes,
    events: list[tuple[int, int, tuple[bytes | None, tuple[dt.date, dt.date] | None]]],
    uids: Counter[bytes | None],
    first_day: dt.date,
    last_day: dt.date,
) -> bytes:
    low, high = first_day - _MARGIN, last_day + _MARGIN
    kept: list[bytes] = []
    cursor = 0
    for begin, end, event in events:
        uid, span = event
        if span is None or uids[uid] != 1 or (span[1] >= low and span[0] <= high):
            continue
        kept.append(body[cursor:begin])
        cursor = end
    if cursor == 0:
        return body
    kept.append(body[cursor:])
    return b"".join(kept)


class _Name(NamedTuple):
    """What a line's name and parameters say, the same for every line with that name."""

    key: bytes  # the property: ``DTSTART`` for ``dtstart;TZID=Europe/Berlin``
    check: Callable[[bytes], bool] | None  # whether the line is harmless: None for always
    single: bool  # at most once in an event (on the event itself)


def _read_event(
    block: bytes, names: dict[bytes, _Name]
) -> tuple[bytes | None, tuple[dt.date, dt.date] | None]:
    """The event's UID, and its first and last date when it could be dropped (else ``None``).

    ``names`` remembers what each name (the part of a line before its value) says, across the
    feed's events. It only holds names that the line's first colon ends: a name with an odd
    number of quotes ends inside a quoted parameter value, so its line misses and is split
    again outside quotes."""
    if b"\n " in block or b"\n\t" in block:  # what _FOLD_RE finds, without a copy when it would not
        block = _FOLD_RE.sub(b"", block)
    uid: bytes | None = None
    top: dict[bytes, bytes] = {}  # DTSTART, DTEND, DURATION and the other single values
    droppable = True
    depth = 0
    for line in block.splitlines()[1:-1]:  # inside BEGIN/END:VEVENT
        name, _, value = line.partition(b":")
        known = names.get(name)
        if known is None:
            if name.count(b'"') % 2:  # that colon is inside a quoted parameter value
                name, _, value = _split(line)
                known = _read_name(name)  # rare, and not remembered: see the docstring
            else:
                known = names[name] = _read_name(name)
        key, check, single = known
        if key == b"BEGIN":
            depth += 1
            droppable = droppable and depth == 1 and value.strip().upper() == b"VALARM"
        elif key == b"END":
            depth -= 1
        else:
            if droppable and check is not None:  # once kept, only the UID is still needed
                droppable = check(value)
            if single and depth == 0:
                if key in top:  # icalendar returns a list, and expansion fails
                    droppable = False
                top[key] = value
                if key == b"UID":
                    uid = value.strip()
    if not droppable or depth != 0:
        return uid, None
    return uid, _date_span(top)


def _read_name(name: bytes) -> _Name:
    key = name.split(b";", 1)[0].strip().upper()
    return _Name(key, _check(key, name), key in _SINGLE)


def _check(key: bytes, name: bytes) -> Callable[[bytes], bool] | None:
    """How to tell whether a line with this name is harmless: it cannot make icalendar call the
    feed malformed, whatever the event's dates. None when every such line is; else a check of
    the line's value (:func:`_never` when none is)."""
    if not _NAME_RE.match(name):
        return _never
    if key in _SPAN:
        return None  # read by _date_span: an unreadable value keeps the event
    if _VALUE_PARAM_RE.search(name):
        return _never  # VALUE= changes how icalendar reads the value
    if key in _TEXT or key.startswith(b"X-"):
        return None
    if key in _DATE_TIMES:
        return _is_date_time
    if key in _INTEGERS:
        return _is_integer
    if key in _DURATIONS:
        return _is_duration
    return _never


def _never(value: bytes) -> bool:
    return False


@lru_cache(maxsize=256)
def _is_date_time(value: bytes) -> bool:
    return _DATE_TIME_RE.fullmatch(value) is not None and _read_moment(value) is not None


def _is_integer(value: bytes) -> bool:
    return _INTEGER_RE.fullmatch(value) is not None


@lru_cache(maxsize=256)
def _is_duration(value: bytes) -> bool:
    return _read_duration(value.strip().lstrip(b"+-")) is not None


def _split(line: bytes) -> tuple[bytes, bytes, bytes]:
    """Split ``NAME;PARAM="a:b":value`` at the first colon outside quotes."""
    name, colon, value = line.partition(b":")
    if b'"' not in name:
        return name, colon, value
    quoted = False
    for index, byte in enumerate(line):
        if byte == 0x22:  # "
            quoted = not quoted
        elif byte == 0x3A and not quoted:  # :
            return line[:index], b":", line[index + 1 :]
    return line, b"", b""


def _date_span(props: dict[bytes, bytes]) -> tuple[dt.date, dt.date] | None:
    """The event's first and last calendar date, or None when not cheaply and surely readable."""
    start = _read_moment(props.get(b"DTSTART"))
    if start is None:
        return None
    if b"DTEND" in props:
        end = _read_moment(props[b"DTEND"])
        if end is None or end[0] < start[0]:
            return None
        return start[1], end[1]
    if b"DURATION" in props:  # unsigned: never ends before it starts
        length = _read_duration(props[b"DURATION"].strip().lstrip(b"+"))
        if length is None:
            return None
        first = _as_datetime(*start)
        try:
            return first.date(), (first + length).date()
        except OverflowError:  # past year 9999: left to icalendar
            return None
    return start[1], start[1]


def _read_moment(value: bytes | None) -> tuple[bytes, dt.date] | None:
    """A DATE or DATE-TIME value as ``YYYYMMDDHHMMSS`` (a date at midnight) and its day, or
    None when it is not one. A UTC ``Z`` is ignored: the margin covers every zone.

    Moments (fixed-width digits) compare as the date-times they name, so thousands of events
    are read without building a datetime for each.
    """
    match = None if value is None else _MOMENT_RE.fullmatch(value)
    if match is None:
        return None
    digits, time = match.groups()
    day = _read_day(digits)
    return None if day is None else (digits + (time or b"000000"), day)


@lru_cache(maxsize=4096)
def _read_day(digits: bytes) -> dt.date | None:
    """``YYYYMMDD`` as a date; None when there is no such day. Many events share a day."""
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def _as_datetime(moment: bytes, day: dt.date) -> dt.datetime:
    """A moment as a naive datetime, on purpose: only its calendar date is used."""
    hour, minute, second = int(moment[8:10]), int(moment[10:12]), int(moment[12:14])
    return dt.datetime(day.year, day.month, day.day, hour, minute, second)  # noqa: DTZ001


def _read_duration(value: bytes) -> dt.timedelta | None:
    match = _DURATION_RE.match(value)
    if match is None or not any(match.groups()):
        return None
    weeks, days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    try:
        return dt.timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:  # more than a million days: leave it to icalendar
        return None
