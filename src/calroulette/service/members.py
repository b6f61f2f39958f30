"""``members add``, ``remove``, ``pause``, ``resume`` and ``list``: members.toml edited in place
(comments and layout kept; every edit validated as loading validates), and what reading one
member's calendar for a week found (shared with ``preview``).

A member removed or paused keeps no meeting silently: ``remove`` and ``pause`` drop their
meetings of rounds not sent yet, and cancel (or report) those already sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

from calroulette.config import Community, Member, MemberStatus
from calroulette.config.roster import NewMember, Roster
from calroulette.errors import FeedError, UsageError
from calroulette.timeutil import IsoWeek, to_utc

from .community import register_secrets

if TYPE_CHECKING:
    from calroulette.availability import FreeTime
    from calroulette.delivery import Sending
    from calroulette.matching import Meeting

    from .sending import Outcome


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
    roster.add(new)  # refuses a duplicate or an invalid member before any calendar is read
    community = roster.community()
    register_secrets(community)
    member = community.member(new.email)
    assert member is not None
    week = IsoWeek.next_after(now, community.timezone)
    result = read_calendars(community, week, now, [member], progress=False).free[member.email]
    check = week_check(member, week, community, result)
    added = check.blocking is None or force
    if added:  # the calendar was read without the lock; the edit is made again under it
        with Roster.locked(config) as locked:
            locked.add(new)
            locked.save()
    return MemberAdded(member, community, week, result, check, added)


@dataclass(frozen=True, slots=True)
class Upcoming:
    """A meeting still to come of a member who is removed or paused."""

    week: IsoWeek
    meeting: Meeting
    sent: bool  # its round was sent: every attendee has the invitation
    typed: str  # what names it on the command line: its short id (or UID when that is shared)
    outcome: Outcome | None = None  # cancelled (sent, --cancel-meetings) or dropped (not sent)


@dataclass(frozen=True, slots=True)
class Departure:
    """What ``members remove`` or ``pause`` did, and the member's meetings still to come."""

    member: Member  # as members.toml had them before the edit
    community: Community  # members.toml before the edit: the partners' names, the zone
    meetings: tuple[Upcoming, ...]

    @property
    def exit_code(self) -> int:
        """As ``cancel``'s: 1 when a cancellation needs the organizer, 75 while one is pending."""
        codes = {u.outcome.exit_code for u in self.meetings if u.outcome is not None}
        return 1 if 1 in codes else max(codes, default=0)


def members_remove(
    config: str | PathLike[str],
    email: str,
    *,
    now: dt.datetime,
    cancel_meetings: bool = False,
    how: Sending | None = None,
) -> Departure:
    """Remove a member from members.toml; their history stays.

    Their meetings still to come are never left silently: one in a round not sent yet is dropped
    (nobody was told); one already sent is cancelled for every attendee with
    ``cancel_meetings`` (as ``cancel`` does), else returned for the caller to warn about. The
    meetings are settled before members.toml is written, so running the command again after a
    crash finishes the job.
    """
    with Roster.locked(config) as roster:
        community = roster.community()
        register_secrets(community)
        roster.remove(email)
        member = community.member(email)
        assert member is not None  # roster.remove refused anyone else
        meetings = settle_meetings(
            community, member, now=now, cancel_meetings=cancel_meetings, how=how
        )
        roster.save()
    return Departure(member, community, meetings)


def members_pause(
    config: str | PathLike[str],
    email: str,
    until: dt.date | None = None,
    *,
    now: dt.datetime,
    cancel_meetings: bool = False,
    how: Sending | None = None,
) -> Departure:
    """Leave a member out until resumed, or of every week that starts before ``until``.

    Their meetings still to come (before ``until``, in the community's zone) are settled as
    :func:`members_remove` settles them."""
    with Roster.locked(config) as roster:
        community = roster.community()
        today = now.astimezone(community.timezone).date()  # the community's today, not UTC's
        if until is not None and until <= today:
            raise UsageError(
                f"--until: {until.isoformat()} is not in the future (nothing would be paused; "
                "to take part again now, use `calroulette members resume`)"
            )
        register_secrets(community)
        roster.pause(email, until)
        member = community.member(email)
        assert member is not None  # roster.pause refused anyone else
        before = to_utc(until, community.timezone) if until is not None else None
        meetings = settle_meetings(
            community, member, now=now, before=before, cancel_meetings=cancel_meetings, how=how
        )
        roster.save()
    return Departure(member, community, meetings)


def settle_meetings(
    community: Community,
    member: Member,
    *,
    now: dt.datetime,
    since: dt.datetime | None = None,
    before: dt.datetime | None = None,
    cancel_meetings: bool,
    how: Sending | None,
) -> tuple[Upcoming, ...]:
    """Drop ``member``'s meetings still to come (from ``since``, default ``now``, to
    ``before``) from unsent rounds; cancel the sent ones when ``cancel_meetings`` (each through
    :func:`.meetings.cancel`: one CANCEL per attendee)."""
    if not community.database.exists():
        return ()  # nothing was ever planned (and opening would create the database)
    # the history database and delivery: only when there is one (`list`, `resume` need neither)
    from calroulette.matching import RoundStatus
    from calroulette.store import open_store

    from .meetings import cancel, typed_id, upcoming

    with open_store(community.database, readonly=True) as store:
        found = upcoming(store, member.email, now=max(now, since or now), before=before)
        typed = {f.meeting.uid: typed_id(store, f.meeting.uid) for f in found}
    settled = []
    for f in found:
        sent = f.round_status is RoundStatus.SENT
        outcome = None
        if cancel_meetings or not sent:
            outcome = cancel(community, f.meeting.uid, now=now, how=how)
        settled.append(Upcoming(f.week, f.meeting, sent, typed[f.meeting.uid], outcome))
    return tuple(settled)


def members_resume(config: str | PathLike[str], email: str) -> bool:
    """Take a paused member back; False when they were not paused (nothing is written)."""
    with Roster.locked(config) as roster:
        if not roster.resume(email):
            return False
        roster.save()
    return True


@dataclass(frozen=True, slots=True)
class Roll:
    community: Community
    today: dt.date  # in the community's zone: what "paused until" is measured against
    base: Path  # members.toml's folder: calendars that are files are shown relative to it
    resting: frozenset[str] = frozenset()  # paused until they add free time (.resting)

    def status(self, member: Member) -> MemberStatus:
        status = member.status(self.today)
        if status is MemberStatus.ACTIVE and member.email in self.resting:
            return MemberStatus.PAUSED_UNTIL_FREE
        return status


def members_list(config: str | PathLike[str], *, now: dt.datetime) -> Roll:
    """The members, as members.toml has them today, and who the rounds found with no free time
    long enough to be paused until they add some."""
    from .resting import resting_now

    community = Roster.open(config).community()
    today = now.astimezone(community.timezone).date()
    return Roll(community, today, Path(config).resolve().parent, resting_now(community, now))
