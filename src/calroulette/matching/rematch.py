"""One member at a time, in the week under way: the other times a pair can still meet, and a new
partner for someone whose partner cannot come.

Pure, like the planner: free time, the history, the meetings people already have and ``now``
come in as arguments. The rules are the planner's own (:mod:`.compatibility`): a start on the
week's slot grid at least ``min_notice_hours`` ahead, free for the whole meeting in every
calendar, clear of the person's other meetings; and a partner who is not paused (nor sitting
the week out by their own ``frequency``), not in the cooldown with them, not on either's
``avoid`` list and, with ``separate_teams``, not a teammate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from calroulette.availability import FreeTime
from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.intervals import Interval, Intervals, merge, subtract
from calroulette.timeutil import IsoWeek, ensure_utc

from .compatibility import build_pool, own_choice
from .grid import SlotGrid, build_grid
from .model import History
from .plan import _day_ranges, other_starts

MAX_OPTIONS = 6  # other times the "can't make it" page offers
ALTERNATIVES = 3  # a new meeting's other times, chosen as a round's (plan.other_starts)


class Source(StrEnum):
    """Why someone may be offered as a new partner, in the order they are preferred."""

    UNMATCHED = "unmatched"  # left out of the week's round (not by their own choice)
    RELEASED = "released"  # their own meeting was cancelled by their partner this week
    STANDBY = "standby"  # opted in (``standby = true``) and without a meeting this week

    @property
    def rank(self) -> int:
        return {Source.UNMATCHED: 2, Source.RELEASED: 2, Source.STANDBY: 1}[self]


@dataclass(frozen=True, slots=True)
class Candidate:
    member: Member
    source: Source


@dataclass(frozen=True, slots=True)
class Rematch:
    """The partner picked, and when they meet."""

    partner: str  # email
    source: Source
    slot: Interval
    alternatives: tuple[Interval, ...] = ()


def week_grid(community: Community, week: IsoWeek, now: dt.datetime) -> SlotGrid:
    """``week``'s slot grid, from ``min_notice_hours`` after ``now`` (the planner's)."""
    return build_grid(
        week,
        community.timezone,
        slot_minutes=community.slot_minutes,
        meeting_minutes=community.meeting_minutes,
        earliest=ensure_utc(now) + dt.timedelta(hours=community.min_notice_hours),
    )


def shared_starts(
    grid: SlotGrid, free: Sequence[Intervals], busy: Intervals = ()
) -> list[Interval]:
    """Every slot of ``grid`` inside everyone's ``free`` time that overlaps none of ``busy``
    (their other meetings), earliest first."""
    if not free:
        return []
    mask = -1
    for spans in free:
        mask &= grid.mask(spans)
    blocked = merge(busy)
    out = []
    for k in grid.starts(max(mask, 0)):
        slot = grid.slot(k)
        if not any(b.start < slot.end and slot.start < b.end for b in blocked):
            out.append(slot)
    return out


def spread(slots: Sequence[Interval], limit: int = MAX_OPTIONS) -> list[Interval]:
    """At most ``limit`` of ``slots`` (sorted), spread over the stretches of free time they
    form: within a stretch only starts a whole meeting apart, and the first of every stretch
    before the second of any, so one long free afternoon does not fill the list with its half
    hours. Sorted by time."""
    runs: list[list[Interval]] = []
    for slot in slots:
        if runs and slot.start <= runs[-1][-1].end:
            if slot.start >= runs[-1][-1].end:  # a whole meeting after the last one kept
                runs[-1].append(slot)
        else:
            runs.append([slot])
    chosen: list[Interval] = []
    for depth in range(max((len(r) for r in runs), default=0)):
        for run in runs:
            if depth < len(run) and len(chosen) < limit:
                chosen.append(run[depth])
    return sorted(chosen)


def pick_partner(
    community: Community,
    week: IsoWeek,
    released: Member,
    candidates: Sequence[Candidate],
    free: Mapping[str, FreeTime | FeedError],
    history: History,
    *,
    now: dt.datetime,
    busy: Mapping[str, Intervals] | None = None,
    seed: str = "",
) -> Rematch | None:
    """The best new partner for ``released`` among ``candidates``, and their earliest shared
    start; None when nobody may meet them at a time both are free.

    Preferred, in order: the left-out and the released over stand-bys; then as a round prefers
    (members left out of the previous round, never met, met longest ago, shared topics); then
    the earliest start; ties broken by a hash of ``seed`` and the email (the same inputs give
    the same partner). ``busy``: each person's other meetings, whose times are not free."""
    busy = busy or {}
    own = free.get(released.email)
    if not isinstance(own, FreeTime):
        return None
    people = [released]
    sources: dict[str, Source] = {}
    for candidate in candidates:
        member = candidate.member
        if (
            member.email == released.email
            or member.email in sources
            or own_choice(member, week, history) is not None
            or not isinstance(free.get(member.email), FreeTime)
        ):
            continue
        people.append(member)
        sources[member.email] = candidate.source
    if len(people) < 2:
        return None
    usable: dict[str, FreeTime | FeedError] = {}
    for member in people:
        result = free[member.email]
        assert isinstance(result, FreeTime)
        usable[member.email] = replace(
            result, free=subtract(result.free, merge(busy.get(member.email, ())))
        )
    grid = week_grid(community, week, now)
    pool = build_pool(community, week, people, usable, history, grid)
    best: tuple[tuple[int, ...], str, int] | None = None
    for j in pool.neighbors(0):
        shared = pool.masks[0] & pool.masks[j]
        first = (shared & -shared).bit_length() - 1
        email = pool.members[j].email
        tie = int.from_bytes(hashlib.sha256(f"{seed}\x1f{email}".encode()).digest()[:6], "big")
        key = (sources[email].rank, *pool.preference(0, j), -first, tie)
        if best is None or key > best[0]:
            best = (key, email, j)
    if best is None:
        return None
    _, email, j = best
    shared = pool.masks[0] & pool.masks[j]
    first = (shared & -shared).bit_length() - 1
    return Rematch(email, sources[email], grid.slot(first), _alternatives(community, grid, shared))


def _alternatives(community: Community, grid: SlotGrid, shared: int) -> tuple[Interval, ...]:
    """Up to :data:`ALTERNATIVES` other starts, chosen as a round's meetings have them
    (:func:`.plan.other_starts`: other days first, then the same day, never overlapping)."""
    if not shared:
        return ()
    first = (shared & -shared).bit_length() - 1
    days = _day_ranges(grid, community.timezone)
    return other_starts(grid, days, shared, first, ALTERNATIVES)
