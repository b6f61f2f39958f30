"""Is this body an iCalendar feed at all? A cheap structural sniff, shared by fetching and parsing.

Both :mod:`calroulette.feeds` (which must decide whether a download is good enough to keep as
the last good copy) and :mod:`calroulette.availability` (which parses it) need the same answer
with the same hint, so the sniff lives here, below both: it is pure (bytes in, a verdict out),
imports neither, and keeps the data flowing one way (feeds → availability).

>>> sniff(b"BEGIN:VCALENDAR\\r\\nEND:VCALENDAR\\r\\n") is None
True
>>> sniff(b"<!DOCTYPE html><html><body>Sign in</body></html>").what
'this looks like a web page, not a calendar'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

BOM = b"\xef\xbb\xbf"


class BodyKind(StrEnum):
    EMPTY = "empty"
    HTML = "html"
    JSON = "json"
    XML = "xml"  # a WebDAV/CalDAV multistatus response, usually
    OTHER = "other"
    TRUNCATED = "truncated"


@dataclass(frozen=True, slots=True)
class NotICalendar:
    """Why a body is not a usable iCalendar feed: what it is, and the one-line fix."""

    kind: BodyKind
    what: str
    fix: str
    joined: str = "({fix})"  # how the fix follows ``what`` in the one-line message

    def __str__(self) -> str:
        return f"{self.what} {self.joined.format(fix=self.fix)}"


def strip_preamble(body: bytes) -> bytes:
    """Drop a UTF-8 byte-order mark and leading blank space, which some exporters emit."""
    return body.lstrip(BOM + b" \t\r\n")


def sniff(body: bytes) -> NotICalendar | None:
    """``None`` when ``body`` is shaped like a VCALENDAR; otherwise what it is instead.

    Only the first and last few KB are looked at, so it costs nothing on a 20 MB feed. The
    content type is ignored: servers label iCalendar as text/plain or application/octet-stream.
    """
    text = strip_preamble(body)
    head = text[:512].lower()
    if not text:
        return NotICalendar(
            BodyKind.EMPTY, "the feed is empty", "check the calendar's iCal address"
        )
    if not head.startswith(b"begin:vcalendar"):
        if b"<html" in head or b"<!doctype" in head or b"<head" in head:
            return NotICalendar(
                BodyKind.HTML,
                "this looks like a web page, not a calendar",
                "use the calendar's secret iCal address, not its sharing or login page",
            )
        if head.startswith((b"{", b"[")):
            return NotICalendar(
                BodyKind.JSON, "this is JSON, not iCalendar", "use the calendar's iCal address"
            )
        if head.startswith(b"begin:vevent"):
            return NotICalendar(
                BodyKind.OTHER,
                "this is a single event (BEGIN:VEVENT), not a calendar feed (BEGIN:VCALENDAR);",
                "use the calendar's iCal address",
                "{fix}",
            )
        if head.startswith(b"<?xml") or b"multistatus" in head:
            return NotICalendar(
                BodyKind.XML,
                "this is an XML (WebDAV) response, not iCalendar",
                "for a CalDAV collection, add ?export to the address",
            )
        return NotICalendar(
            BodyKind.OTHER,
            "not an iCalendar file",
            "it does not start with BEGIN:VCALENDAR; use the calendar's iCal address",
        )
    if b"end:vcalendar" not in text[-4096:].lower():
        return NotICalendar(
            BodyKind.TRUNCATED,
            "the feed is truncated (no END:VCALENDAR);",
            "it will be read again on the next run",
            "{fix}",
        )
    return None


# A SUMMARY line, unfolded enough for the purpose: its value up to the end of the line.
_SUMMARY = re.compile(rb"^SUMMARY(?:;[^:\r\n]*)?:([^\r\n]*)", re.IGNORECASE | re.MULTILINE)
_EVENT = re.compile(rb"^BEGIN:VEVENT\s*$", re.IGNORECASE | re.MULTILINE)
# What free/busy-only shares put in place of a title, in the languages we have seen.
_BUSY_TITLES = {b"", b"busy", b"besetzt", b"occup\xc3\xa9", b"ocupado", b"occupato", b"bezet"}


def looks_free_busy_only(body: bytes) -> bool:
    """True when the feed has events but every title is stripped ("Busy" or empty).

    A calendar shared as "free/busy only" hides titles, so availability events (titled with the
    keyword) can never be recognised in it.

    >>> looks_free_busy_only(b"BEGIN:VEVENT\\nSUMMARY:Busy\\nEND:VEVENT\\nBEGIN:VEVENT\\n")
    True
    >>> looks_free_busy_only(b"BEGIN:VEVENT\\r\\nSUMMARY:Free for coffee\\r\\nEND:VEVENT")
    False
    """
    if not _EVENT.search(body):
        return False
    titles = {m.group(1).strip().lower() for m in _SUMMARY.finditer(body)}
    return titles <= _BUSY_TITLES
