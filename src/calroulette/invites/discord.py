"""A meeting as a Discord webhook post: mentions, a time every reader sees in their own zone.

**Can't make it.** When the service hands in each attendee's "can't make it" link (``links``:
see :func:`~.link.cant_link`), an invitation post ends with one per attendee, after their first
name: the channel is shared, and a webhook cannot write to one person. Whoever reads the channel
can open them; what such a link allows is narrow on purpose (this one meeting: move it to a
time both are still free, or cancel it; every change is posted here again, so it is seen), and
a manage link (a member's settings) is never posted. Each address is written inside ``<…>``,
which Discord shows without a preview card: its crawler does not fetch it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping

from calroulette.config import Community
from calroulette.matching import Meeting, Round
from calroulette.timeutil import IsoWeek, ensure_utc

from .calendar import build_calendar
from .keys import Channel, DeliveryKey, Kind, Outgoing
from .link import MemberLinks, cant_link, meeting_link
from .people import first_name, person


def discord_post(
    meeting: Meeting,
    community: Community,
    week: IsoWeek,
    *,
    sequence: int,
    now: dt.datetime,
    kind: Kind = Kind.REQUEST,
    links: Mapping[str, MemberLinks] | None = None,
    update: str | None = None,
) -> Outgoing:
    """One webhook message per meeting: mentions, a ``<t:UNIX:F>`` time every reader sees in
    their own zone, the link; the payload is JSON and the .ics rides along as an attachment.
    ``links``: each attendee's own, by email (only their "can't make it" link is posted);
    ``update``: what changed, for an updated post whose time did not."""
    people = [person(community, e) for e in meeting.members]
    link = meeting_link(community, week, meeting.uid)
    ics = build_calendar(
        meeting, community, link=link, sequence=sequence, dtstamp=now, method=kind
    ).to_ical()
    users = [p.discord_id for p in people if _is_user_id(p.discord_id)]
    mentions = [
        f"<@{p.discord_id}>" if _is_user_id(p.discord_id) else inert(p.name) for p in people
    ]
    unix = int(ensure_utc(meeting.start).timestamp())
    joined = " & ".join(mentions)
    name = inert(community.name)
    if kind is Kind.CANCEL:
        content = f"☕ {name}: cancelled: {joined} on <t:{unix}:F>."
    else:
        verb = "moved to" if sequence > 0 and update is None else "meet on"
        content = (
            f"☕ {name}: {joined} {verb} <t:{unix}:F> (<t:{unix}:R>), "
            f"{community.meeting_minutes} minutes. Join: {link}"
        )
        if update is not None and sequence > 0:
            content += f" ({inert(update)})"
        cant = [
            (first_name(p.name), url)
            for p in people
            if (url := cant_link((links or {}).get(p.email), meeting.uid)) is not None
        ]
        if cant:
            content += "\nCan't make it? " + " · ".join(
                f"{inert(who)}: <{url}>" for who, url in cant
            )
    body = {
        "content": content,
        # only the members of this meeting are pinged, whatever the text contains
        "allowed_mentions": {"parse": [], "users": users},
        "attachments": [{"id": 0, "filename": "invite.ics"}],
    }
    key = DeliveryKey(meeting.uid, "webhook", Channel.DISCORD, kind, sequence)
    return Outgoing(key, json.dumps(body, ensure_ascii=False).encode(), ics, str(key))


def inert(text: str) -> str:
    r"""``text`` as Discord shows it literally: no mention, no markdown, no link.

    A backslash before each character Discord's markdown gives a meaning to (``*bold*``,
    ``[masked](https://…)`` links, ``<@123>`` and ``<#channel>`` mentions, ``<t:…>``, the ``:``
    of an address that Discord would turn into a link), and a zero-width space after each ``@``
    so ``@everyone`` and ``@here`` read as text. ``allowed_mentions`` already stops the pings;
    this keeps the text from even looking like one.

    >>> inert("@everyone [free](https://evil.example) <@&42> **Ada**")
    '@\u200beveryone \\[free\\](https\\://evil.example) \\<@\u200b&42\\> \\*\\*Ada\\*\\*'
    """
    return _MARKDOWN.sub(r"\\\1", text).replace("@", "@\u200b")


# Discord's markdown: emphasis, code, spoilers, quotes, headings, masked links, mentions, and
# the scheme separator of a bare link. A backslash before any of them shows it as itself.
_MARKDOWN = re.compile(r"([\\*_~`|<>\[\]#:])")


def _is_user_id(value: str | None) -> bool:
    """A Discord user id (a snowflake: ASCII digits), the only thing put inside ``<@…>``."""
    return value is not None and value.isascii() and value.isdigit()


def round_posts(
    round_: Round,
    community: Community,
    *,
    now: dt.datetime,
    links: Mapping[str, MemberLinks] | None = None,
) -> list[Outgoing]:
    """Every Discord post of a round (the left-out are not named in a shared channel);
    ``links``: each attendee's "can't make it" link (see the module's docstring)."""
    return [
        discord_post(
            m,
            community,
            round_.week,
            sequence=m.sequence,
            now=now,
            links=links,
        )
        for m in round_.meetings
    ]
