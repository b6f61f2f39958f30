"""What a calendar app said about an invitation: the iTIP REPLY (RFC 5546 §3.2.3) inside an email
(iMIP, RFC 6047), read from the raw message. Pure: bytes in, a :class:`Reading` out.

Calendar apps do not agree on where the reply goes, so every part of the message is looked at:

- Gmail: ``multipart/mixed`` holding ``multipart/alternative`` (text, HTML and
  ``text/calendar; method=REPLY``) and the same calendar again as ``invite.ics``
  (``application/ics``, base64).
- Outlook and Exchange: ``multipart/alternative`` with ``text/calendar; charset="utf-8";
  method=REPLY`` (often base64), the METHOD sometimes only inside the calendar.
- Apple Calendar: a ``text/calendar`` attachment ``iCal-….ics`` (quoted-printable, with or
  without the ``method`` parameter) inside nested multiparts.
- Thunderbird: ``text/calendar; method=REPLY`` (8bit) plus an ``invite.ics`` attachment, or, in
  its compatibility mode, the calendar as the whole message.

The METHOD inside the calendar wins over the MIME parameter (RFC 6047 §2.4 says they must agree;
Outlook omits the parameter). A calendar that says REQUEST, CANCEL, COUNTER … is not a reply (a
forwarded invitation is a REQUEST). A message forwarded *as an attachment* (``message/rfc822``)
is not looked into: what it holds was said by someone else.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from enum import StrEnum

import icalendar

MAX_CALENDAR_BYTES = 512 * 1024  # one reply is a few KB; a bigger part is not a reply we read
CALENDAR_TYPES = frozenset({"text/calendar", "application/ics", "text/x-vcalendar"})
CALENDAR_SUFFIXES = (".ics", ".ical", ".icalendar", ".vcs")


class ReadingKind(StrEnum):
    REPLY = "reply"  # at least one readable REPLY
    OTHER_METHOD = "not-reply"  # a calendar with another METHOD (REQUEST, COUNTER, …)
    NOT_ITIP = "not-itip"  # no calendar in it at all
    UNREADABLE = "unreadable"  # a calendar part we could not read, and no readable REPLY


@dataclass(frozen=True, slots=True)
class Answer:
    """One attendee's answer to one meeting, as their calendar app wrote it."""

    uid: str
    attendee: str  # the ATTENDEE's address, lower-cased, without "mailto:"
    partstat: str  # upper-case PARTSTAT as written: ACCEPTED, DECLINED, TENTATIVE, NEEDS-ACTION …
    sequence: int  # SEQUENCE of the invitation answered (0 when absent, RFC 5545 §3.8.7.4)
    dtstamp: dt.datetime | None  # when the app wrote the reply (UTC), if it said


@dataclass(frozen=True, slots=True)
class Reading:
    """What one email holds, for the replies reader."""

    kind: ReadingKind
    sender: str  # the From address, lower-cased ("" when there is none)
    message_id: str  # the Message-ID header, printable, at most 200 characters ("" if none)
    answers: tuple[Answer, ...] = ()
    method: str = ""  # the calendar's METHOD when it is not REPLY
    detail: str = ""  # why a calendar part could not be read (our words, never the parser's)


def read_message(raw: bytes) -> Reading:
    """Read ``raw`` (an RFC 5322 message) for iTIP REPLY answers."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    sender = _sender(message)
    message_id = _printable(str(message.get("Message-ID", "") or ""))[:200]
    answers: list[Answer] = []
    methods: list[str] = []
    problems: list[str] = []
    for part in _leaves(message):
        if not _is_calendar(part):
            continue
        try:
            method, found = _read_part(part)
        except _Unreadable as exc:
            problems.append(str(exc))
            continue
        if method == "REPLY":
            answers += [a for a in found if a not in answers]
        elif method:
            methods.append(method)
    if answers:
        return Reading(ReadingKind.REPLY, sender, message_id, tuple(answers))
    if problems:
        return Reading(ReadingKind.UNREADABLE, sender, message_id, detail=problems[0])
    if methods:
        return Reading(ReadingKind.OTHER_METHOD, sender, message_id, method=methods[0])
    return Reading(ReadingKind.NOT_ITIP, sender, message_id)


class _Unreadable(Exception):
    """A calendar part that cannot be read; the message says why, in our words."""


def _leaves(part: Message) -> Iterator[Message]:
    """The non-multipart parts, depth first, without entering attached messages."""
    if part.get_content_maintype() == "message":
        return
    if part.is_multipart():
        payload = part.get_payload()
        for child in payload if isinstance(payload, list) else ():
            if isinstance(child, Message):
                yield from _leaves(child)
        return
    yield part


def _is_calendar(part: Message) -> bool:
    if part.get_content_type() in CALENDAR_TYPES:
        return True
    name = part.get_filename() or part.get_param("name") or ""
    return isinstance(name, str) and name.lower().endswith(CALENDAR_SUFFIXES)


def _read_part(part: Message) -> tuple[str, list[Answer]]:
    """The METHOD of one calendar part and, for a REPLY, its answers."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes) or not data.strip():
        raise _Unreadable("an empty calendar part")
    if len(data) > MAX_CALENDAR_BYTES:
        raise _Unreadable(f"a calendar part of {len(data) // 1024} KB (more than a reply)")
    text = _decode(data, part.get_content_charset())
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except Exception:  # noqa: BLE001 - icalendar raises many types; its messages quote the input
        raise _Unreadable("a calendar part that is not valid iCalendar") from None
    if not isinstance(calendar, icalendar.Calendar):
        raise _Unreadable("a calendar part that is not a VCALENDAR")
    inside = str(calendar.get("METHOD", "") or "").strip().upper()
    param = part.get_param("method")
    method = inside or (param.strip().upper() if isinstance(param, str) else "")
    if method != "REPLY":
        return method, []
    return method, _answers(calendar)


def _answers(calendar: icalendar.Calendar) -> list[Answer]:
    answers: list[Answer] = []
    events = [c for c in calendar.walk() if c.name in ("VEVENT", "VTODO")]
    if not events:
        raise _Unreadable("a REPLY without an event")
    for event in events:
        uid = str(event.get("UID", "") or "").strip()
        if not uid:
            raise _Unreadable("a REPLY without a UID")
        sequence = _sequence(event.get("SEQUENCE"))
        stamp = _stamp(event)
        attendees = event.get("ATTENDEE")
        if attendees is None:
            raise _Unreadable("a REPLY without an ATTENDEE")
        for attendee in attendees if isinstance(attendees, list) else [attendees]:
            address = _address(str(attendee))
            if not address:
                continue
            partstat = str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).strip().upper()
            answers.append(Answer(uid, address, partstat, sequence, stamp))
    if not answers:
        raise _Unreadable("a REPLY whose ATTENDEE has no email address")
    return answers


def _sequence(value: object) -> int:
    if value is None:
        return 0
    try:
        sequence = int(str(value).strip())
    except ValueError:
        raise _Unreadable("a REPLY with a SEQUENCE that is not a number") from None
    if sequence < 0:
        raise _Unreadable("a REPLY with a negative SEQUENCE")
    return sequence


def _stamp(event: icalendar.cal.Component) -> dt.datetime | None:
    """DTSTAMP in UTC; a missing or odd one is no reason to ignore the answer."""
    try:
        value = event.decoded("DTSTAMP")
    except (KeyError, ValueError, TypeError):
        return None
    if not isinstance(value, dt.datetime):
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _address(value: str) -> str:
    """``mailto:Ada@Example.org`` → ``ada@example.org``; anything else → ``""``."""
    value = value.strip()
    if value[:7].lower() != "mailto:":
        return ""
    address = value[7:].strip().lower()
    return address if "@" in address and _printable(address) == address else ""


def _decode(data: bytes, charset: str | None) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode(charset or "utf-8", errors="replace")
    except LookupError:  # an unknown charset name: iCalendar is UTF-8 (RFC 5545 §6)
        return data.decode("utf-8", errors="replace")


def _sender(message: Message) -> str:
    pairs = email.utils.getaddresses([str(v) for v in message.get_all("From", [])])
    for _, address in pairs:
        address = address.strip().lower()
        if "@" in address:
            return _printable(address)[:254]
    return ""


def _printable(text: str) -> str:
    """One line of printable text: what came from outside, safe to store and show."""
    return "".join(c for c in text.strip() if c.isprintable())
