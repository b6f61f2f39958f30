"""Why a member is in no meeting: a code that decides behaviour, and the sentence people read.

The code (:class:`Reason`) is what the store keeps and what every rule reads: who comes first in
the next round, who gets a "no meeting for you" note, and whether that note is worth sending
every week. The message is the organizer's sentence, rendered once, when the round is planned,
from the code and the facts of that week (a date, a number of weeks), and stored beside it only
to be shown: no rule ever reads it back, and no member ever reads it (the note to a member is
written from the code and the facts, :mod:`calroulette.invites.notes`).

What "first" buys, from the planner (:mod:`.plan`): among the *maximum* matchings of the round,
the one that puts the most of last round's left-out members in a meeting (the greedy engine
takes them first). So a member who comes first is paired whenever someone they may meet is free
at the same time as them, unless another member who also comes first needs that same partner.
It never makes a partner: a member with no free time, an unreadable calendar, or only partners
still in the cooldown, stays out however first they are. :attr:`Unmatched.first_next` says,
for one member and the rules known when the round was planned, whether "you come first next
week" is both true and of any use.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from calroulette.errors import FeedError
from calroulette.timeutil import IsoWeek


class Reason(StrEnum):
    PAUSED = "paused"  # the member's choice: paused, or paused until a date
    FREQUENCY = "frequency"  # the member's choice: fortnightly or monthly, not this week
    FEED_ERROR = "feed-error"  # their calendar could not be read this week
    NO_FREE_TIME = "no-free-time"  # no free time far enough ahead in the week
    NO_SHARED_TIME = "no-shared-time"  # free, but at no time anyone else is
    ONLY_TEAMMATES = "only-teammates"  # shares time only with their own team (separate_teams)
    COOLDOWN = "cooldown"  # everyone free at the same time was met too recently
    ALL_PAIRED = "all-paired"  # a possible partner existed, but the maximum matching used them

    @property
    def own_choice(self) -> bool:
        """True when the member chose to sit out (paused, or their ``frequency``): they neither
        come first next time nor get a note."""
        return self in (Reason.PAUSED, Reason.FREQUENCY)

    @property
    def comes_first(self) -> bool:
        """True when the member is put first in the next round (``History.left_out``). Whether
        they are *told* so is :attr:`Unmatched.first_next`: being first does not always help."""
        return not self.own_choice

    @property
    def tell_once(self) -> bool:
        """True when the reason holds every week until the member acts: a calendar with no free
        time, or one that cannot be read. Nothing the rules do changes it (coming first included),
        so the same note every week tells them nothing new and teaches them to ignore our mail:
        it is sent the first time, and not again while every round since gave them the same
        reason (a round that met them or gave another reason ends the streak). An unreadable
        calendar is one of them, although a server can also fail on its own for a week: an
        outage that ends puts the member back in a meeting (or another reason), so the next
        failure is told again; one that lasts is the organizer's to chase, since `run` and
        `check` show it every week.

        The other reasons change with other people's calendars and the history (a cooldown
        ends on a known week), so each week's note says something new."""
        return self in (Reason.NO_FREE_TIME, Reason.FEED_ERROR)


@dataclass(frozen=True, slots=True)
class Unmatched:
    """A member in no meeting of a round, and what the rules say of the rounds after it.

    - ``first_next``: the next week's round will put them first, and that can get them a
      meeting: not for their own choice, not while they must act first (:attr:`Reason.tell_once`),
      not while everyone free at their times stays in the cooldown next week, not when they sit
      next week out by their own choice (paused, ``frequency``), and not when the next week was
      planned already (without them first);
    - ``cooldown_ends``: for :attr:`Reason.COOLDOWN`, the first week in which one of the pairs
      that kept them out this week may meet again (from the history and ``cooldown_weeks``).
    """

    member: str  # email
    reason: Reason
    message: str  # the organizer's sentence, rendered when the round was planned
    first_next: bool = False
    cooldown_ends: IsoWeek | None = None


def paused(member: str, until: dt.date | None) -> Unmatched:
    message = f"paused until {until.isoformat()}" if until is not None else "paused"
    return Unmatched(member, Reason.PAUSED, message)


def frequency(
    member: str, every: str, *, last: IsoWeek | None = None, next_: IsoWeek | None = None
) -> Unmatched:
    when = f"last met in {last}" if last is not None else f"meets in {next_}"
    return Unmatched(member, Reason.FREQUENCY, f"frequency: {every}, {when}")


def feed_error(member: str, error: FeedError | None) -> Unmatched:
    what = "calendar: not fetched" if error is None else f"{error.stage}: {error.message}"
    return Unmatched(member, Reason.FEED_ERROR, f"feed error: {what}")


def no_free_time(member: str, min_notice_hours: int) -> Unmatched:
    return Unmatched(
        member,
        Reason.NO_FREE_TIME,
        "no shared free time with anyone (no free time this week "
        f"at least {min_notice_hours} hours ahead)",
    )


def no_shared_time(member: str) -> Unmatched:
    return Unmatched(member, Reason.NO_SHARED_TIME, "no shared free time with anyone")


def only_teammates(member: str) -> Unmatched:
    return Unmatched(
        member, Reason.ONLY_TEAMMATES, "no shared free time with anyone outside their team"
    )


def cooldown(member: str, cooldown_weeks: int, ends: IsoWeek | None = None) -> Unmatched:
    return Unmatched(
        member,
        Reason.COOLDOWN,
        f"cooldown: already met everyone free at the same time within {cooldown_weeks} weeks",
        cooldown_ends=ends,
    )


def all_paired(member: str) -> Unmatched:
    return Unmatched(member, Reason.ALL_PAIRED, "everyone compatible is already paired")
