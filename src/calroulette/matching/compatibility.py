"""Who takes part this week, and who can meet whom.

Taking part: not paused, a usable feed, and not too soon after their last meeting (or before their
next one, when a later week was planned first) for their ``frequency``. Two participants are
compatible when they share a slot (their masks AND to non-zero), have not met within
``cooldown_weeks``, neither avoids the other and, with ``separate_teams``, they are not teammates.
Each participant's slots are one row of a numpy array of 64-bit words, so one member's compatible
partners are a vectorised AND over everyone: a row costs microseconds even in a community of
10,000, and only the rows the matching needs are computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from calroulette.availability import FreeTime
from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.timeutil import IsoWeek

from . import reasons
from .grid import SlotGrid
from .model import History, RoundError, pair
from .reasons import Reason, Unmatched

COOLDOWN = "cooldown"
AVOID = "avoid"  # private: never shown, never part of a reason

AGO_CAP = 520  # weeks; "met ten years ago" and "met twenty years ago" are the same
TOPICS_CAP = 8

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


def sits_out(
    member: Member, week: IsoWeek, result: FreeTime | FeedError | None, history: History
) -> Unmatched | None:
    """Why ``member`` does not take part in ``week`` at all, or None when they do."""
    chosen = own_choice(member, week, history)
    if chosen is not None:
        return chosen
    if not isinstance(result, FreeTime):
        return reasons.feed_error(member.email, result)
    return None


def own_choice(member: Member, week: IsoWeek, history: History) -> Unmatched | None:
    """Why ``member`` sits ``week`` out by their own choice (paused, their ``frequency``)."""
    email = member.email
    if member.is_paused(week):
        until = member.paused_until if not member.paused else None
        return reasons.paused(email, until)
    every = member.frequency.value
    last = history.last_matched.get(email)
    if last is not None and week.weeks_since(last) < member.frequency.weeks:
        return reasons.frequency(email, every, last=last)
    following = history.next_matched.get(email)  # a later week planned first
    if following is not None and following.weeks_since(week) < member.frequency.weeks:
        return reasons.frequency(email, every, next_=following)
    return None


def first_next(left: Unmatched, member: Member, week: IsoWeek, history: History) -> bool:
    """Whether ``member``, left out of ``week`` for ``left.reason``, may be told they come first
    next week: the rules put them first in that round (they come first, and the round is not
    planned yet, nor do they sit it out by their own choice), and being first can get them a
    meeting there (they need not act first, and not everyone free at their times is still in
    the cooldown). ``history`` is the one ``week`` was planned against: a member left out of it
    has the same last meeting next week, and its later rounds are the next week's."""
    following = week.shifted(1)
    if not left.reason.comes_first or left.reason.tell_once:
        return False
    if history.next_round == following or own_choice(member, following, history) is not None:
        return False
    if left.reason is Reason.COOLDOWN:
        return left.cooldown_ends is not None and left.cooldown_ends <= following
    return True


def feed_errors(
    community: Community, free: Mapping[str, FreeTime | FeedError]
) -> tuple[RoundError, ...]:
    out = []
    for member in community.members:
        result = free.get(member.email)
        if result is None:
            out.append(RoundError(member.email, "calendar: not fetched"))
        elif isinstance(result, FeedError):
            out.append(RoundError(member.email, f"{result.stage}: {result.message}"))
    return tuple(out)


@dataclass(slots=True)
class Pool:
    """The participants of one round, indexed 0..n-1 in members.toml order."""

    members: list[Member]
    masks: list[int]  # slot bitmasks (Python ints), see grid.SlotGrid.mask
    words: npt.NDArray[np.uint64]  # the same masks as 64-bit words: words[w, i] is word w of i
    blocked: list[dict[int, str]]  # i -> {j: COOLDOWN | AVOID} for pairs that may not meet
    team: IntArray  # team id, -1 for none
    separate_teams: bool
    first: BoolArray  # left out of the previous round: comes first
    ago: list[dict[int, int]]  # i -> {j: weeks since they last met} (outside the cooldown)
    topics: npt.NDArray[np.uint64]  # topics as bits (hashed into 64 when there are more)

    @property
    def n(self) -> int:
        return len(self.members)

    def shares_time(self, i: int) -> BoolArray:
        """Who shares at least one slot with ``i`` (not ``i`` itself)."""
        hits: npt.NDArray[np.uint64] | None = None
        for w in range(self.words.shape[0]):
            mine = self.words[w, i]
            if mine:  # most members are free on a few days: skip the words where i is not
                part = self.words[w] & mine
                hits = part if hits is None else hits | part
        if hits is None:
            return np.zeros(self.n, dtype=np.bool_)
        row: BoolArray = hits != 0
        row[i] = False
        return row

    def compatible(self, i: int) -> BoolArray:
        """Who ``i`` may meet this week."""
        row = self.shares_time(i)
        if self.blocked[i]:
            row[list(self.blocked[i])] = False
        if self.separate_teams and self.team[i] >= 0:
            row &= self.team != self.team[i]
        return row

    def neighbors(self, i: int) -> list[int]:
        return list(np.flatnonzero(self.compatible(i)).tolist())

    def can_meet(self, i: int, j: int) -> bool:
        """One pair, without computing a row (for triples)."""
        if i == j or j in self.blocked[i] or not self.masks[i] & self.masks[j]:
            return False
        return not self.teammates(i, j)

    def preference(self, i: int, j: int) -> tuple[int, int, int, int]:
        """Objectives 2–4 for the pair, most important first: how many of the two were left out
        last time, never met before, weeks since they last met, shared topics."""
        weeks = self.ago[i].get(j)
        shared = bin(int(self.topics[i] & self.topics[j])).count("1")
        return (
            int(self.first[i]) + int(self.first[j]),
            1 if weeks is None else 0,
            0 if weeks is None else min(weeks, AGO_CAP),
            min(shared, TOPICS_CAP),
        )

    def reason_left_out(
        self, i: int, week: IsoWeek, history: History, community: Community
    ) -> Unmatched:
        """Why a participant ended up in no meeting. Never reveals an ``avoid`` list: a member
        whose only possible partners are avoided reads the same as one with nobody free.

        A teammate (with ``separate_teams``) can never be a partner, so one in the cooldown does
        not make the reason a cooldown: its end would change nothing."""
        email = self.members[i].email
        if not self.masks[i]:
            return reasons.no_free_time(email, community.min_notice_hours)
        shares = np.flatnonzero(self.shares_time(i)).tolist()
        if not shares:
            return reasons.no_shared_time(email)
        if self.compatible(i).any():
            return reasons.all_paired(email)
        outside = [j for j in shares if not self.teammates(i, j)]
        cooling = [j for j in outside if self.blocked[i].get(j) == COOLDOWN]
        if cooling:
            n = community.cooldown_weeks
            ends = [self._cooldown_ends(i, j, week, history, n) for j in cooling]
            return reasons.cooldown(email, n, min(ends))
        if len(outside) < len(shares):  # shares time only with teammates (the rest are avoided)
            return reasons.only_teammates(email)
        return reasons.no_shared_time(email)

    def teammates(self, i: int, j: int) -> bool:
        """``i`` and ``j`` may never meet for being on one team (``separate_teams``)."""
        return bool(self.separate_teams and self.team[i] >= 0 and self.team[i] == self.team[j])

    def _cooldown_ends(
        self, i: int, j: int, week: IsoWeek, history: History, cooldown_weeks: int
    ) -> IsoWeek:
        """The first week after ``week`` in which the pair ``i``, ``j`` (in the cooldown in
        ``week``) may meet again: past their last meeting's cooldown, unless a meeting of theirs
        planned ahead (``next_met``) has its own cooldown reach back to it."""
        key = pair(self.members[i].email, self.members[j].email)
        last, ahead = history.last_met.get(key), history.next_met.get(key)
        ends = week.shifted(1)
        if last is not None and week.weeks_since(last) <= cooldown_weeks:
            ends = last.shifted(cooldown_weeks + 1)
        if ahead is not None and ahead.weeks_since(ends) <= cooldown_weeks:
            ends = ahead.shifted(cooldown_weeks + 1)
        return ends


def build_pool(
    community: Community,
    week: IsoWeek,
    participants: list[Member],
    free: Mapping[str, FreeTime | FeedError],
    history: History,
    grid: SlotGrid,
) -> Pool:
    index = {m.email: i for i, m in enumerate(participants)}
    masks = []
    for member in participants:
        result = free[member.email]
        assert isinstance(result, FreeTime)
        masks.append(grid.mask(result.free))
    n = len(participants)
    n_words = (grid.size + 63) // 64
    words = np.zeros((n_words, n), dtype=np.uint64)
    low64 = (1 << 64) - 1
    for i, mask in enumerate(masks):
        for w in range(n_words):
            words[w, i] = (mask >> (64 * w)) & low64
    blocked: list[dict[int, str]] = [{} for _ in range(n)]
    ago: list[dict[int, int]] = [{} for _ in range(n)]
    since: dict[IsoWeek, int] = {}
    for (a, b), met in history.last_met.items():
        x, y = index.get(a), index.get(b)
        if x is None or y is None:
            continue
        if met not in since:
            since[met] = week.weeks_since(met)
        weeks = since[met]
        if weeks <= community.cooldown_weeks:
            blocked[x][y] = blocked[y][x] = COOLDOWN
        else:
            ago[x][y] = ago[y][x] = weeks
    for (a, b), met in history.next_met.items():  # a later week, planned before this one
        x, y = index.get(a), index.get(b)
        if x is not None and y is not None and met.weeks_since(week) <= community.cooldown_weeks:
            blocked[x][y] = blocked[y][x] = COOLDOWN
            ago[x].pop(y, None)
            ago[y].pop(x, None)
    for i, member in enumerate(participants):
        for other in member.avoid:
            j = index.get(other)
            if j is not None:
                blocked[i][j] = blocked[j][i] = AVOID
    teams = sorted({m.team for m in participants if m.team})
    team_id = {t: k for k, t in enumerate(teams)}
    team = np.array([team_id.get(m.team or "", -1) for m in participants], dtype=np.int64)
    topic_names = sorted({t for m in participants for t in m.topics})
    topic_bit = {t: k % 64 for k, t in enumerate(topic_names)}
    topics = np.array(
        [sum({1 << topic_bit[t] for t in m.topics}) for m in participants], dtype=np.uint64
    )
    first = np.array([m.email in history.left_out for m in participants], dtype=np.bool_)
    return Pool(
        participants,
        masks,
        words,
        blocked,
        team,
        community.separate_teams,
        first,
        ago,
        topics,
    )
