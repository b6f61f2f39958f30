"""A planned meeting → one iCalendar object and one email per recipient, in their own zone.

Pure: no network, no clock (``now`` comes in), no files. What goes out:

- **The calendar** (RFC 5546 iTIP carried by RFC 6047 iMIP): ``METHOD:REQUEST`` (or ``CANCEL``),
  one VEVENT with the meeting's stable UID, DTSTAMP, SEQUENCE, DTSTART/DTEND, SUMMARY, DESCRIPTION,
  ORGANIZER (the community's organizer, the same address as From so Accept/Decline replies reach
  a person) and one ATTENDEE per member. Times are written in **UTC** (``…Z``): a meeting is a
  single instance, so a TZID would add nothing but a VTIMEZONE that can disagree with the client's
  own rules; every client shows a UTC time in the reader's zone, and DST cannot shift it.
- **One email per recipient** (Gmail shows the invitation card only to an attendee in ``To:``),
  written in that recipient's zone with the partner's local time, the link, the alternatives and
  how to renegotiate. MIME (what Google Calendar itself sends)::

      multipart/mixed
        multipart/alternative
          text/plain
          text/html
          text/calendar; method=REQUEST; charset=UTF-8
        application/ics; name="invite.ics"  (attachment, the same calendar)

  The attachment is ``application/ics`` rather than a second ``text/calendar; method=…`` part so
  that clients which act on every iTIP part (older Outlook) do not see two invitations.
- **Headers** are built with :mod:`email.headerregistry` under ``policy.SMTP``: non-ASCII names are
  RFC 2047-encoded and a CR or LF in any header value raises instead of injecting a header
  (:mod:`calroulette.mime` assembles the message).
- The **Message-ID is deterministic** per delivery (meeting, recipient, kind, sequence): a message
  that is re-sent after a crash carries the same Message-ID, and mail systems collapse it.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import html
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from enum import StrEnum
from zoneinfo import ZoneInfo

import icalendar

from . import mime
from .config import Community, Member
from .matching import Meeting, Round, Unmatched
from .matching.model import is_left_out_reason
from .timeutil import IsoWeek, ensure_utc

PRODID = "-//calroulette//calroulette//EN"
MAX_ALTERNATIVES = 3


class Kind(StrEnum):
    """What a delivery carries; part of its key, so a cancel never collides with its request."""

    REQUEST = "request"
    CANCEL = "cancel"
    UNMATCHED = "unmatched"


class Channel(StrEnum):
    EMAIL = "email"
    DISCORD = "discord"


@dataclass(frozen=True, slots=True)
class DeliveryKey:
    """One delivery, sent exactly once: (meeting, recipient, channel, kind, sequence)."""

    meeting_uid: str
    recipient: str  # an email, or "webhook" for the Discord channel
    channel: Channel
    kind: Kind
    sequence: int

    def __str__(self) -> str:
        return f"{self.meeting_uid}|{self.recipient}|{self.channel}|{self.kind}|{self.sequence}"

    def message_id(self, domain: str) -> str:
        """``<hash@domain>``: the same for every attempt at this delivery, unique across them."""
        digest = hashlib.sha256(str(self).encode()).hexdigest()[:40]
        return f"<{digest}@{domain or 'calroulette.invalid'}>"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A rendered delivery: the bytes to hand to a transport, and the calendar they carry."""

    key: DeliveryKey
    payload: bytes  # an RFC 5322 message (email) or a JSON body (Discord)
    ics: bytes | None  # the iCalendar object, also written next to outbox files
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class _Person:
    name: str
    email: str
    zone: ZoneInfo
    discord_id: str | None = None


# --- the meeting link ---------------------------------------------------------------------------


def slug(text: str) -> str:
    """ASCII letters, digits and hyphens only: safe in a URL path and a Jitsi room name.

    >>> slug("Data Folk Coffee ☕ (Zürich)")
    'data-folk-coffee-zurich'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "coffee"


def room_token(uid: str) -> str:
    """A URL-safe room name for a meeting: SHA-256 of its UID, 120 bits in base32.

    The UID is unguessable (the matching step mixes the history's random secret into it), and so
    is this token; hashing also keeps ``@`` and other characters of the UID out of the URL.

    >>> token = room_token("m1@example.org")
    >>> len(token), token.isalnum(), token == token.lower(), token != room_token("m2@example.org")
    (24, True, True, True)
    """
    digest = hashlib.sha256(uid.encode()).digest()
    return base64.b32encode(digest[:15]).decode().lower()


def meeting_link(community: Community, week: IsoWeek, uid: str) -> str:
    """Render ``community.meeting_link``; every placeholder is URL-safe.

    ``{uid}`` becomes the meeting's unguessable room token, ``{community}`` the community's slug
    and ``{week}`` the ISO week (``2026-W49``).
    """
    return community.meeting_link.format(
        uid=room_token(uid), week=str(week), community=slug(community.name)
    )


# --- people and time ----------------------------------------------------------------------------


def _organizer(community: Community) -> Address:
    name, address = parseaddr(community.organizer)
    return _address(name or community.name, address or community.organizer_email)


def _address(name: str, email: str) -> Address:
    """An address with an internationalised domain in its ASCII (IDNA) form, which every server
    accepts; a non-ASCII local part stays as it is and needs SMTPUTF8 (see
    :meth:`calroulette.mime.Email.as_bytes`)."""
    local, _, domain = ascii_domain(email).partition("@")
    return Address(display_name=name, username=local, domain=domain)


def ascii_domain(email: str) -> str:
    """``zoë@exämple.org`` → ``zoë@xn--exmple-cua.org``: the domain in IDNA form.

    >>> ascii_domain("ada@bücher.example")
    'ada@xn--bcher-kva.example'
    """
    local, _, domain = email.partition("@")
    if not domain.isascii():
        with contextlib.suppress(UnicodeError):  # left as written: the server will refuse it
            domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def _person(community: Community, email: str) -> _Person:
    member: Member | None = community.member(email)
    if member is None:  # left members.toml since the round was planned: keep their history
        return _Person(email.split("@")[0], email, community.timezone)
    return _Person(member.name, member.email, member.timezone, member.discord_id)


def _first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def _names(people: Sequence[_Person], *, first: bool = False) -> str:
    names = [_first_name(p.name) if first else p.name for p in people]
    if len(names) <= 2:
        return " & ".join(names) if first else " and ".join(names)
    joiner = " & " if first else " and "
    return ", ".join(names[:-1]) + joiner + names[-1]


def _when(start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> str:
    """``Tuesday 1 December 2026, 14:00–14:30 GMT``, in ``zone``."""
    s, e = ensure_utc(start).astimezone(zone), ensure_utc(end).astimezone(zone)
    return f"{s:%A} {s.day} {s:%B %Y}, {s:%H:%M}–{e:%H:%M} {s:%Z}"


def _short(value: dt.datetime, zone: ZoneInfo) -> str:
    """``Tue 1 Dec, 14:00 GMT``: for subjects."""
    local = ensure_utc(value).astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M %Z}"


def _clock(value: dt.datetime, zone: ZoneInfo) -> str:
    """``09:00 on Tuesday (America/New_York)``."""
    local = ensure_utc(value).astimezone(zone)
    return f"{local:%H:%M} on {local:%A} ({zone.key})"


def summary(community: Community, people: Sequence[_Person]) -> str:
    return f"☕ {community.name}: {_names(people, first=True)}"


# --- the calendar -------------------------------------------------------------------------------


def build_calendar(
    meeting: Meeting,
    community: Community,
    *,
    link: str,
    sequence: int,
    dtstamp: dt.datetime,
    method: Kind = Kind.REQUEST,
) -> icalendar.Calendar:
    """The iTIP object for ``meeting``: METHOD:REQUEST, or METHOD:CANCEL with STATUS:CANCELLED."""
    people = [_person(community, e) for e in meeting.members]
    cancel = method is Kind.CANCEL
    organizer_name, _ = parseaddr(community.organizer)
    event = icalendar.Event.new(
        uid=meeting.uid,
        stamp=ensure_utc(dtstamp),
        sequence=sequence,
        start=ensure_utc(meeting.start),
        end=ensure_utc(meeting.end),
        summary=summary(community, people),
        description=_calendar_description(community, people, link),
        organizer=icalendar.vCalAddress.new(
            community.organizer_email, cn=organizer_name or community.name
        ),
        attendees=[
            icalendar.vCalAddress.new(
                p.email, cn=p.name, role="REQ-PARTICIPANT", partstat="NEEDS-ACTION", rsvp=True
            )
            for p in people
        ],
        location=link,
        url=link,
        status=icalendar.enums.STATUS.CANCELLED if cancel else icalendar.enums.STATUS.CONFIRMED,
        transparency=icalendar.enums.TRANSP.OPAQUE,
    )
    calendar = icalendar.Calendar.new(
        prodid=PRODID, method="CANCEL" if cancel else "REQUEST", subcomponents=[event]
    )
    del calendar["UID"]  # Calendar.new() adds a random one: keep the object reproducible
    return calendar


def _calendar_description(community: Community, people: Sequence[_Person], link: str) -> str:
    return (
        f"A {community.meeting_minutes}-minute coffee chat from {community.name} "
        f"for {_names(people)}.\nJoin: {link}\n"
        "Can't make it? Reply to all on the invitation email to agree another time."
    )


# --- emails -------------------------------------------------------------------------------------


def _message(
    community: Community,
    to: _Person,
    subject: str,
    *,
    now: dt.datetime,
    message_id: str,
    reply_to: Sequence[_Person] = (),
) -> EmailMessage:
    organizer = _organizer(community)
    msg = mime.new_headers()
    msg["From"] = organizer
    msg["To"] = _address(to.name, to.email)
    if reply_to:
        msg["Reply-To"] = [_address(p.name, p.email) for p in reply_to]
    msg["Subject"] = subject
    msg["Date"] = format_datetime(ensure_utc(now))
    msg["Message-ID"] = message_id
    msg["List-Unsubscribe"] = f"<mailto:{community.organizer_email}?subject=unsubscribe>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    return msg


def _with_calendar(
    msg: EmailMessage, text: str, html_body: str, ics: bytes, method: str
) -> mime.Email:
    """An invitation: the text, the HTML and the iTIP calendar as alternatives, and the same
    calendar attached (base64: its CRLF line folding reaches the client byte for byte)."""
    seed = str(msg["Message-ID"])
    alternative = mime.multipart(
        "alternative",
        [
            mime.text("plain", text),
            mime.text("html", html_body),
            mime.binary(f'text/calendar; method="{method}"; charset="UTF-8"', ics),
        ],
        seed=seed,
    )
    attachment = mime.binary('application/ics; name="invite.ics"', ics, filename="invite.ics")
    return mime.Email(msg, mime.multipart("mixed", [alternative, attachment], seed=seed, top=True))


def _html(paragraphs: Sequence[str | Sequence[str]]) -> str:
    """Simple HTML from paragraphs (a str) and bullet lists (a sequence); every value escaped."""
    parts = []
    for block in paragraphs:
        if isinstance(block, str):
            lines = "<br>\n".join(_linkify(line) for line in block.split("\n"))
            parts.append(f"<p>{lines}</p>")
        else:
            items = "".join(f"<li>{html.escape(item)}</li>" for item in block)
            parts.append(f"<ul>{items}</ul>")
    return "<!DOCTYPE html>\n<html><body>\n" + "\n".join(parts) + "\n</body></html>\n"


_URL = re.compile(r"https?://\S+")


def _linkify(line: str) -> str:
    """Escape ``line``; each URL becomes a link (escaped once, so ``&`` in a query survives)."""
    out, last = [], 0
    for match in _URL.finditer(line):
        url = html.escape(match.group(0), quote=True)
        out += [html.escape(line[last : match.start()]), f'<a href="{url}">{url}</a>']
        last = match.end()
    return "".join([*out, html.escape(line[last:])])


def _text(paragraphs: Sequence[str | Sequence[str]]) -> str:
    out = []
    for block in paragraphs:
        out.append(block if isinstance(block, str) else "\n".join(f"  - {i}" for i in block))
    return "\n\n".join(out) + "\n"


def invitation_email(
    meeting: Meeting,
    community: Community,
    recipient: str,
    *,
    link: str,
    ics: bytes,
    key: DeliveryKey,
    now: dt.datetime,
) -> mime.Email:
    """The REQUEST (or CANCEL) email for one attendee, in their zone."""
    people = [_person(community, e) for e in meeting.members]
    me = next(p for p in people if p.email == recipient)
    others = [p for p in people if p.email != recipient]
    title = summary(community, people)
    when = _when(meeting.start, meeting.end, me.zone)
    cancel = key.kind is Kind.CANCEL
    updated = key.sequence > 0 and not cancel
    if cancel:
        subject = f"Cancelled: {title}"
        blocks: list[str | Sequence[str]] = [
            f"Hi {_first_name(me.name)},",
            f"Your {community.name} meeting with {_names(others)} on {when} is cancelled.\n"
            "Your calendar app removes it when you open this email.",
            f"Questions? Write to {community.organizer_email}.",
        ]
    else:
        subject = f"{'Updated: ' if updated else ''}{title} · {_short(meeting.start, me.zone)}"
        partner_times = [f"{_first_name(p.name)}: {_clock(meeting.start, p.zone)}" for p in others]
        blocks = [
            f"Hi {_first_name(me.name)},",
            (
                f"This week {community.name} pairs you with {_names(others)}"
                + (" (the time has changed)." if updated else ".")
            ),
            f"When: {when} ({me.zone.key})\nWhere: {link}",
            "That is, in your partner's zone:",
            partner_times,
        ]
        # A moved meeting keeps the alternatives planned for its first time: never offer one
        # that overlaps the meeting itself (moved to 10 minutes after an alternative, say).
        alternatives = [
            _when(a.start, a.end, me.zone)
            for a in meeting.alternatives
            if not (a.start < meeting.end and meeting.start < a.end)
        ]
        if alternatives:
            blocks += ["If that time doesn't suit, these also work for both of you:"]
            blocks += [alternatives[:MAX_ALTERNATIVES]]
        blocks += [
            f"To renegotiate, reply to all: your reply reaches {_names(others)}. "
            "Once you agree, move the event in your calendar, or ask the organizer "
            f"({community.organizer_email}) to send an updated invitation.",
            "Accept or decline in your calendar app so the organizer knows.",
        ]
    msg = _message(
        community,
        me,
        subject,
        now=now,
        message_id=key.message_id(community.organizer_email.partition("@")[2]),
        reply_to=people,
    )
    return _with_calendar(msg, _text(blocks), _html(blocks), ics, "CANCEL" if cancel else "REQUEST")


def unmatched_email(
    unmatched: Unmatched, community: Community, week: IsoWeek, *, key: DeliveryKey, now: dt.datetime
) -> mime.Email:
    """The short, kind note for a member left out of ``week``, with the reason, in their zone."""
    me = _person(community, unmatched.member)
    monday = week.monday()
    blocks: list[str | Sequence[str]] = [
        f"Hi {_first_name(me.name)},",
        f"This time {community.name} has no meeting for you in the week of Monday "
        f"{monday.day} {monday:%B} ({week}): {unmatched.reason}.",
        "Sorry about that. You come first next week.",
        "Nothing to do on your side; if your calendar or plans changed, "
        f"write to {community.organizer_email}.",
    ]
    msg = _message(
        community,
        me,
        f"{community.name}: no meeting for you in {week}",
        now=now,
        message_id=key.message_id(community.organizer_email.partition("@")[2]),
    )
    parts = [mime.text("plain", _text(blocks)), mime.text("html", _html(blocks))]
    return mime.Email(
        msg, mime.multipart("alternative", parts, seed=str(msg["Message-ID"]), top=True)
    )


def meeting_emails(
    meeting: Meeting,
    community: Community,
    week: IsoWeek,
    *,
    sequence: int,
    now: dt.datetime,
    kind: Kind = Kind.REQUEST,
) -> list[Outgoing]:
    """One :class:`Outgoing` email per attendee of ``meeting``."""
    link = meeting_link(community, week, meeting.uid)
    calendar = build_calendar(
        meeting, community, link=link, sequence=sequence, dtstamp=now, method=kind
    )
    ics = calendar.to_ical()
    out = []
    for recipient in meeting.members:
        key = DeliveryKey(meeting.uid, recipient, Channel.EMAIL, kind, sequence)
        msg = invitation_email(meeting, community, recipient, link=link, ics=ics, key=key, now=now)
        out.append(Outgoing(key, msg.as_bytes(), ics, msg.message_id))
    return out


def unmatched_uid(week: IsoWeek) -> str:
    return f"unmatched-{week}"


def round_emails(
    round_: Round,
    community: Community,
    *,
    sequences: Mapping[str, int],
    now: dt.datetime,
) -> list[Outgoing]:
    """Every email of a planned round: the invitations, then the kind notes for the left-out."""
    out: list[Outgoing] = []
    for meeting in round_.meetings:
        out += meeting_emails(
            meeting,
            community,
            round_.week,
            sequence=sequences.get(meeting.uid, 0),
            now=now,
        )
    if community.notify_unmatched:
        # only those left out for want of a partner (they come first next week); not the paused
        # or those sitting out by their own `frequency`, who chose it
        for left_out in (u for u in round_.unmatched if is_left_out_reason(u.reason)):
            key = DeliveryKey(
                unmatched_uid(round_.week), left_out.member, Channel.EMAIL, Kind.UNMATCHED, 0
            )
            msg = unmatched_email(left_out, community, round_.week, key=key, now=now)
            out.append(Outgoing(key, msg.as_bytes(), None, msg.message_id))
    return out


# --- Discord ------------------------------------------------------------------------------------


def discord_post(
    meeting: Meeting,
    community: Community,
    week: IsoWeek,
    *,
    sequence: int,
    now: dt.datetime,
    kind: Kind = Kind.REQUEST,
) -> Outgoing:
    """One webhook message per meeting: mentions, a ``<t:UNIX:F>`` time every reader sees in
    their own zone, the link; the payload is JSON and the .ics rides along as an attachment."""
    people = [_person(community, e) for e in meeting.members]
    link = meeting_link(community, week, meeting.uid)
    ics = build_calendar(
        meeting, community, link=link, sequence=sequence, dtstamp=now, method=kind
    ).to_ical()
    mentions = [f"<@{p.discord_id}>" if p.discord_id else p.name for p in people]
    unix = int(ensure_utc(meeting.start).timestamp())
    joined = " & ".join(mentions)
    if kind is Kind.CANCEL:
        content = f"☕ {community.name}: cancelled: {joined} on <t:{unix}:F>."
    else:
        verb = "moved to" if sequence > 0 else "meet on"
        content = (
            f"☕ {community.name}: {joined} {verb} <t:{unix}:F> (<t:{unix}:R>), "
            f"{community.meeting_minutes} minutes. Join: {link}"
        )
    body = {
        "content": content,
        # only the members of this meeting are pinged, whatever the text contains
        "allowed_mentions": {"parse": [], "users": [p.discord_id for p in people if p.discord_id]},
        "attachments": [{"id": 0, "filename": "invite.ics"}],
    }
    key = DeliveryKey(meeting.uid, "webhook", Channel.DISCORD, kind, sequence)
    return Outgoing(key, json.dumps(body, ensure_ascii=False).encode(), ics, str(key))


def round_posts(
    round_: Round,
    community: Community,
    *,
    sequences: Mapping[str, int],
    now: dt.datetime,
) -> list[Outgoing]:
    """Every Discord post of a round (the left-out are not named in a shared channel)."""
    return [
        discord_post(
            m,
            community,
            round_.week,
            sequence=sequences.get(m.uid, 0),
            now=now,
        )
        for m in round_.meetings
    ]
