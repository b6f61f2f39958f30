"""``members add``, ``remove``, ``pause``, ``resume`` and ``list``: members.toml edited in place
(comments and layout kept; every edit validated as loading validates), and what reading one
member's calendar for a week found (shared with ``preview``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

from calroulette.config import Community, Member
from calroulette.config.roster import NewMember, Roster
from calroulette.errors import FeedError, UsageError
from calroulette.timeutil import IsoWeek

from .community import register_secrets

if TYPE_CHECKING:
    from calroulette.availability import FreeTime


@dataclass(frozen=True, slots=True)
class WeekCheck:
    """What reading a calendar for one week found, beyond the free time itself."""

    error: str | None = None  # the feed could not be read or parsed
    no_events: str | None = None  # no availability events at all: nothing to match on
    warnings: tuple[str, ...] = ()  # everything blocked, odd values in the feed

    @property
    def blocking(self) -> str | None:
        """What stops `members add` without --force."""
        return self.error or self.no_events


def week_check(
    member: Member, week: IsoWeek, community: Community, result: FreeTime | FeedError
) -> WeekCheck:
    """Say what is wrong with ``member``'s ``week``, if anything."""
    if isinstance(result, FeedError):
        return WeekCheck(error=str(result))
    keyword = community.keyword_for(member)
    warnings = [f"{member.email}: calendar: {note}" for note in result.warnings]
    if result.availability_events == 0:
        return WeekCheck(
            no_events=f"{member.email}: calendar: no events titled {keyword!r} in {week} (create "
            f"a recurring event called {keyword!r} at the times they can meet; see "
            "docs/members.md)",
            warnings=tuple(warnings),
        )
    if not result.free:
        warnings.append(
            f"{member.email}: calendar: every {keyword!r} event in {week} is covered by busy "
            "events (mark the 'free' events as free/transparent, or move the busy ones)"
        )
    return WeekCheck(warnings=tuple(warnings))


@dataclass(frozen=True, slots=True)
class MemberAdded:
    member: Member
    community: Community  # members.toml with the member, saved or not
    week: IsoWeek
    result: FreeTime | FeedError
    check: WeekCheck
    added: bool  # False: the check found a blocking problem and there was no --force


def members_add(
    config: str | PathLike[str], new: NewMember, *, force: bool = False, now: dt.datetime
) -> MemberAdded:
    """Add a member once their calendar reads: it must parse and hold availability events for
    next week, unless ``force``. Nothing is written when it does not."""
    from .reading import read_calendars  # requests, icalendar: only `add` reads a calendar

    roster = Roster.open(config)
    roster.add(new)
    community = roster.community()
    register_secrets(community)
    member = community.member(new.email)
    assert member is not None
    week = IsoWeek.next_after(now, community.timezone)
    result = read_calendars(community, week, now, [member], progress=False).free[member.email]
    check = week_check(member, week, community, result)
    added = check.blocking is None or force
    if added:
        roster.save()
    return MemberAdded(member, community, week, result, check, added)


def members_remove(config: str | PathLike[str], email: str) -> str:
    """Remove a member from members.toml; their history stays. Returns their name."""
    roster = Roster.open(config)
    name = roster.remove(email)
    roster.save()
    return name


def members_pause(
    config: str | PathLike[str], email: str, until: dt.date | None = None, *, now: dt.datetime
) -> None:
    """Leave a member out until resumed, or of every week that starts before ``until``."""
    if until is not None and until <= now.date():
        raise UsageError(
            f"--until: {until.isoformat()} is not in the future (nothing would be paused; "
            "to take part again now, use `calroulette members resume`)"
        )
    roster = Roster.open(config)
    roster.pause(email, until)
    roster.save()


def members_resume(config: str | PathLike[str], email: str) -> bool:
    """Take a paused member back; False when they were not paused (nothing is written)."""
    roster = Roster.open(config)
    if not roster.resume(email):
        return False
    roster.save()
    return True


@dataclass(frozen=True, slots=True)
class Roll:
    community: Community
    today: dt.date  # in the community's zone: what "paused until" is measured against
    base: Path  # members.toml's folder: calendars that are files are shown relative to it


def members_list(config: str | PathLike[str], *, now: dt.datetime) -> Roll:
    """The members, as members.toml has them today."""
    community = Roster.open(config).community()
    today = now.astimezone(community.timezone).date()
    return Roll(community, today, Path(config).resolve().parent)
