"""The kind note to a member whose partner cannot come and for whom nobody else was free that
week (:attr:`Kind.NO_REMATCH`): an email, or a post for a Discord community. Pure: no network,
no clock (``now`` comes in), no files.

It follows the cancellation they already got, and says only what is true: who cannot come (the
partner's first name, never why), that calroulette looked for someone else free at one of their
times that week and found nobody, and that next week's round takes them as usual. Keyed by the
cancelled meeting (its UID and its cancelled SEQUENCE), so it goes out once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from calroulette.config import Community
from calroulette.matching import Meeting
from calroulette.timeutil import IsoWeek

from .discord import _is_user_id, inert
from .email import letter_email
from .keys import Channel, DeliveryKey, Kind, Outgoing
from .link import MemberLinks
from .people import first_name, names, person, when
from .template import Block, Heading, Para


def no_rematch(
    cancelled: Meeting,
    recipient: str,
    community: Community,
    week: IsoWeek,
    *,
    channel: Channel,
    now: dt.datetime,
    links: MemberLinks | None = None,
) -> Outgoing:
    """The note to ``recipient``, released by the cancellation of ``cancelled`` (at its
    cancelled SEQUENCE), for the community's channel."""
    key = DeliveryKey(
        cancelled.uid,
        recipient if channel is Channel.EMAIL else "webhook",
        channel,
        Kind.NO_REMATCH,
        cancelled.sequence,
    )
    if channel is Channel.DISCORD:
        return _post(cancelled, recipient, community, key)
    return _email(cancelled, recipient, community, week, key=key, now=now, links=links)


def _email(
    cancelled: Meeting,
    recipient: str,
    community: Community,
    week: IsoWeek,
    *,
    key: DeliveryKey,
    now: dt.datetime,
    links: MemberLinks | None,
) -> Outgoing:
    me = person(community, recipient)
    others = [person(community, e) for e in cancelled.members if e != recipient]
    who = names(others, first=True) or "Your partner"
    at = when(cancelled.start, cancelled.end, me.zone)
    subject = f"{community.name}: no new partner this week"
    blocks: list[str | Sequence[str] | Block] = [
        Heading("No new partner this week"),
        f"Hi {first_name(me.name)},",
        f"{who} can't make it to your {community.name} meeting on {at} after all, so it is "
        "cancelled (you got the cancellation).",
        "We looked for someone else free at one of your times this week, but nobody was. "
        "Sorry about that.",
        "Next week's round takes you as usual.",
        Para(f"Questions? Write to {community.organizer_email}.", muted=True),
    ]
    preview = f"{who} can't make it, and nobody else was free at your times this week."
    email = letter_email(
        community, me, subject, blocks, key=key, now=now, links=links, preview=preview
    )
    return Outgoing(key, email.as_bytes(), None, email.message_id)


def _post(cancelled: Meeting, recipient: str, community: Community, key: DeliveryKey) -> Outgoing:
    """A short post that mentions only the member it is for (the cancellation post already
    named both in the channel)."""
    me = person(community, recipient)
    mention = f"<@{me.discord_id}>" if _is_user_id(me.discord_id) else inert(first_name(me.name))
    content = (
        f"☕ {inert(community.name)}: {mention}, nobody else was free at your times this week, "
        "sorry. Next week's round takes you as usual."
    )
    body = {
        "content": content,
        "allowed_mentions": {
            "parse": [],
            "users": [me.discord_id] if _is_user_id(me.discord_id) else [],
        },
    }
    return Outgoing(key, json.dumps(body, ensure_ascii=False).encode(), None, str(key))
