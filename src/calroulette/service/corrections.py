"""An email corrected in members.toml reaches the people it concerns.

A member's address was mistyped; their invitation bounced (or is still waiting); the organizer
fixes the address in members.toml. The member is recognised by their calendar address (its keyed
hash, :mod:`calroulette.store.identities`), the one thing that did not change. In every round
whose meetings are still to come:

- the round names the new address instead of the old one (its meetings, its left-out);
- a sent round's messages to the old address that have not gone out are replaced: the meeting
  goes to everyone again as an updated invitation (SEQUENCE+1) listing the corrected attendee,
  so the partner's calendar no longer shows a dead address; one that did go out to the old
  address gets a cancellation there (someone else may have it); a note to a member left out
  goes to the new address;
- an unsent round just takes the new address: `send` invites it.

All of it in one transaction per correction, recorded in the ledger like every change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from calroulette.config import Community
from calroulette.delivery import render_change, render_round
from calroulette.invites import DeliveryKey, Kind, Outgoing, unmatched_uid
from calroulette.invites.link import MemberLinks
from calroulette.matching import Meeting, Round, RoundStatus
from calroulette.store import DeliveryStatus, Store
from calroulette.timeutil import IsoWeek


@dataclass(frozen=True, slots=True)
class Correction:
    week: IsoWeek
    old: str
    new: str
    recorded: int  # messages recorded for it (0 for a round not sent yet)


def correct_emails(
    store: Store, community: Community, since: IsoWeek, now: dt.datetime
) -> tuple[Correction, ...]:
    """Apply every email correction that members.toml shows to the rounds from ``since`` on."""
    with store.transaction():
        store.identities.remember(((m.email, m.calendar) for m in community.members), now)
    current = {m.email for m in community.members}
    holders: dict[str, list[str]] = {}
    for m in community.members:
        holders.setdefault(store.identities.key(m.calendar), []).append(m.email)
    # a calendar shared by several members names none of them
    by_key = {key: emails[0] for key, emails in holders.items() if len(emails) == 1}
    done: list[Correction] = []
    for week in store.rounds.weeks():
        if week < since:
            continue
        round_ = store.rounds.load(week)
        if round_ is None:
            continue
        named = _named(round_)
        for old in sorted(named - current):
            key = store.identities.key_of(old)
            new = by_key.get(key) if key is not None else None
            if new is None or new in named:
                continue
            done.append(_correct(store, community, round_, old, new, now))
            round_ = store.rounds.load(week)
            assert round_ is not None
            named = _named(round_)
    return tuple(done)


def _named(round_: Round) -> set[str]:
    return {e for m in round_.meetings for e in m.members} | {u.member for u in round_.unmatched}


def _correct(
    store: Store, community: Community, round_: Round, old: str, new: str, now: dt.datetime
) -> Correction:
    week = round_.week
    outgoing: list[Outgoing] = []
    with store.transaction():
        store.rounds.rename(week, old, new)
        if round_.status is RoundStatus.SENT:
            meeting = round_.meeting_of(old)
            if meeting is not None and meeting.end > now:
                outgoing += _meeting_messages(store, community, week, meeting, old, new, now)
            left_out = round_.unmatched_of(old)
            waiting = _unsent(store, week, unmatched_uid(week), old)
            if left_out is not None and waiting:
                store.deliveries.replace(waiting)
                note = replace(round_, meetings=(), unmatched=(replace(left_out, member=new),))
                links = _links(store, community, [new], now)
                outgoing += render_round(note, community, now=now, links=links)
        recorded = store.deliveries.record(week, outgoing, now)
    return Correction(week, old, new, recorded)


def _meeting_messages(
    store: Store,
    community: Community,
    week: IsoWeek,
    meeting: Meeting,
    old: str,
    new: str,
    now: dt.datetime,
) -> list[Outgoing]:
    """The updated invitation to everyone, and a cancellation to the old address when it was
    sent the meeting; the old address's messages still to go are replaced."""
    rows = store.deliveries.rows(week=week, meeting=meeting.uid)
    reached_old = any(r.key.recipient == old and r.status is DeliveryStatus.SENT for r in rows)
    store.deliveries.replace(_unsent(store, week, meeting.uid, old))
    sequence = meeting.sequence + 1
    members = tuple(sorted(new if e == old else e for e in meeting.members))
    updated = replace(meeting, members=members, sequence=sequence)
    store.rounds.change(updated)
    links = _links(store, community, members, now)
    out = render_change(updated, community, week, kind=Kind.REQUEST, now=now, links=links)
    if reached_old:  # no links for the old address: it is not a member's any more
        gone = replace(meeting, sequence=sequence)
        cancel = render_change(gone, community, week, kind=Kind.CANCEL, now=now)
        out += [o for o in cancel if o.key.recipient == old]
    return out


def _links(
    store: Store, community: Community, emails: Sequence[str], now: dt.datetime
) -> dict[str, MemberLinks]:
    from .sending import links_for  # .sending imports this module

    return links_for(community, store, emails, now=now)


def _unsent(store: Store, week: IsoWeek, meeting_uid: str, recipient: str) -> list[DeliveryKey]:
    """The keys of ``recipient``'s messages about ``meeting_uid`` that have not gone out."""
    return [
        r.key
        for r in store.deliveries.rows(week=week, meeting=meeting_uid)
        if r.key.recipient == recipient
        and r.status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
    ]
