"""Who is "paused until they add free time": derived from the rounds, never stored.

A member whose last :data:`~calroulette.invites.notes.RESTING_WEEKS` rounds all left them out
for want of free time in their own calendar gets one note saying they are paused until they add
some (:mod:`.sending`), and shows so in ``members list`` and on their page. Nothing is written:
they stay in every round's reading, and the first round that finds free time pairs them.
"""

from __future__ import annotations

import datetime as dt

from calroulette.config import Community, Member, MemberStatus
from calroulette.invites.notes import RESTING_WEEKS
from calroulette.matching import Reason
from calroulette.store import Store, open_store
from calroulette.timeutil import IsoWeek


def resting_members(store: Store, community: Community, week: IsoWeek) -> set[str]:
    """The members "paused until they add free time": each of the last
    :data:`~calroulette.invites.notes.RESTING_WEEKS` rounds up to ``week`` (included) left
    them out with no free time in their calendar. Derived from the rounds, nothing stored: they
    stay in every round's reading, and a round that finds free time pairs them (and ends it)."""
    weeks = store.rounds.weeks_before(week.shifted(1))[:RESTING_WEEKS]  # latest first
    if len(weeks) < RESTING_WEEKS:
        return set()
    emails = [m.email for m in community.members]
    reasons = store.rounds.left_out_before(week.shifted(1), emails)
    return {
        email
        for email in emails
        if all(reasons.get((w, email)) is Reason.NO_FREE_TIME for w in weeks)
    }


def resting_now(community: Community, now: dt.datetime) -> frozenset[str]:
    """:func:`resting_members` as of the latest round planned up to next week (none without a
    history database: nothing is created)."""
    if not community.database.exists():
        return frozenset()
    with open_store(community.database, readonly=True) as store:
        horizon = IsoWeek.next_after(now, community.timezone).shifted(1)
        weeks = store.rounds.weeks_before(horizon)
        if not weeks:
            return frozenset()
        return frozenset(resting_members(store, community, weeks[0]))


def status_of(community: Community, member: Member, now: dt.datetime) -> MemberStatus:
    """The member's status today, "paused until free time" included."""
    status = member.status(now.astimezone(community.timezone).date())
    if status is MemberStatus.ACTIVE and member.email in resting_now(community, now):
        return MemberStatus.PAUSED_UNTIL_FREE
    return status
