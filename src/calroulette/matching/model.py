"""The values a round is made of: the contract with the store, invites, delivery and the CLI.

A :class:`Round` is what :func:`~calroulette.matching.plan.plan_round` returns and what the store
keeps; :class:`History` is what the store hands back so the next round can respect the past.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from calroulette.intervals import Interval
from calroulette.timeutil import IsoWeek

from .reasons import Unmatched


class RoundStatus(StrEnum):
    PLANNED = "planned"  # recorded; nobody has been sent anything
    SENT = "sent"  # every message of the round was recorded for delivery


class MeetingStatus(StrEnum):
    """Where a meeting stands. ``planned`` → ``invited`` when its round is sent; ``moved`` once
    an updated invitation went out; ``cancelled`` at any point (nobody is told while planned)."""

    PLANNED = "planned"
    INVITED = "invited"
    MOVED = "moved"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        """Still going to happen: it counts for the cooldown and blocks its members' time."""
        return self is not MeetingStatus.CANCELLED


@dataclass(frozen=True, slots=True)
class Meeting:
    uid: str  # stable for the meeting: the iCalendar UID of its invitation
    members: tuple[str, ...]  # emails, two (or three with allow_triples), sorted
    start: dt.datetime  # UTC
    end: dt.datetime  # UTC
    alternatives: tuple[Interval, ...] = ()  # up to three other shared slots, on other days
    sequence: int = 0  # the iCalendar SEQUENCE of the latest invitation or cancellation
    status: MeetingStatus = MeetingStatus.PLANNED


@dataclass(frozen=True, slots=True)
class RoundError:
    """A member whose calendar could not be used this week (they are also in ``unmatched``)."""

    member: str  # email
    error: str  # "stage: what happened (how to fix)", already safe to show


@dataclass(frozen=True, slots=True)
class Round:
    week: IsoWeek
    seed: int
    meetings: tuple[Meeting, ...]
    unmatched: tuple[Unmatched, ...]
    status: RoundStatus = RoundStatus.PLANNED
    errors: tuple[RoundError, ...] = ()

    def meeting_of(self, email: str) -> Meeting | None:
        """The meeting ``email`` is in, if any."""
        wanted = email.strip().lower()
        return next((m for m in self.meetings if wanted in m.members), None)

    def unmatched_of(self, email: str) -> Unmatched | None:
        """Why ``email`` is in no meeting, when they are not."""
        wanted = email.strip().lower()
        return next((u for u in self.unmatched if u.member == wanted), None)


Pair = tuple[str, str]  # two emails, sorted


def pair(a: str, b: str) -> Pair:
    return (a, b) if a <= b else (b, a)


@dataclass(frozen=True, slots=True)
class History:
    """What earlier rounds (strictly before the week being planned) say, as plain values.

    - ``last_met``: every pair that shared a meeting, with the latest week they did;
    - ``next_met``: every pair that shares a meeting in a round *after* the week being planned
      (planned ahead, then this week planned or re-planned), with the earliest such week: the
      cooldown holds on both sides of a meeting, whatever order the weeks were planned in;
      neither counts a meeting that did not happen (an attendee answered "did you meet?" with
      no: ``not_held``), so a pair that did not meet may be paired again before the cooldown
      ends; a meeting nobody answered for counts, as one that happened;
    - ``left_out``: members left out of the previous round for lack of a partner (not the paused
      or those sitting a week out by their own ``frequency``): they come first this time;
    - ``last_matched``: the latest week each member was in a meeting, for ``frequency`` (a
      meeting that did not happen counts here: ``frequency`` is how often a member wants to be
      invited, and they were);
    - ``next_matched``: the earliest week after the one being planned that each member is in a
      meeting, for ``frequency`` too (like ``next_met`` for the cooldown);
    - ``secret``: a random value kept with the history, so meeting UIDs (and the meeting links
      made from them) cannot be guessed from the community's name and the week;
    - ``next_round``: the earliest week after the one being planned that already has a round.
      When it is the very next week, that round was planned without this one's left-out members
      first, so nobody may be told they come first next week.
    """

    last_met: Mapping[Pair, IsoWeek] = field(default_factory=dict)
    left_out: frozenset[str] = frozenset()
    last_matched: Mapping[str, IsoWeek] = field(default_factory=dict)
    secret: str = ""
    next_met: Mapping[Pair, IsoWeek] = field(default_factory=dict)
    next_matched: Mapping[str, IsoWeek] = field(default_factory=dict)
    next_round: IsoWeek | None = None

    @classmethod
    def from_rounds(
        cls,
        rounds: list[Round],
        *,
        secret: str = "",
        week: IsoWeek | None = None,
        not_held: Collection[str] = frozenset(),
    ) -> History:
        """A history from rounds in any order; the latest one decides ``left_out``. With
        ``week``, the history for planning it: rounds before it as above, and the pairs of the
        rounds after it as ``next_met`` (its own round is ignored); without, all are earlier.
        Cancelled meetings do not count; those in ``not_held`` (UIDs of meetings an attendee
        said did not happen) count for ``frequency`` but not for the cooldown."""
        if week is not None:
            later = [r for r in rounds if r.week > week]
            earlier = cls.from_rounds(
                [r for r in rounds if r.week < week], secret=secret, not_held=not_held
            )
            next_met: dict[Pair, IsoWeek] = {}
            next_matched: dict[str, IsoWeek] = {}
            for future in sorted(later, key=lambda r: r.week, reverse=True):
                for meeting in future.meetings:
                    if not meeting.status.active:
                        continue
                    for i, a in enumerate(meeting.members):
                        next_matched[a] = future.week
                        if meeting.uid in not_held:
                            continue
                        for b in meeting.members[i + 1 :]:
                            next_met[pair(a, b)] = future.week
            return replace(
                earlier,
                next_met=next_met,
                next_matched=next_matched,
                next_round=min((r.week for r in later), default=None),
            )
        last_met: dict[Pair, IsoWeek] = {}
        last_matched: dict[str, IsoWeek] = {}
        for past in sorted(rounds, key=lambda r: r.week):
            for meeting in past.meetings:
                if not meeting.status.active:
                    continue
                for i, a in enumerate(meeting.members):
                    last_matched[a] = past.week
                    if meeting.uid in not_held:
                        continue
                    for b in meeting.members[i + 1 :]:
                        last_met[pair(a, b)] = past.week
        latest = max(rounds, key=lambda r: r.week, default=None)
        left_out = frozenset(
            u.member for u in (latest.unmatched if latest else ()) if u.reason.comes_first
        )
        return cls(last_met, left_out, last_matched, secret)
