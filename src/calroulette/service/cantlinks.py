"""The "can't make it" links: one for each attendee of each meeting, signed by the service and
checked when it is followed.

A link's token (:attr:`Purpose.CANT`) names the member and the meeting (subject
``"<email> <uid>"``) and carries the member's link version (``store.links``), like the manage
links: asking for a new manage link revokes these too. It lives for
:attr:`Purpose.max_age` (21 days: invitations go out a week or two ahead); the page refuses it
once the meeting has begun anyway.

Light on purpose: ``send`` signs these for every attendee of a round, and must not import what
reading calendars needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from os import PathLike

from calroulette.config import Community
from calroulette.errors import UsageError
from calroulette.invites.link import MemberLinks
from calroulette.matching import Meeting
from calroulette.store import Store
from calroulette.timeutil import UTC
from calroulette.tokens import Purpose, sign

from .memberlinks import LinkError, LinkProblem, verified
from .web import secret_key

Config = str | PathLike[str]
FEW = 20  # members whose meetings are looked up one by one; more: the upcoming rounds whole


@dataclass(frozen=True, slots=True)
class Links:
    """A member's links for the emails and posts of one change: their page and one-click
    unsubscribe (empty for a Discord post, which carries neither), and their "can't make it"
    link for each of their meetings to come (meeting UID → address)."""

    manage: str
    unsubscribe: str
    cant: Mapping[str, str] = field(default_factory=dict)


def subject(email: str, uid: str) -> str:
    return f"{email} {uid}"


def cant_url(
    community: Community, key: str, email: str, uid: str, *, version: int, now: dt.datetime
) -> str | None:
    base = community.web.base_url
    if base is None:
        return None
    token = sign(key, Purpose.CANT, subject(email, uid), now=now, version=version)
    return f"{base.rstrip('/')}/cant/{token}"


def cant_links(
    community: Community, store: Store, meeting: Meeting, *, now: dt.datetime
) -> dict[str, str]:
    """Each member attendee's "can't make it" link for ``meeting``, signed at ``now``; empty
    without ``[web] base_url`` or a signing key."""
    return {
        email: by_uid[meeting.uid]
        for email, by_uid in upcoming_links(
            community, store, meeting.members, now=now, meetings=[meeting]
        ).items()
        if meeting.uid in by_uid
    }


def upcoming_links(
    community: Community,
    store: Store,
    emails: Iterable[str],
    *,
    now: dt.datetime,
    meetings: Iterable[Meeting] | None = None,
) -> dict[str, dict[str, str]]:
    """For each of ``emails`` who is a member: their link for each of ``meetings`` they attend
    (default: their active meetings that have not begun, any round), by meeting UID."""
    key = secret_key(community)
    if key is None or community.web.base_url is None:
        return {}
    wanted = sorted({e for e in emails if community.member(e) is not None})
    if not wanted:
        return {}
    chosen = list(meetings) if meetings is not None else _upcoming(store, wanted, now)
    versions = store.links.versions()
    out: dict[str, dict[str, str]] = {}
    people = set(wanted)
    for meeting in chosen:
        for email in meeting.members:
            if email not in people:
                continue
            url = cant_url(
                community, key, email, meeting.uid, version=versions.get(email, 0), now=now
            )
            if url is not None:
                out.setdefault(email, {})[meeting.uid] = url
    return out


def with_cant(
    community: Community,
    store: Store,
    emails: Iterable[str],
    links: Mapping[str, MemberLinks],
    *,
    now: dt.datetime,
    meetings: Iterable[Meeting] | None = None,
) -> dict[str, MemberLinks]:
    """``links`` (by email) with each member's "can't make it" links added; a member with
    those only (a Discord post's) gets empty manage and unsubscribe links, which posts never
    show. Unchanged when there are none to add (no web page, no key)."""
    cant = upcoming_links(community, store, emails, now=now, meetings=meetings)
    if not cant:
        return dict(links)
    out: dict[str, MemberLinks] = dict(links)
    for email in sorted({*links, *cant}):
        own = links.get(email)
        out[email] = Links(
            own.manage if own is not None else "",
            own.unsubscribe if own is not None else "",
            cant.get(email, {}),
        )
    return out


def _upcoming(store: Store, emails: list[str], now: dt.datetime) -> list[Meeting]:
    """The active meetings of ``emails`` that have not begun: looked up member by member for a
    few, else from the rounds of the weeks not over yet (one query each, not one per member)."""
    found: dict[str, Meeting] = {}
    if len(emails) <= FEW:
        for email in emails:
            for f in store.rounds.find(email):
                if f.meeting.status.active and f.meeting.start > now:
                    found[f.meeting.uid] = f.meeting
        return list(found.values())
    for week in store.rounds.weeks():
        if week.bounds(UTC)[1] + dt.timedelta(days=1) <= now:  # over, in every zone
            continue
        round_ = store.rounds.load(week)
        for meeting in round_.meetings if round_ is not None else ():
            if meeting.start > now:
                found[meeting.uid] = meeting
    return list(found.values())


@dataclass(frozen=True, slots=True)
class CantClaim:
    email: str
    uid: str


def read_token(
    community: Community, store: Store | None, token: str, *, now: dt.datetime, key: str | None
) -> CantClaim:
    """The member and meeting a valid "can't make it" token names, or :class:`LinkError`:
    ``invalid`` (forged, damaged, for another purpose or key), ``expired`` (too old, or older
    than the member's latest link)."""
    try:
        claim = verified(community, key, Purpose.CANT, token, now)
    except UsageError:  # no key at all: no link of ours can be valid
        raise LinkError(LinkProblem.INVALID) from None
    email, _, uid = claim.subject.partition(" ")
    if not email or not uid:
        raise LinkError(LinkProblem.INVALID)
    version = store.links.version(email) if store is not None else 0
    if claim.version != version:
        raise LinkError(LinkProblem.EXPIRED)
    return CantClaim(email, uid)
