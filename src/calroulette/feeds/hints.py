"""The one-line fix for a feed that failed: what the organizer or member should do about it.

Most failures have a generic fix (a 404 means the address is wrong or was reset), but a few
mistakes are common enough to recognise from the address or the response:

- Google's *public* address (``/calendar/ical/<id>/public/basic.ics``) instead of the secret one;
  for a calendar that is not public it answers 404 (or a login page);
- Outlook's "HTML" link (``…/owa/calendar/…/calendar.html``) instead of its ICS link;
- a CalDAV collection (Nextcloud, Radicale, Baïkal …) that answers a plain GET with 405, a
  WebDAV multistatus or a directory listing and needs ``?export`` to give iCalendar.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from calroulette.feedformat import BodyKind

_GOOGLE_PUBLIC = re.compile(r"^/calendar/ical/[^/]+/public/", re.IGNORECASE)
_CALDAV_PATH = re.compile(r"/(remote\.php/dav|dav\.php|caldav|calendars)/", re.IGNORECASE)

GOOGLE_PUBLIC = (
    "this is Google's public address: use the 'Secret address in iCal format' "
    "from the calendar's settings"
)
OUTLOOK_HTML = "this is Outlook's HTML link: use the ICS link (the address ending in .ics)"
CALDAV_EXPORT = "this looks like a CalDAV collection: add ?export to the address"


_TRAILING_FIX = re.compile(r"^(?P<what>.*?)\s*\((?P<fix>[^()]*)\)\s*$")


def split_fix(message: str) -> tuple[str, str]:
    """A message in the house shape, split into what happened and the fix in its last brackets.

    >>> split_fix("HTTP 404 from https://h/…/basic.ics (use the secret iCal address)")
    ('HTTP 404 from https://h/…/basic.ics', 'use the secret iCal address')
    >>> split_fix("an event ends before it starts; fix its end time")
    ('an event ends before it starts; fix its end time', '')
    """
    found = _TRAILING_FIX.match(message)
    return (found["what"], found["fix"]) if found else (message, "")


def address_hint(url: str) -> str | None:
    """A fix that follows from the address alone, whatever the server answered."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path
    if host == "calendar.google.com" and _GOOGLE_PUBLIC.match(path):
        return GOOGLE_PUBLIC
    if host.startswith("outlook.") and path.lower().endswith((".html", ".htm")):
        return OUTLOOK_HTML
    return None


def looks_like_collection(url: str, status: int | None, kind: BodyKind | None) -> bool:
    """A CalDAV/WebDAV collection answered instead of an iCalendar export."""
    parts = urlsplit(url)
    if "export" in parts.query.lower():
        return False
    if status in (405, 207) or kind is BodyKind.XML:
        return True
    collection_like = parts.path.endswith("/") or bool(_CALDAV_PATH.search(parts.path))
    return collection_like and kind is BodyKind.HTML


def status_hint(url: str, status: int) -> str:
    """The fix for an HTTP error status from ``url``."""
    specific = address_hint(url)
    if specific and status in (401, 403, 404, 410):
        return specific
    if looks_like_collection(url, status, None):
        return CALDAV_EXPORT
    if status in (401, 403):
        return "the server refused access: use the calendar's secret iCal address"
    if status in (404, 410):
        return "use the secret iCal address; it may have been reset, so copy it again"
    if status == 429:
        return "the server is rate-limiting; it is tried again on the next run"
    if status >= 500:
        return "the calendar server has a problem; it is tried again on the next run"
    return "check the calendar's iCal address"


def body_hint(url: str, kind: BodyKind, generic: str) -> str:
    """The fix for a body that is not iCalendar (``generic`` is the sniff's own fix)."""
    if kind is BodyKind.TRUNCATED:
        return generic
    if looks_like_collection(url, None, kind):
        return CALDAV_EXPORT
    return address_hint(url) or generic
