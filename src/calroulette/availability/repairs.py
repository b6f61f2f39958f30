"""Named repairs of known vendor quirks, as text, before icalendar parses a feed.

Each repair is one function ``(text, notes) -> text`` that fixes one quirk a real calendar app
writes, so that the feed is read as that app means it. A repair changes nothing in a feed
without its quirk (each first looks for it with one cheap search) and adds one note to
``notes`` for what it changed, naming the event by its title and first date, or the zone.
They are not a parser: icalendar still reads every line.

:func:`repair_feed` applies them in order; :func:`calroulette.availability.parse_calendar`
calls it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from ._zone_names import WINDOWS_IDS, place_key

Repair = Callable[[bytes, list[str]], bytes]
NOTHING_TO_DO = "nothing to do: calroulette reads around it"


def repair_feed(text: bytes, notes: list[str]) -> bytes:
    """``text`` with every known quirk repaired; one note per repair in ``notes``."""
    for repair in REPAIRS:
        text = repair(text, notes)
    return text


# --- Exchange 2010: raw line breaks inside a text value --------------------------------------

# Every property name an iCalendar file may hold (RFC 5545, 7986, 7808, 7953, 9073, 9074, 9253),
# besides X- names. A line starting with anything else, inside a text value, is text.
_KNOWN = frozenset(
    b"""BEGIN END CALSCALE METHOD PRODID VERSION ATTACH CATEGORIES CLASS COMMENT DESCRIPTION GEO
    LOCATION PERCENT-COMPLETE PRIORITY RESOURCES STATUS SUMMARY COMPLETED DTEND DUE DTSTART
    DURATION FREEBUSY TRANSP TZID TZNAME TZOFFSETFROM TZOFFSETTO TZURL ATTENDEE CONTACT ORGANIZER
    RECURRENCE-ID RELATED-TO URL UID EXDATE EXRULE RDATE RRULE ACTION REPEAT TRIGGER CREATED
    DTSTAMP LAST-MODIFIED SEQUENCE REQUEST-STATUS NAME REFRESH-INTERVAL SOURCE COLOR IMAGE
    CONFERENCE TZUNTIL TZID-ALIAS-OF BUSYTYPE ACKNOWLEDGED PROXIMITY LOCATION-TYPE
    PARTICIPANT-TYPE RESOURCE-TYPE CALENDAR-ADDRESS STYLED-DESCRIPTION STRUCTURED-DATA LINK
    CONCEPT REFID""".split()
)
_TEXT_VALUES = frozenset(
    b"DESCRIPTION SUMMARY LOCATION COMMENT CONTACT RESOURCES CATEGORIES".split()
)
_NAME = re.compile(rb"([A-Za-z0-9-]+)[;:]")
# A line that is not a continuation (no leading space) and not a known property: the quick test.
_STRAY = re.compile(
    rb"^(?![ \t])(?!(?:X-[A-Za-z0-9-]*|" + b"|".join(sorted(_KNOWN)) + rb")[;:])",
    re.IGNORECASE | re.MULTILINE,
)


def join_exchange_raw_newlines(text: bytes, notes: list[str]) -> bytes:
    """Exchange Server 2010 writes the line breaks of a long DESCRIPTION raw, as new lines that
    do not start with a space (RFC 5545 §3.1 folds with a leading space, and §3.3.11 writes a
    break as ``\\n``). icalendar then reads each as a line that is not iCalendar, or as a
    property named by the text before its first colon (``Meeting ID: …``).

    Repair: a line that is neither a continuation nor a known property (RFC 5545 and later, or
    ``X-``), right after a text value (DESCRIPTION, SUMMARY, LOCATION, COMMENT …) or another
    such line, is that value's next line: it is joined with an escaped ``\\n``. Any other
    stray line is left for icalendar to report.

    Evidence: ics-parser's examples/issue-343.ics (an Exchange 2010 meeting invitation,
    github.com/u01jmg3/ics-parser/issues/343).
    """
    if _STRAY.search(text.rstrip(b"\r\n")) is None:
        return text
    lines = unfold(text).splitlines(keepends=True)
    out: list[bytes] = []
    owner: bytes | None = None  # the text property the lines so far belong to
    events: list[int] = []  # where in ``out`` each repaired event begins
    begin = 0
    for line in lines:
        body = line.rstrip(b"\r\n")
        if body[:1] in (b" ", b"\t"):
            out.append(line)
            continue
        match = _NAME.match(body)
        written = match.group(1) if match else b""
        name = written.upper()
        # Inside a text value, "Location: room 5" is text: exporters write names in capitals.
        known = (name in _KNOWN or name.startswith(b"X-")) and (owner is None or written.isupper())
        if known:
            owner = name if name in _TEXT_VALUES else None
            if name == b"BEGIN" and body[6:].strip().upper() == b"VEVENT":
                begin = len(out)
            out.append(line)
        elif owner is not None:
            ending = line[len(body) :] or b"\r\n"
            out[-1] = out[-1].rstrip(b"\r\n") + b"\\n" + body + ending
            if not events or events[-1] != begin:
                events.append(begin)
        else:
            out.append(line)
    if not events:
        return text
    repaired = b"".join(out)
    for start in events:
        notes.append(
            f"{describe_block(b''.join(out[start:]))}: its text had line breaks written raw "
            f"(as Exchange 2010 does); read as one text ({NOTHING_TO_DO})"
        )
    return repaired


# --- Google: a DATE ending in Z in an all-day series' RDATE/EXDATE ---------------------------

_DATE_Z_LINE = re.compile(
    rb"^(RDATE|EXDATE)((?:;[^:\r\n]*)?):(\d{8}Z(?:,\d{8}Z)*)[ \t]*(\r?)$",
    re.IGNORECASE | re.MULTILINE,
)
_VEVENT = re.compile(rb"^BEGIN:VEVENT\r?$.*?^END:VEVENT\r?$", re.IGNORECASE | re.M | re.S)
_DATE_START = re.compile(rb"^DTSTART(?:;[^:\r\n]*)?:\d{8}[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)


def strip_google_date_z(text: bytes, notes: list[str]) -> bytes:
    """Google Calendar writes the extra dates of an all-day series as ``RDATE:20131210Z``: a
    DATE with a UTC ``Z``, which is neither a DATE nor a DATE-TIME (RFC 5545 §3.3.4, §3.3.5),
    so icalendar reads the whole RDATE as malformed.

    Repair: in an event whose DTSTART is a DATE, an RDATE or EXDATE whose every value is
    ``YYYYMMDDZ`` becomes ``;VALUE=DATE:YYYYMMDD``: the day, like the series' other days.

    Evidence: gcal_sync had to convert these from Google's API to DTSTART's form
    (github.com/allenporter/gcal_sync/pull/176); seen in a Google export from 2013.
    """
    if _DATE_Z_LINE.search(text) is None:
        return text
    changed: list[bytes] = []

    def fix_event(block: re.Match[bytes]) -> bytes:
        event = block.group(0)
        if _DATE_START.search(event) is None:
            return event

        def fix_line(line: re.Match[bytes]) -> bytes:
            name, params, values, ending = line.groups()
            if b"VALUE=" in params.upper():
                return line.group(0)
            days = values.replace(b"Z", b"").replace(b"z", b"")
            return name + params + b";VALUE=DATE:" + days + ending

        fixed = _DATE_Z_LINE.sub(fix_line, event)
        if fixed != event:
            changed.append(fixed)
        return fixed

    text = _VEVENT.sub(fix_event, unfold(text))
    for event in changed:
        notes.append(
            f"{describe_block(event)}: its extra dates were written as dates with a 'Z' "
            f"(as Google Calendar does); read as whole days ({NOTHING_TO_DO})"
        )
    return text


# --- Outlook: a display name as TZID, with no VTIMEZONE --------------------------------------

_MAYBE_DISPLAY_TZID = re.compile(rb';TZID="?\(', re.IGNORECASE)
_DISPLAY_TZID = re.compile(rb';TZID=(?:"(\([^"\r\n]*)"|(\([^;:\r\n]*))(?=[;:])', re.IGNORECASE)
_DEFINED_TZID = re.compile(rb"^TZID:([^\r\n]*)", re.IGNORECASE | re.MULTILINE)
_BARE_OFFSET = re.compile(r"^\((?:UTC|GMT)\s*([+-])\s*(\d{1,2}):?(\d{2})\)$", re.IGNORECASE)
_BEGIN_CALENDAR = re.compile(rb"^BEGIN:VCALENDAR[ \t]*\r?\n", re.IGNORECASE | re.MULTILINE)


def map_outlook_display_zones(text: bytes, notes: list[str]) -> bytes:
    """Outlook (2007–2013, Outlook Web Access) may name a zone by its Windows display name,
    ``TZID="(UTC-05:00) Eastern Time (US & Canada)"``, and write no VTIMEZONE for it: icalendar
    cannot resolve the name and reads the times as floating.

    Repair, for each such TZID that no VTIMEZONE of the feed defines:

    - a display name Windows uses (or used) is mapped to its Windows zone ID
      (:mod:`._zone_names`) and that to its IANA zone (CLDR's table, as icalendar ships it), and
      the TZID replaced by the IANA name, with a note;
    - a bare offset, ``(GMT +01:00)``, says nothing about summer time: it is read as that fixed
      offset all year (a VTIMEZONE with that offset is added), with a warning that summer times
      may be an hour off.

    Anything else is left alone, and an event using it is refused when it reaches the week.

    Evidence: node-ical's test files Office-2012-owa.ics, windows-quoted-tz-rrule.ics and
    music-school-weekly-until.ics (github.com/jens-maus/node-ical), and node-ical's own table of
    these names (build/windowsZonesOld.json).
    """
    if _MAYBE_DISPLAY_TZID.search(text) is None:  # on a TZID line's first 75 octets
        return text
    original, text = text, unfold(text)  # a long TZID parameter may be folded (RFC 5545 §3.1)
    found = {(m.group(1) or m.group(2)) for m in _DISPLAY_TZID.finditer(text)}
    defined = {m.group(1).strip() for m in _DEFINED_TZID.finditer(text)}
    mapped: dict[bytes, str] = {}
    fixed: dict[bytes, tuple[str, str]] = {}
    for raw in sorted(found - defined):
        name = raw.decode("utf-8", "replace").strip()
        zone = display_name_zone(name)
        if zone is not None:
            mapped[raw] = zone
            notes.append(
                f"time zone {name[:60]!r} (an Outlook display name) read as {zone!r} "
                f"({NOTHING_TO_DO})"
            )
            continue
        offset = _BARE_OFFSET.match(name)
        if offset is not None and int(offset.group(2)) <= 14 and int(offset.group(3)) < 60:
            sign, hours, minutes = offset.groups()
            fixed[raw] = (name, f"{sign}{int(hours):02d}{minutes}")
            notes.append(
                f"time zone {name[:60]!r} gives only an offset from UTC: read as UTC{sign}"
                f"{int(hours):02d}:{minutes} all year, so times in summer may be an hour off "
                "(in Outlook, choose a named time zone for the event, or export with time zone "
                "definitions)"
            )
    if not mapped and not fixed:
        return original

    def replace(match: re.Match[bytes]) -> bytes:
        raw = match.group(1) or match.group(2)
        zone = mapped.get(raw)
        return match.group(0) if zone is None else b";TZID=" + zone.encode()

    text = _DISPLAY_TZID.sub(replace, text)
    if fixed:
        zones = b"".join(_fixed_zone(name, offset) for name, offset in fixed.values())
        start = _BEGIN_CALENDAR.search(text)
        at = start.end() if start is not None else 0
        text = text[:at] + zones + text[at:]
    return text


def display_name_zone(name: str) -> str | None:
    """The IANA zone of a Windows display name (``(UTC+10:00) Canberra, Melbourne, Sydney`` →
    ``Australia/Sydney``), or None."""
    windows_id = WINDOWS_IDS.get(place_key(name))
    zone = WINDOWS_TO_OLSON.get(windows_id) if windows_id is not None else None
    if zone is None:
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return zone


def _fixed_zone(name: str, offset: str) -> bytes:
    tzid = name.replace("\\", "").replace("\r", "").replace("\n", "")
    return (
        "BEGIN:VTIMEZONE\r\n"
        f"TZID:{tzid}\r\n"
        "BEGIN:STANDARD\r\n"
        "DTSTART:16010101T000000\r\n"
        f"TZOFFSETFROM:{offset}\r\n"
        f"TZOFFSETTO:{offset}\r\n"
        "END:STANDARD\r\n"
        "END:VTIMEZONE\r\n"
    ).encode()


_FOLD = re.compile(rb"\r?\n[ \t]")


def unfold(text: bytes) -> bytes:
    """RFC 5545 §3.1: a line break followed by a space or tab is no break (as icalendar reads
    it)."""
    return _FOLD.sub(b"", text)


# --- naming an event from its text -----------------------------------------------------------

_SUMMARY_LINE = re.compile(rb"^SUMMARY(?:;[^:\r\n]*)?:([^\r\n]*)", re.IGNORECASE | re.MULTILINE)
_START_LINE = re.compile(rb"^DTSTART(?:;[^:\r\n]*)?:\s*(\d{4})(\d{2})(\d{2})", re.I | re.M)


def describe_block(block: bytes) -> str:
    """``event 'Team Meeting' (first on 2024-09-23)``, from the text of one VEVENT (the first in
    ``block``): how a member finds it in their calendar app."""
    end = re.search(rb"^END:VEVENT", block, re.IGNORECASE | re.MULTILINE)
    event = block[: end.end()] if end is not None else block
    summary = _SUMMARY_LINE.search(event)
    title = summary.group(1).decode("utf-8", "replace").strip() if summary else ""
    start = _START_LINE.search(event)
    day: dt.date | None = None
    if start is not None:
        try:
            day = dt.date(*(int(part) for part in start.groups()))
        except ValueError:
            day = None
    return event_name(title, day)


def event_name(title: str, day: dt.date | None) -> str:
    """``event 'Lunch' (first on 2026-12-01)``, ``an untitled event (first on …)``: the form
    :mod:`.rules` names events in too; printable text only, shortened."""
    shown = "".join(
        ch for ch in title.strip().replace("\\,", ",").replace("\\;", ";") if ch.isprintable()
    )
    shown = shown if len(shown) <= 40 else shown[:39] + "…"
    name = f"event {shown!r}" if shown else "an untitled event"
    return f"{name} (first on {day.isoformat()})" if day is not None else name


REPAIRS: tuple[Repair, ...] = (
    join_exchange_raw_newlines,
    strip_google_date_z,
    map_outlook_display_zones,
)
