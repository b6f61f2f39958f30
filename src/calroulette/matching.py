"""Plan a week's round: compatibility, history rules, a maximum matching, meeting times.

(The data shapes below are the contract with invites, delivery, store and the CLI; the planning
itself is built by the matching issue.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from .intervals import Interval
from .timeutil import IsoWeek


class RoundStatus(StrEnum):
    PLANNED = "planned"
    SENT = "sent"


@dataclass(frozen=True, slots=True)
class Meeting:
    uid: str  # stable for the meeting: the iCalendar UID of its invitation
    members: tuple[str, ...]  # emails, two (or three with allow_triples), sorted
    start: dt.datetime  # UTC
    end: dt.datetime  # UTC
    alternatives: tuple[Interval, ...] = ()  # up to three other shared slots, on other days


@dataclass(frozen=True, slots=True)
class Unmatched:
    member: str  # email
    reason: str  # "no shared free time with anyone", "cooldown", "paused", "feed error: …"


@dataclass(frozen=True, slots=True)
class Round:
    week: IsoWeek
    seed: int
    meetings: tuple[Meeting, ...]
    unmatched: tuple[Unmatched, ...]
    status: RoundStatus = RoundStatus.PLANNED
