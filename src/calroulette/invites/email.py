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

**What it says.** An invitation names the partner in its heading, gives the time in the
reader's zone (its abbreviation, or the city where the zone has none: ``10:00 São Paulo
time``; :mod:`.people`) and each partner's local time, a Join button with the meeting link,
one line about the partner when members set topics or a team ("You both listed python."), up
to three other times both are free, and what to do when the time does not suit. An updated
invitation says what changed ("moved from Tue 8 Dec, 14:00 to Thu 10 Dec, 10:00 CET" when
the time it had is handed in). The layout, and the plain part that says the same, are
:mod:`.template`'s.

**Can't make it.** An invitation (first or updated) whose recipient's links carry one
(:func:`~.link.cant_link`) says "Can't make it? Pick another time or let your partner know:
<link>": the page shows the other times both are still free and moves the meeting for both,
or cancels it and offers the partner someone else. Without it, the email says what is true
then: reply to all to agree another time, and the organizer moves it. With ``[replies]``, it
also says that declining in the calendar app counts as "can't make it".

**A cancellation** says what is true of calendar apps: most take the event out when the
cancellation arrives; Thunderbird shows it in a bar above the email, with a Delete button.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping, Sequence
from email.message import EmailMessage
from email.utils import format_datetime

from calroulette.config import Community
from calroulette.intervals import Interval
from calroulette.matching import Meeting, Round, Unmatched
from calroulette.timeutil import IsoWeek, ensure_utc

from . import mime, notes, template
from .calendar import build_calendar, summary
from .keys import Channel, DeliveryKey, Kind, Outgoing, unmatched_uid
from .link import MemberLinks, cant_link, meeting_link
from .people import (
    Person,
    ascii_domain,
    clock,
    email_address,
    first_name,
    intro,
    moved,
    names,
    organizer,
    person,
    short,
    when,
    when_here,
)
from .template import Block, Button, Facts, Heading, Items, Para, Section

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


def _footer(links: MemberLinks | None) -> list[Button | Para]:
    """The last line of every email to a member: their page (when we have their links)."""
    if links is None:
        return []
    return [Button("Manage your membership, pause or leave", links.manage)]


def _ours(links: MemberLinks | None) -> tuple[str, ...]:
    """The member's own addresses, which the HTML part makes links."""
    return () if links is None else (links.manage,)


def _bodies(
    community: Community,
    blocks: Sequence[str | Sequence[str] | Block],
    *,
    footer: Sequence[Button | Para] = (),
    links: Collection[str] = (),
    title: str = "",
    preview: str = "",
) -> tuple[str, str]:
    """The plain and the HTML part of one email (:mod:`.template`): every value escaped, and
    only ``links`` (addresses of ours, such as the meeting link) made links."""
    written = template.letter(f"☕ {community.name}", blocks, footer, preview)
    return template.plain(written), template.page(written, links, title=title)


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
    previous: Interval | None = None,
) -> mime.Email:
    """The REQUEST (or CANCEL) email for one attendee, in their zone; with ``links``, the
    recipient's page, one-click unsubscribe and "can't make it" (see the module's docstring).
    ``update``: what changed, for an updated invitation (default: the time, "moved from
    ``previous`` to …" when the time it had before is given)."""
    people = [person(community, e) for e in meeting.members]
    me = next(p for p in people if p.email == recipient)
    others = [p for p in people if p.email != recipient]
    title = summary(community, people)
    cancel = key.kind is Kind.CANCEL
    updated = key.sequence > 0 and not cancel
    cant = None if cancel else cant_link(links, meeting.uid)
    if cancel:
        subject = f"Cancelled: {title}"
        blocks, preview = _cancellation(community, me, others, meeting)
    else:
        subject = f"{'Updated: ' if updated else ''}{title} · {short(meeting.start, me.zone)}"
        change = None
        if updated:
            change = update or (
                moved(previous.start, meeting.start, me.zone)
                if previous is not None and previous.start != meeting.start
                else "the time has changed"
            )
        blocks, preview = _invitation(community, me, others, meeting, link, cant, change)
    msg = _message(
        community,
        me,
        subject,
        now=now,
        message_id=key.message_id(community.organizer_email.partition("@")[2]),
        reply_to=people,
        links=links,
    )
    text, html_body = _bodies(
        community,
        blocks,
        footer=_footer(links),
        links=(link, *_ours(links), *([cant] if cant else [])),
        title=subject,
        preview=preview,
    )
    return _with_calendar(msg, text, html_body, ics, "CANCEL" if cancel else "REQUEST")


def _invitation(
    community: Community,
    me: Person,
    others: Sequence[Person],
    meeting: Meeting,
    link: str,
    cant: str | None,
    change: str | None,
) -> tuple[list[str | Sequence[str] | Block], str]:
    """The invitation's blocks (first or updated), and its inbox preview."""
    at = when_here(meeting.start, meeting.end, me.zone)
    partner = names(others, first=True)
    opening = f"This week {community.name} pairs you with {names(others)}"
    opening += f" ({change})." if change else "."
    blocks: list[str | Sequence[str] | Block] = [
        Heading(f"{'Updated: c' if change else 'C'}offee with {partner}"),
        f"Hi {first_name(me.name)},",
        opening,
        Facts(
            (
                ("When", at),
                *((first_name(p.name), clock(meeting.start, p.zone)) for p in others),
            )
        ),
        Button("Join the call", link, text="Join:", show_url=True),
    ]
    about = intro(me, others)
    if about:
        blocks.append(about)
    # A moved meeting keeps the alternatives planned for its first time: never offer one
    # that overlaps the meeting itself (moved to 10 minutes after an alternative, say).
    alternatives = [
        when(a.start, a.end, me.zone)
        for a in meeting.alternatives
        if not (a.start < meeting.end and meeting.start < a.end)
    ][:MAX_ALTERNATIVES]
    if alternatives:
        blocks += [Section("Other times you are both free:"), Items(tuple(alternatives))]
    blocks += _what_if(community, others, cant)
    preview = f"{short(meeting.start, me.zone)} with {names(others)}. Join: {link}"
    return blocks, preview


def _cancellation(
    community: Community, me: Person, others: Sequence[Person], meeting: Meeting
) -> tuple[list[str | Sequence[str] | Block], str]:
    """What a cancellation says: what is cancelled, and what happens to the event in the
    calendar, as it is true in the programs people use."""
    at = when(meeting.start, meeting.end, me.zone)
    partner = names(others, first=True)
    blocks: list[str | Sequence[str] | Block] = [
        Heading(f"Cancelled: coffee with {partner}"),
        f"Hi {first_name(me.name)},",
        f"Your {community.name} meeting with {names(others)} on {at} is cancelled.",
        "Many calendar apps take the event out by themselves (Google Calendar and Apple "
        "Calendar do). In Outlook, choose “Remove from Calendar” above this email; in "
        "Thunderbird, press Delete in the bar above it. If the event is still in your "
        "calendar, delete it there.",
        Para(f"Questions? Write to {community.organizer_email}.", muted=True),
    ]
    return blocks, f"{at}: cancelled."


def _what_if(
    community: Community, others: Sequence[Person], cant: str | None
) -> list[str | Sequence[str] | Block]:
    """What to do when the time does not suit, as it is true for this email: the recipient's
    "can't make it" link when they have one, else reply to all and the organizer moves it;
    and, when the organizer's mailbox is read (``[replies]``), what declining does."""
    partner = "partner" if len(others) == 1 else "partners"
    out: list[str | Sequence[str] | Block] = [Section("Can't make it?", plain=False)]
    if cant is not None:
        out += [
            Button(
                "Pick another time",
                cant,
                text=f"Can't make it? Pick another time or let your {partner} know:",
                lead=f"Pick another time, or let your {partner} know you can't come:",
                outline=True,
            ),
            f"To talk it over first, reply to all: your reply reaches {names(others)}.",
        ]
    else:
        out.append(
            f"To find another time, reply to all: your reply reaches {names(others)}. Once you "
            f"agree, ask the organizer ({community.organizer_email}) to move the meeting for "
            "both of you."
        )
    if community.replies is not None:
        if len(others) == 1:
            out.append(
                Para(
                    "Declining in your calendar app counts as not making it: the meeting is "
                    f"cancelled, and {names(others)} is told and offered someone else if anyone "
                    "is free.",
                    muted=True,
                )
            )
        else:
            out.append(
                Para(
                    "Declining in your calendar app counts as not making it: you are taken off "
                    f"the meeting, and {names(others)} are told.",
                    muted=True,
                )
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
    blocks: list[str | Sequence[str] | Block] = [
        Heading(written.heading),
        f"Hi {first_name(me.name)},",
        *written.paragraphs,
    ]
    preview = written.paragraphs[0] if written.paragraphs else ""
    return letter_email(
        community, me, written.subject, blocks, key=key, now=now, links=links, preview=preview
    )


def letter_email(
    community: Community,
    me: Person,
    subject: str,
    blocks: Sequence[str | Sequence[str] | Block],
    *,
    key: DeliveryKey,
    now: dt.datetime,
    links: MemberLinks | None,
    ours: Collection[str] | None = None,
    reply_to: Sequence[Person] = (),
    preview: str = "",
) -> mime.Email:
    """An email to a member that carries no calendar (a note, a reminder, "did you meet?"):
    plain text and HTML alternatives, the headers every email to a member has, the footer with
    their links. Only ``ours`` (default: the member's own links) are made links."""
    msg = _message(
        community,
        me,
        subject,
        now=now,
        message_id=key.message_id(community.organizer_email.partition("@")[2]),
        reply_to=reply_to,
        links=links,
    )
    text, html_body = _bodies(
        community,
        blocks,
        footer=_footer(links),
        links=_ours(links) if ours is None else ours,
        title=subject,
        preview=preview,
    )
    parts = [mime.text("plain", text), mime.text("html", html_body)]
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
    previous: Interval | None = None,
) -> list[Outgoing]:
    """One :class:`Outgoing` email per attendee of ``meeting``; ``links``: each attendee's own
    (by email; an attendee without is written to without); ``update``: what changed, for an
    updated invitation; ``recipients``: only these attendees (default: every one);
    ``previous``: the meeting's time before a move (an updated invitation then says "moved
    from … to …")."""
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
            previous=previous,
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
