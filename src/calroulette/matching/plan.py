"""plan_round: a week's participants → a maximum matching → meetings with times, and a reason for
everyone left out.

The objectives, in order: (1) as many members in a meeting as possible, a *maximum* matching of
the compatibility graph; (2) members left out of the previous round first; (3) pairs who never met,
then pairs who met longest ago; (4) shared topics; ties broken by a generator seeded from the
community's name and the week (or ``seed``), so the same inputs give the same round.

Two engines, both exactly maximum in (1):

- up to ``exact_limit`` compatible pairs (a community of a hundred or so), networkx's weighted
  blossom with ``maxcardinality=True`` on integer weights that encode (2)–(4) and the random
  tie-break lexicographically, one connected component at a time: the round is optimal in every
  objective;
- above it (networkx's weighted blossom is pure Python: 0.4 s at 700 pairs, 1.5 s at 1,700, 7 s at
  4,800 pairs (250 members), minutes at 1,000 members), a greedy matching that takes members in
  the order of (2), fewest compatible partners first, each with their best partner by (2)–(4);
  then Edmonds' augmenting paths (:mod:`.blossom`) grow it to a maximum matching. Augmenting
  never unmatches anyone, so (2) is kept as far as the greedy order reached it; (3) and (4) are
  best effort. ``bench/matching.py`` measures it against networkx.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from calroulette.availability import FreeTime
from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.intervals import Interval
from calroulette.timeutil import IsoWeek, ensure_utc

from .blossom import augment_to_maximum
from .compatibility import (
    AGO_CAP,
    TOPICS_CAP,
    Pool,
    build_pool,
    feed_errors,
    first_next,
    sits_out,
)
from .grid import SlotGrid, build_grid
from .model import History, Meeting, Round
from .reasons import Unmatched

EXACT_LIMIT = 1_000  # compatible pairs for the exact engine: under a second of networkx
_LIST_PAIRS_UP_TO = 600  # participants: above this, never list every pair just to count them
ALTERNATIVES = 3
_TIE_RANGE = 1 << 16


def default_seed(community_name: str, week: IsoWeek) -> int:
    """A stable seed from the community's name and the week (not Python's salted ``hash``).

    >>> default_seed("Data Folk Coffee", IsoWeek(2026, 49)) == default_seed(
    ...     "Data Folk Coffee", IsoWeek(2026, 49))
    True
    """
    digest = hashlib.sha256(f"{community_name}\x1f{week}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


def meeting_uid(
    community_name: str, week: IsoWeek, members: tuple[str, ...], seed: int, secret: str
) -> str:
    """Stable for the same meeting of the same round; not guessable without the history's secret."""
    text = "\x1f".join((secret, community_name, str(week), str(seed), *sorted(members)))
    return hashlib.sha256(text.encode()).hexdigest()[:32] + "@calroulette"


def plan_round(
    community: Community,
    week: IsoWeek,
    free: Mapping[str, FreeTime | FeedError],
    now: dt.datetime,
    history: History | None = None,
    seed: int | None = None,
    *,
    exact_limit: int = EXACT_LIMIT,
) -> Round:
    """Plan ``week``'s round from everyone's free time (``availability.free_times``).

    ``now`` is when the run happens: no meeting starts before ``now + min_notice_hours``.
    ``history`` holds the earlier rounds only (the store's ``history(week)``).
    """
    history = history if history is not None else History()
    seed = default_seed(community.name, week) if seed is None else seed
    rng = random.Random(seed)
    grid = build_grid(
        week,
        community.timezone,
        slot_minutes=community.slot_minutes,
        meeting_minutes=community.meeting_minutes,
        earliest=ensure_utc(now) + dt.timedelta(hours=community.min_notice_hours),
    )
    left_out: dict[str, Unmatched] = {}
    participants: list[Member] = []
    for member in community.members:
        why = sits_out(member, week, free.get(member.email), history)
        if why is None:
            participants.append(member)
        else:
            left_out[member.email] = why
    pool = build_pool(community, week, participants, free, history, grid)
    tie = [rng.random() for _ in range(pool.n)]
    edges = _pairs(pool) if pool.n <= _LIST_PAIRS_UP_TO else None
    if edges is not None and len(edges) <= exact_limit:
        groups = _exact(pool, edges, rng)
    else:
        groups = _greedy_then_augment(pool, tie)
    if community.allow_triples:
        _add_triples(pool, groups, tie)
    days = _day_ranges(grid, community.timezone)
    meetings = [
        _meeting(community, week, seed, history.secret, pool, grid, days, group) for group in groups
    ]
    placed = {i for group in groups for i in group}
    for i in range(pool.n):
        if i not in placed:
            member = pool.members[i]
            why = pool.reason_left_out(i, week, history, community)
            left_out[member.email] = replace(why, first_next=first_next(why, member, week, history))
    return Round(
        week=week,
        seed=seed,
        meetings=tuple(sorted(meetings, key=lambda m: (m.start, m.members))),
        unmatched=tuple(why for _, why in sorted(left_out.items())),
        errors=tuple(sorted(feed_errors(community, free), key=lambda e: e.member)),
    )


# --- engines ------------------------------------------------------------------------------------


def _pairs(pool: Pool) -> list[tuple[int, int]]:
    return [(i, j) for i in range(pool.n) for j in pool.neighbors(i) if j > i]


def _exact(pool: Pool, edges: list[tuple[int, int]], rng: random.Random) -> list[list[int]]:
    """Maximum cardinality, then the best (2)–(4) and tie-break: exact, per component."""
    # Imported here, not at the top: networkx takes ~0.2 s to import, and every command that
    # imports the matching package (send, cancel, history...) would pay it without matching.
    import networkx as nx

    half = pool.n // 2 + 1
    maxima = (2, 1, AGO_CAP, TOPICS_CAP, _TIE_RANGE - 1)
    graph = nx.Graph()
    graph.add_nodes_from(range(pool.n))
    for i, j in edges:
        weight = 0
        for value, top in zip(
            (*pool.preference(i, j), rng.randrange(_TIE_RANGE)), maxima, strict=True
        ):
            # Each level's unit outweighs the largest sum the levels below can reach over any
            # matching (at most n/2 edges), so the total compares lexicographically.
            weight = weight * (half * top + 1) + value
        graph.add_edge(i, j, weight=weight)
    groups: list[list[int]] = []
    for component in sorted(nx.connected_components(graph), key=min):
        if len(component) < 2:
            continue
        sub = graph.subgraph(sorted(component))
        matched = nx.max_weight_matching(sub, maxcardinality=True, weight="weight")
        groups.extend(sorted([min(a, b), max(a, b)] for a, b in matched))
    return sorted(groups)


def _greedy_then_augment(pool: Pool, tie: list[float]) -> list[list[int]]:
    n = pool.n
    degree = np.array([int(pool.compatible(i).sum()) for i in range(n)], dtype=np.int64)
    order = sorted(range(n), key=lambda i: (not pool.first[i], degree[i], tie[i]))
    mate = [-1] * n
    free = np.ones(n, dtype=np.bool_)
    ties = np.array(tie)
    for v in order:
        if mate[v] != -1 or degree[v] == 0:
            continue
        candidates = np.flatnonzero(pool.compatible(v) & free)
        if candidates.size == 0:
            continue
        best = int(candidates[np.argmax(_scores(pool, v, candidates, degree, ties))])
        mate[v], mate[best] = best, v
        free[v] = free[best] = False
    augment_to_maximum(n, mate, pool.neighbors, (v for v in order if degree[v] > 0))
    return sorted([v, mate[v]] for v in range(n) if v < mate[v])


def _scores(
    pool: Pool,
    v: int,
    candidates: np.typing.NDArray[np.int64],
    degree: np.typing.NDArray[np.int64],
    ties: np.typing.NDArray[np.float64],
) -> np.typing.NDArray[np.float64]:
    """Objectives (2)–(4) for ``v`` with each candidate as one float, then fewest partners, then
    the tie-break (the ranges below keep the levels apart within float64's 53 bits)."""
    never = np.ones(candidates.size, dtype=np.float64)
    ago = np.zeros(candidates.size, dtype=np.float64)
    if pool.ago[v]:
        met = np.array(sorted(pool.ago[v]), dtype=np.int64)
        at = np.searchsorted(candidates, met)
        at_ok = at < candidates.size
        hit = at[at_ok][candidates[at[at_ok]] == met[at_ok]]
        never[hit] = 0.0
        ago[hit] = [min(pool.ago[v][int(candidates[k])], AGO_CAP) for k in hit]
    topics = np.minimum(np.bitwise_count(pool.topics[candidates] & pool.topics[v]), TOPICS_CAP)
    rarity = 1.0 - degree[candidates] / (pool.n + 1.0)
    return (  # type: ignore[no-any-return]
        pool.first[candidates] * 1e12
        + never * 1e10
        + ago * 1e7
        + topics * 1e5
        + rarity * 1e3
        + ties[candidates]
    )


def _add_triples(pool: Pool, groups: list[list[int]], tie: list[float]) -> None:
    """Seat each left-out member who can meet both members of a pair at one shared slot."""
    group_of = {i: g for g in groups for i in g}
    left = [i for i in range(pool.n) if i not in group_of and pool.masks[i]]
    left.sort(key=lambda i: (not pool.first[i], tie[i]))
    for u in left:
        best: tuple[tuple[int, ...], float] | None = None
        chosen: list[int] | None = None
        for j in pool.neighbors(u):
            group = group_of.get(j)
            if group is None or len(group) != 2 or j != group[0]:
                continue
            a, b = group
            if not pool.can_meet(u, b) or not pool.masks[u] & pool.masks[a] & pool.masks[b]:
                continue
            pa, pb = pool.preference(u, a), pool.preference(u, b)
            key = (tuple(x + y for x, y in zip(pa, pb, strict=True)), tie[a])
            if best is None or key > best:
                best, chosen = key, group
        if chosen is not None:
            chosen.append(u)
            chosen.sort()
            group_of[u] = chosen


# --- meetings -----------------------------------------------------------------------------------


def _day_ranges(grid: SlotGrid, zone: dt.tzinfo) -> list[tuple[int, int]]:
    """Slot index ranges ``[low, high]`` of each local day (in ``zone``) of the grid."""
    ranges: list[tuple[int, int]] = []
    current: dt.date | None = None
    for k in range(grid.first, grid.last + 1):
        day = grid.start(k).astimezone(zone).date()
        if day != current:
            ranges.append((k, k))
            current = day
        else:
            ranges[-1] = (ranges[-1][0], k)
    return ranges


def _meeting(
    community: Community,
    week: IsoWeek,
    seed: int,
    secret: str,
    pool: Pool,
    grid: SlotGrid,
    days: list[tuple[int, int]],
    group: list[int],
) -> Meeting:
    shared = -1
    for i in group:
        shared &= pool.masks[i]
    first = (shared & -shared).bit_length() - 1
    alternatives = other_starts(grid, days, shared, first)
    members = tuple(sorted(pool.members[i].email for i in group))
    slot = grid.slot(first)
    return Meeting(
        uid=meeting_uid(community.name, week, members, seed, secret),
        members=members,
        start=slot.start,
        end=slot.end,
        alternatives=tuple(alternatives),
    )


def other_starts(
    grid: SlotGrid, days: list[tuple[int, int]], shared: int, first: int, limit: int = ALTERNATIVES
) -> tuple[Interval, ...]:
    """Up to ``limit`` other starts in ``shared`` (the slots everyone is free) for a meeting at
    slot ``first``, earliest first, none overlapping the meeting or each other.

    Other days first: the earliest start of each other day (``days``: the slot ranges of each
    local day, :func:`_day_ranges`) that overlaps nothing chosen, for as many days as
    ``limit``. Only when no other day has one (a pair who share two hours on Tuesday and
    nothing else), starts on the meeting's own day, the latest first: as far from the meeting
    (its earliest shared start) as they can be, each a whole meeting from the next, which also
    fits the most of them in."""
    gap = -(-grid.duration // grid.step)  # slots a meeting covers: a start closer overlaps it
    near = (1 << (2 * gap - 1)) - 1  # the starts within gap - 1 slots either side of one

    def clear(mask: int, k: int) -> int:
        low = k - gap + 1
        return mask & ~(near << low if low >= 0 else near >> -low)

    free = clear(shared, first)
    chosen: list[int] = []
    own: tuple[int, int] | None = None
    for low, high in days:
        if low <= first <= high:
            own = (low, high)
            continue
        window = (free >> low) & ((1 << (high - low + 1)) - 1)
        if window and len(chosen) < limit:
            k = low + (window & -window).bit_length() - 1
            chosen.append(k)
            free = clear(free, k)
    if not chosen and own is not None:
        low, high = own
        free &= ((1 << (high - low + 1)) - 1) << low
        while free and len(chosen) < limit:
            k = free.bit_length() - 1
            chosen.append(k)
            free = clear(free, k)
    return tuple(grid.slot(k) for k in sorted(chosen))
