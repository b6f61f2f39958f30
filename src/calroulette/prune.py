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
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

_MARGIN = dt.timedelta(days=2)
_EVENT_RE = re.compile(
    rb"^BEGIN:VEVENT\r?\n.*?^END:VEVENT(?:\r?\n|\Z)", re.IGNORECASE | re.M | re.S
)
_FOLD_RE = re.compile(rb"\r?\n[ \t]")
_DATE_RE = re.compile(rb"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?")
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
    lines: dict[bytes, tuple[bytes, bytes, bool]] = {}  # many lines repeat: read each once
    events = [(m.start(), m.end(), _read_event(m.group(), lines)) for m in _EVENT_RE.finditer(body)]
    if not events:
        return body
    uids = Counter(uid for _, _, (uid, _) in events)  # one-offs sharing a UID stay together
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


def _read_event(
    block: bytes, seen: dict[bytes, tuple[bytes, bytes, bool]]
) -> tuple[bytes | None, tuple[dt.date, dt.date] | None]:
    """The event's UID, and its first and last date when it could be dropped (else ``None``).

    ``seen`` remembers each line's name, value and harmlessness across the feed's events."""
    uid: bytes | None = None
    top: dict[bytes, bytes] = {}  # DTSTART, DTEND, DURATION and the other single values
    droppable = True
    depth = 0
    for line in _FOLD_RE.sub(b"", block).splitlines()[1:-1]:  # inside BEGIN/END:VEVENT
        known = seen.get(line)
        if known is None:
            name, _, value = _split(line)
            key = name.split(b";", 1)[0].strip().upper()
            known = seen[line] = (key, value, _harmless(key, name, value))
        key, value, harmless = known
        if key == b"BEGIN":
            depth += 1
            droppable = droppable and depth == 1 and value.strip().upper() == b"VALARM"
        elif key == b"END":
            depth -= 1
        else:
            droppable = droppable and harmless
            if depth == 0 and key in _SINGLE:
                if key in top:  # icalendar returns a list, and expansion fails
                    droppable = False
                top[key] = value
                if key == b"UID":
                    uid = value.strip()
    if not droppable or depth != 0:
        return uid, None
    return uid, _date_span(top)


def _harmless(key: bytes, name: bytes, value: bytes) -> bool:
    """A line that cannot make icalendar call the feed malformed, whatever the event's dates."""
    if not _NAME_RE.match(name):
        return False
    if key in _SPAN:
        return True  # read by _date_span: an unreadable value keeps the event
    if _VALUE_PARAM_RE.search(name):
        return False  # VALUE= changes how icalendar reads the value
    if key in _TEXT or key.startswith(b"X-"):
        return True
    if key in _DATE_TIMES:
        return _DATE_TIME_RE.fullmatch(value) is not None and _read_date(value) is not None
    if key in _INTEGERS:
        return _INTEGER_RE.fullmatch(value) is not None
    if key in _DURATIONS:
        return _read_duration(value.strip().lstrip(b"+-")) is not None
    return False


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
    start = _read_date(props.get(b"DTSTART"))
    if start is None:
        return None
    if b"DTEND" in props:
        end = _read_date(props[b"DTEND"])
    elif b"DURATION" in props:
        length = _read_duration(props[b"DURATION"].strip().lstrip(b"+"))
        end = None if length is None else start + length
    else:
        end = start
    if end is None or end < start:
        return None
    return start.date(), end.date()


def _read_date(value: bytes | None) -> dt.datetime | None:
    if value is None:
        return None
    v = value.strip().rstrip(b"Zz")
    if _DATE_RE.fullmatch(v) is None:
        return None
    try:
        # Naive on purpose: only the calendar date is used, and the margin covers every zone.
        if len(v) == 8:
            return dt.datetime(int(v[:4]), int(v[4:6]), int(v[6:8]))  # noqa: DTZ001
        return dt.datetime(  # noqa: DTZ001
            int(v[:4]), int(v[4:6]), int(v[6:8]), int(v[9:11]), int(v[11:13]), int(v[13:15])
        )
    except ValueError:
        return None


def _read_duration(value: bytes) -> dt.timedelta | None:
    match = _DURATION_RE.match(value)
    if match is None or not any(match.groups()):
        return None
    weeks, days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return dt.timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
