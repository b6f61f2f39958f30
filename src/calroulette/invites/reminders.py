"""The messages of the week between the invitation and the coffee that are not iTIP: the
reminder shortly before a meeting, and "did you meet?" the day after. Pure: no network, no
clock (``now`` comes in), no files; the service decides when each is due and signs the links.

- **Reminder**: on Discord one post that mentions every attendee (``<@id>``, or the name as plain
  text without an id), with the meeting link and a ``<t:UNIX:R>`` time every reader sees counting
  down in their own client; by email one message per attendee, in their zone, whose Reply-To
  reaches the others ("running late").
- **Did you meet?**: two one-click links per attendee (:class:`MetLinks`: yes / no, signed for
  that attendee and that meeting). By email, one message each. On Discord one post names each
  attendee with their own two links: a webhook cannot write to one person, so whoever reads the
  channel could click someone else's; what that can do is narrow on purpose (that one answer,
  which its owner can change on the page the link opens, and which only lets a pair who did not
  meet be paired again sooner), and a manage link is never posted.

Everything from people (names, the community's name) is escaped for where it lands: HTML-escaped
in the HTML part, where only our own addresses become links; made inert on Discord
(:func:`.discord.inert`: no mention, no markdown, no link), where our addresses are written inside
``<…>`` so Discord shows no preview card for them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from calroulette.config import Community
from calroulette.matching import Meeting
from calroulette.timeutil import IsoWeek, ensure_utc

from .calendar import summary
from .discord import _is_user_id, inert
from .email import _ours, letter_email
from .keys import Channel, DeliveryKey, Kind, Outgoing
from .link import MemberLinks, meeting_link
from .people import Person, clock, first_name, names, person, short, when, when_here
from .template import Block, Button, Facts, Heading, Para

WEBHOOK = "webhook"  # the recipient of a Discord post, as in every other post's key


@dataclass(frozen=True, slots=True)
class MetLinks:
    """One attendee's two one-click answers to "did you meet?" (signed by the service)."""

    yes: str
    no: str


# --- reminders ------------------------------------------------------------------------------


def reminder_post(
    meeting: Meeting, community: Community, week: IsoWeek, *, now: dt.datetime
) -> Outgoing:
    """One Discord post: every attendee mentioned, the link, and when, counting down."""
    people = [person(community, e) for e in meeting.members]
    link = meeting_link(community, week, meeting.uid)
    unix = _unix(meeting.start)
    content = (
        f"⏰ {inert(community.name)}: {_mentions(people)}, your coffee chat starts "
        f"<t:{unix}:R> (<t:{unix}:t>), {community.meeting_minutes} minutes. Join: {link}"
    )
    key = DeliveryKey(meeting.uid, WEBHOOK, Channel.DISCORD, Kind.REMINDER, meeting.sequence)
    return _post(key, content, people)


def reminder_email(
    meeting: Meeting,
    community: Community,
    week: IsoWeek,
    recipient: str,
    *,
    now: dt.datetime,
    links: MemberLinks | None = None,
) -> Outgoing:
    """The reminder to one attendee, in their zone; ``links``: their page (the footer every
    email to a member has) and one-click unsubscribe."""
    people = [person(community, e) for e in meeting.members]
    me, others = _me_and_others(people, recipient)
    link = meeting_link(community, week, meeting.uid)
    subject = f"Starting soon: {summary(community, people)} · {short(meeting.start, me.zone)}"
    blocks: list[str | Sequence[str] | Block] = [
        Heading(f"Coffee with {names(others, first=True)} starts soon"),
        f"Hi {first_name(me.name)},",
        f"Your {community.name} chat with {names(others)} starts soon:",
        Facts(
            (
                ("When", when_here(meeting.start, meeting.end, me.zone)),
                *((first_name(p.name), clock(meeting.start, p.zone)) for p in others),
            )
        ),
        Button("Join the call", link, text="Join:", show_url=True),
        Para(f"Running late? Reply to this email: your reply reaches {names(others)}.", muted=True),
    ]
    key = DeliveryKey(meeting.uid, me.email, Channel.EMAIL, Kind.REMINDER, meeting.sequence)
    return _email(community, me, subject, blocks, key, now, (link, *_ours(links)), people, links)


# --- did you meet? --------------------------------------------------------------------------


def followup_email(
    meeting: Meeting,
    community: Community,
    recipient: str,
    *,
    answers: MetLinks,
    now: dt.datetime,
    links: MemberLinks | None = None,
) -> Outgoing:
    """ "Did you meet?" to one attendee, with their two one-click answers."""
    people = [person(community, e) for e in meeting.members]
    me, others = _me_and_others(people, recipient)
    partners = names(others, first=True)
    blocks: list[str | Sequence[str] | Block] = [
        Heading(f"Did you meet {partners}?"),
        f"Hi {first_name(me.name)},",
        f"You and {names(others)} had a {community.name} chat planned for "
        f"{when(meeting.start, meeting.end, me.zone)}. Did you meet?",
        Button("Yes, we met", answers.yes),
        Button("No, we did not meet", answers.no, outline=True),
        Para(
            "One click records your answer; the page it opens lets you change it. If you did "
            f"not meet, {community.name} may pair you with {partners} again sooner.",
            muted=True,
        ),
    ]
    key = DeliveryKey(meeting.uid, me.email, Channel.EMAIL, Kind.FOLLOWUP, meeting.sequence)
    ours = (answers.yes, answers.no, *_ours(links))
    subject = f"Did you meet {partners}? {community.name}"
    return _email(community, me, subject, blocks, key, now, ours, (), links)


def followup_post(
    meeting: Meeting,
    community: Community,
    *,
    answers: Mapping[str, MetLinks],
    now: dt.datetime,
) -> Outgoing:
    """ "Did you meet?" on Discord: every attendee mentioned, each with their own two links
    (``answers``, by email; an attendee without is mentioned without; see the module's
    docstring for why links in a shared channel are acceptable here)."""
    people = [person(community, e) for e in meeting.members]
    unix = _unix(meeting.start)
    lines = [
        f"☕ {inert(community.name)}: did you meet? {_mentions(people)} (<t:{unix}:F>). "
        "One click on your own answer (you can change it on the page it opens):"
    ]
    for p in people:
        mine = answers.get(p.email)
        if mine is not None:
            lines.append(f"{inert(first_name(p.name))}: yes <{mine.yes}> · no <{mine.no}>")
    key = DeliveryKey(meeting.uid, WEBHOOK, Channel.DISCORD, Kind.FOLLOWUP, meeting.sequence)
    return _post(key, "\n".join(lines), people)


# --- helpers --------------------------------------------------------------------------------


def _unix(instant: dt.datetime) -> int:
    return int(ensure_utc(instant).timestamp())


def _mentions(people: Sequence[Person]) -> str:
    """``<@id> & <@id>``: a mention for each attendee with a Discord id, their name made inert
    for one without."""
    shown = [f"<@{p.discord_id}>" if _is_user_id(p.discord_id) else inert(p.name) for p in people]
    if len(shown) <= 2:
        return " & ".join(shown)
    return ", ".join(shown[:-1]) + " & " + shown[-1]


def _post(key: DeliveryKey, content: str, people: Sequence[Person]) -> Outgoing:
    body = {
        "content": content,
        # only this meeting's attendees are pinged, whatever the text contains
        "allowed_mentions": {
            "parse": [],
            "users": [p.discord_id for p in people if _is_user_id(p.discord_id)],
        },
    }
    return Outgoing(key, json.dumps(body, ensure_ascii=False).encode(), None, str(key))


def _me_and_others(people: Sequence[Person], recipient: str) -> tuple[Person, list[Person]]:
    wanted = recipient.strip().lower()
    me = next(p for p in people if p.email == wanted)
    return me, [p for p in people if p.email != wanted]


def _email(
    community: Community,
    me: Person,
    subject: str,
    blocks: Sequence[str | Sequence[str] | Block],
    key: DeliveryKey,
    now: dt.datetime,
    ours: Sequence[str],
    reply_to: Sequence[Person],
    links: MemberLinks | None,
) -> Outgoing:
    """Plain text with an HTML alternative (every value escaped, only ``ours`` made links),
    headers as every email to a member has them."""
    message = letter_email(
        community, me, subject, blocks, key=key, now=now, links=links, ours=ours, reply_to=reply_to
    )
    return Outgoing(key, message.as_bytes(), None, message.message_id)
