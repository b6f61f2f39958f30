"""A meeting → one email per recipient, in their own zone (RFC 6047 iMIP), and the note to a
member left out. Pure: no network, no clock (``now`` comes in), no files.

One email per recipient (Gmail shows the invitation card only to an attendee in ``To:``), written
in that recipient's zone with the partner's local time, the link, the alternatives and how to
renegotiate. MIME (what Google Calendar itself sends)::

    multipart/mixed
      multipart/alternative
        text/plain
        text/html
        text/calendar; method=REQUEST; charset=UTF-8
      application/ics; name="invite.ics"  (attachment, the same calendar)

The attachment is ``application/ics`` rather than a second ``text/calendar; method=…`` part so
that clients which act on every iTIP part (older Outlook) do not see two invitations.

Headers are built with :mod:`email.headerregistry` under ``policy.SMTP``: non-ASCII names are
RFC 2047-encoded and a CR or LF in any header value raises instead of injecting a header
(:mod:`.mime` assembles the message). The Message-ID is deterministic per delivery (meeting,
recipient, kind, sequence): a message that is re-sent after a crash carries the same Message-ID,
and mail systems collapse it.

**The member's own links.** When the service layer hands a recipient's signed links in
(:class:`~.link.MemberLinks`: the community has ``[web] base_url`` and a signing key), their
email ends with a line to their page ("Manage your membership, pause or leave: …") and says how
to leave in its headers: ``List-Unsubscribe`` with the one-click https link first and the mailto
to the organizer as the fallback (RFC 2369), and ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click`` (RFC 8058: a mail program POSTs to the https link, no page to
visit). Without links an email is byte for byte what it was before: the mailto alone.

**Can't make it.** An invitation (first or updated) whose recipient's links carry one
(:func:`~.link.cant_link`) says "Can't make it? Pick another time or let your partner know:
<link>": the page shows the other times both are still free and moves the meeting for both,
or cancels it and offers the partner someone else. Without it, the email says what is true
then: reply to all to agree another time, and the organizer moves it. With ``[replies]``, it
also says that declining in the calendar app counts as "can't make it".
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Collection, Mapping, Sequence
from email.message import EmailMessage
from email.utils import format_datetime

from calroulette.config import Community
from calroulette.matching import Meeting, Round, Unmatched
from calroulette.timeutil import IsoWeek, ensure_utc

from . import mime, notes
from .calendar import build_calendar, summary
from .keys import Channel, DeliveryKey, Kind, Outgoing, unmatched_uid
from .link import MemberLinks, cant_link, meeting_link
from .people import (
    Person,
    ascii_domain,
    clock,
    email_address,
    first_name,
    names,
    organizer,
    person,
    short,
    when,
)

MAX_ALTERNATIVES = 3
ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058 §3.1: the one value of List-Unsubscribe-Post
# An address a List-Unsubscribe may carry as it is (RFC 2369: inside <>, and no comma, which
# separates the alternatives): RFC 3986's characters, ASCII, no space. Anything else (an
# internationalised host in base_url) is left out of the header rather than encoded.
_HEADER_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+;=%]+")


def _message(
    community: Community,
    to: Person,
    subject: str,
    *,
    now: dt.datetime,
    message_id: str,
    reply_to: Sequence[Person] = (),
    links: MemberLinks | None = None,
) -> EmailMessage:
    msg = mime.new_headers()
    msg["From"] = organizer(community)
    msg["To"] = email_address(to.name, to.email)
    if reply_to:
        msg["Reply-To"] = [email_address(p.name, p.email) for p in reply_to]
    msg["Subject"] = subject
    msg["Date"] = format_datetime(ensure_utc(now))
    msg["Message-ID"] = message_id
    mailto = f"<mailto:{community.organizer_email}?subject=unsubscribe>"
    if links is not None and _HEADER_URL.fullmatch(links.unsubscribe):
        # the organizer's domain in its ASCII form: the field stays one plain list of addresses
        ascii_mailto = f"<mailto:{ascii_domain(community.organizer_email)}?subject=unsubscribe>"
        msg["List-Unsubscribe"] = f"<{links.unsubscribe}>, {ascii_mailto}"
        msg["List-Unsubscribe-Post"] = ONE_CLICK
    else:
        msg["List-Unsubscribe"] = mailto
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


def _footer(links: MemberLinks | None) -> list[str | Sequence[str]]:
    """The last paragraph of every email to a member: their page (when we have their links)."""
    if links is None:
        return []
    return [f"Manage your membership, pause or leave: {links.manage}"]


def _ours(links: MemberLinks | None) -> tuple[str, ...]:
    """The member's own addresses, which the HTML part makes links."""
    return () if links is None else (links.manage,)


def _html(paragraphs: Sequence[str | Sequence[str]], links: Collection[str] = ()) -> str:
    """Simple HTML from paragraphs (a str) and bullet lists (a sequence); every value escaped,
    and only ``links`` (addresses of ours, such as the meeting link) made links."""
    parts = []
    for block in paragraphs:
        if isinstance(block, str):
            lines = "<br>\n".join(_linkify(line, links) for line in block.split("\n"))
            parts.append(f"<p>{lines}</p>")
        else:
            items = "".join(f"<li>{html.escape(item)}</li>" for item in block)
            parts.append(f"<ul>{items}</ul>")
    return "<!DOCTYPE html>\n<html><body>\n" + "\n".join(parts) + "\n</body></html>\n"


def _linkify(line: str, links: Collection[str]) -> str:
    """Escape ``line``; each of ``links`` in it becomes a link (escaped once, so ``&`` in a
    query survives). Nothing else does, even when it reads like an address: a member could
    name themself ``https://evil.example/login``, and their partner's email must not offer it
    as a link."""
    if not links:
        return html.escape(line)
    ours = re.compile("|".join(re.escape(url) for url in sorted(links, key=len, reverse=True)))
    out, last = [], 0
    for match in ours.finditer(line):
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
    links: MemberLinks | None = None,
    update: str | None = None,
) -> mime.Email:
    """The REQUEST (or CANCEL) email for one attendee, in their zone; with ``links``, the
    recipient's page, one-click unsubscribe and "can't make it" (see the module's docstring).
    ``update``: what changed, for an updated invitation (default: the time)."""
    people = [person(community, e) for e in meeting.members]
    me = next(p for p in people if p.email == recipient)
    others = [p for p in people if p.email != recipient]
    title = summary(community, people)
    at = when(meeting.start, meeting.end, me.zone)
    cancel = key.kind is Kind.CANCEL
    updated = key.sequence > 0 and not cancel
    if cancel:
        subject = f"Cancelled: {title}"
        blocks: list[str | Sequence[str]] = [
            f"Hi {first_name(me.name)},",
            f"Your {community.name} meeting with {names(others)} on {at} is cancelled.\n"
            "Your calendar app removes it when you open this email.",
            f"Questions? Write to {community.organizer_email}.",
        ]
    else:
        subject = f"{'Updated: ' if updated else ''}{title} · {short(meeting.start, me.zone)}"
        partner_times = [f"{first_name(p.name)}: {clock(meeting.start, p.zone)}" for p in others]
        blocks = [
            f"Hi {first_name(me.name)},",
            (
                f"This week {community.name} pairs you with {names(others)}"
                + (f" ({update or 'the time has changed'})." if updated else ".")
            ),
            f"When: {at} ({me.zone.key})\nWhere: {link}",
            "That is, in your partner's zone:",
            partner_times,
        ]
        # A moved meeting keeps the alternatives planned for its first time: never offer one
        # that overlaps the meeting itself (moved to 10 minutes after an alternative, say).
        alternatives = [
            when(a.start, a.end, me.zone)
            for a in meeting.alternatives
            if not (a.start < meeting.end and meeting.start < a.end)
        ]
        if alternatives:
            blocks += ["If that time doesn't suit, these also work for both of you:"]
            blocks += [alternatives[:MAX_ALTERNATIVES]]
        blocks += _what_if(community, others, cant_link(links, meeting.uid))
    blocks += _footer(links)
    msg = _message(
        community,
        me,
        subject,
        now=now,
        message_id=key.message_id(community.organizer_email.partition("@")[2]),
        reply_to=people,
        links=links,
    )
    cant = cant_link(links, meeting.uid) if not cancel else None
    html_body = _html(blocks, links=(link, *_ours(links), *([cant] if cant else [])))
    return _with_calendar(msg, _text(blocks), html_body, ics, "CANCEL" if cancel else "REQUEST")


def _what_if(community: Community, others: Sequence[Person], cant: str | None) -> list[str]:
    """What to do when the time does not suit, as it is true for this email: the recipient's
    "can't make it" link when they have one, else reply to all and the organizer moves it;
    and, when the organizer's mailbox is read (``[replies]``), what declining does."""
    partner = "partner" if len(others) == 1 else "partners"
    if cant is not None:
        out = [
            f"Can't make it? Pick another time or let your {partner} know: {cant}",
            f"To talk it over first, reply to all: your reply reaches {names(others)}.",
        ]
    else:
        out = [
            f"To find another time, reply to all: your reply reaches {names(others)}. Once you "
            f"agree, ask the organizer ({community.organizer_email}) to move the meeting for "
            "both of you.",
        ]
    if community.replies is not None:
        if len(others) == 1:
            out.append(
                "Declining in your calendar app counts as not making it: the meeting is "
                f"cancelled, and {names(others)} is told and offered someone else if anyone "
                "is free."
            )
        else:
            out.append(
                "Declining in your calendar app counts as not making it: you are taken off "
                f"the meeting, and {names(others)} are told."
            )
    return out


def unmatched_email(
    unmatched: Unmatched,
    community: Community,
    week: IsoWeek,
    *,
    key: DeliveryKey,
    now: dt.datetime,
    links: MemberLinks | None = None,
    resting: bool = False,
) -> mime.Email:
    """The short, kind note for a member left out of ``week``: why, in their words, and what
    the rules will really do next (:mod:`.notes`); never the organizer's stored sentence.
    ``resting``: the note of a member without free time for :data:`.notes.RESTING_WEEKS`
    rounds in a row, who is not written to again while it lasts."""
    me = person(community, unmatched.member)
    written = notes.note(unmatched, community, week, resting=resting)
    blocks: list[str | Sequence[str]] = [f"Hi {first_name(me.name)},", *written.paragraphs]
    blocks += _footer(links)
    msg = _message(
        community,
        me,
        written.subject,
        now=now,
        message_id=key.message_id(community.organizer_email.partition("@")[2]),
        links=links,
    )
    parts = [
        mime.text("plain", _text(blocks)),
        mime.text("html", _html(blocks, links=_ours(links))),
    ]
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
    links: Mapping[str, MemberLinks] | None = None,
    update: str | None = None,
    recipients: Collection[str] | None = None,
) -> list[Outgoing]:
    """One :class:`Outgoing` email per attendee of ``meeting``; ``links``: each attendee's own
    (by email; an attendee without is written to without); ``update``: what changed, for an
    updated invitation; ``recipients``: only these attendees (default: every one)."""
    link = meeting_link(community, week, meeting.uid)
    calendar = build_calendar(
        meeting, community, link=link, sequence=sequence, dtstamp=now, method=kind
    )
    ics = calendar.to_ical()
    out = []
    for recipient in meeting.members:
        if recipients is not None and recipient not in recipients:
            continue
        key = DeliveryKey(meeting.uid, recipient, Channel.EMAIL, kind, sequence)
        msg = invitation_email(
            meeting,
            community,
            recipient,
            link=link,
            ics=ics,
            key=key,
            now=now,
            links=links.get(recipient) if links else None,
            update=update,
        )
        out.append(Outgoing(key, msg.as_bytes(), ics, msg.message_id))
    return out


def round_emails(
    round_: Round,
    community: Community,
    *,
    now: dt.datetime,
    links: Mapping[str, MemberLinks] | None = None,
    resting: Collection[str] = (),
) -> list[Outgoing]:
    """Every email of a planned round: the invitations, then the kind notes for the left-out.
    ``links``: each member's own, by email; ``resting``: the members whose note is the one of
    :data:`.notes.RESTING_WEEKS` rounds without free time."""
    links = links or {}
    out: list[Outgoing] = []
    for meeting in round_.meetings:
        out += meeting_emails(
            meeting,
            community,
            round_.week,
            sequence=meeting.sequence,
            now=now,
            links=links,
        )
    if community.notify_unmatched:
        # only those left out for want of a partner (they come first next week); not the paused
        # or those sitting out by their own `frequency`, who chose it
        for left_out in (u for u in round_.unmatched if u.reason.comes_first):
            key = DeliveryKey(
                unmatched_uid(round_.week), left_out.member, Channel.EMAIL, Kind.UNMATCHED, 0
            )
            msg = unmatched_email(
                left_out,
                community,
                round_.week,
                key=key,
                now=now,
                links=links.get(left_out.member),
                resting=left_out.member in resting,
            )
            out.append(Outgoing(key, msg.as_bytes(), None, msg.message_id))
    return out
