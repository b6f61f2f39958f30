"""Why a member is in no meeting: a code that decides behaviour, and the sentence people read.

The code (:class:`Reason`) is what the store keeps and what every rule reads: who comes first in
the next round, who gets a "no meeting for you" note. The message is rendered once, when the
round is planned, from the code and the facts of that week (a date, a number of weeks), and is
stored beside it only to be shown: no rule ever reads it back.
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
        """True when the member is put first in the next round, and is told so."""
        return not self.own_choice


@dataclass(frozen=True, slots=True)
class Unmatched:
    """A member in no meeting of a round."""

    member: str  # email
    reason: Reason
    message: str  # the organizer's sentence, rendered when the round was planned


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


def cooldown(member: str, cooldown_weeks: int) -> Unmatched:
    return Unmatched(
        member,
        Reason.COOLDOWN,
        f"cooldown: already met everyone free at the same time within {cooldown_weeks} weeks",
    )


def all_paired(member: str) -> Unmatched:
    return Unmatched(member, Reason.ALL_PAIRED, "everyone compatible is already paired")
