"""``cancel`` and ``reschedule``: one meeting changes, and its members are told.

Recorded like every change (see :mod:`.sending`): the meeting's new SEQUENCE, time and status
together with the deliveries that carry it, in one transaction; then the ledger is drained.
The transitions, all written here:

- meeting → ``cancelled`` (:func:`cancel`; nobody is told while its round is unsent);
- meeting ``invited``/``moved`` → ``moved`` with a new time (:func:`reschedule`; an unsent one
  just takes the new time and stays ``planned``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from calroulette.config import Community
from calroulette.delivery import Report, Sending, deliver_pending, render_change
from calroulette.errors import FeedError, UsageError
from calroulette.invites import Kind
from calroulette.matching import Meeting, MeetingStatus, RoundStatus
from calroulette.store import FoundMeeting, Store, open_store
from calroulette.timeutil import IsoWeek, ensure_utc

from .sending import Outcome

if TYPE_CHECKING:
    from calroulette.availability import FreeTime


def cancel(
    community: Community,
    key: str,
    *,
    week: IsoWeek | None = None,
    now: dt.datetime,
    how: Sending | None = None,
) -> Outcome:
    """Cancel a meeting (by UID, or a member's email): METHOD:CANCEL (same UID, SEQUENCE+1,
    STATUS:CANCELLED) to every attendee, once its round has been sent."""
    how = how or Sending()
    with open_store(community.database) as store:
        found = _choose(store, key, week, now)
        meeting = found.meeting
        recorded, note = 0, ""
        if meeting.status is MeetingStatus.CANCELLED:
            note = f"{meeting.uid}: already cancelled; finishing what is pending"
        elif found.round_status is not RoundStatus.SENT:
            # nobody has the invitation yet: drop the meeting; `send` will not invite them
            with store.transaction():
                store.rounds.change(replace(meeting, status=MeetingStatus.CANCELLED))
            note = f"{meeting.uid}: cancelled before the round was sent; nobody is notified"
        else:
            cancelled = replace(
                meeting, sequence=meeting.sequence + 1, status=MeetingStatus.CANCELLED
            )
            outgoing = render_change(cancelled, community, found.week, kind=Kind.CANCEL, now=now)
            with store.transaction():
                store.rounds.change(cancelled)
                recorded = store.deliveries.record(found.week, outgoing, now)
        report = deliver_pending(store, community, found.week, now, how)
    return Outcome(found.week, report, recorded, note, meeting=meeting)


def reschedule(
    community: Community,
    uid: str,
    to: dt.datetime,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    free: Mapping[str, FreeTime | FeedError] | None = None,
) -> Outcome:
    """Move a meeting to ``to`` (same length) once every member is free then, and send the
    updated REQUEST (same UID, SEQUENCE+1). ``free`` skips reading the calendars (tests)."""
    how = how or Sending()
    start = ensure_utc(to)
    with open_store(community.database) as store:
        found = _choose(store, uid, None, now)
    meeting = found.meeting
    if meeting.status is MeetingStatus.CANCELLED:
        raise UsageError(f"{meeting.uid}: the meeting was cancelled; it cannot be moved")
    sent = found.round_status is RoundStatus.SENT
    moved = replace(
        meeting,
        start=start,
        end=start + (meeting.end - meeting.start),
        alternatives=tuple(a for a in meeting.alternatives if a.start != start),
        sequence=meeting.sequence + 1 if sent else meeting.sequence,
        status=MeetingStatus.MOVED if sent else MeetingStatus.PLANNED,
    )
    if meeting.start == start:
        note = f"{meeting.uid}: already at that time; finishing what is pending"
        with open_store(community.database) as store:
            report = deliver_pending(store, community, found.week, now, how)
        return Outcome(found.week, report, 0, note, meeting=meeting)
    if start <= now:
        raise UsageError(f"--to: {start:%Y-%m-%dT%H:%MZ} is in the past")
    _check_free(community, moved, now, free)
    with open_store(community.database) as store:
        if not sent:
            # not sent yet: the first invitation will carry the new time (SEQUENCE stays 0)
            with store.transaction():
                store.rounds.change(moved)
            note = f"{meeting.uid}: moved before the round was sent; `send` will invite for it"
            return Outcome(found.week, Report(), 0, note, meeting=moved)
        outgoing = render_change(moved, community, found.week, kind=Kind.REQUEST, now=now)
        with store.transaction():
            store.rounds.change(moved)
            recorded = store.deliveries.record(found.week, outgoing, now)
        report = deliver_pending(store, community, found.week, now, how)
    return Outcome(found.week, report, recorded, meeting=moved)


def _choose(store: Store, key: str, week: IsoWeek | None, now: dt.datetime) -> FoundMeeting:
    found = store.rounds.find(key, week)
    if not found:
        where = f" in {week}" if week else ""
        raise UsageError(f"{key}: no meeting{where} with this UID or member")
    if len(found) == 1 or found[0].meeting.uid == key.strip():
        return found[0]
    upcoming = [f for f in found if f.meeting.status.active and f.meeting.end > now]
    if len(upcoming) == 1:
        return upcoming[0]
    weeks = ", ".join(sorted({str(f.week) for f in (upcoming or found)}))
    raise UsageError(f"{key}: several meetings ({weeks}); add --week or give the meeting's UID")


def _check_free(
    community: Community,
    meeting: Meeting,
    now: dt.datetime,
    free: Mapping[str, FreeTime | FeedError] | None,
) -> None:
    week = IsoWeek.containing(meeting.start.astimezone(community.timezone).date())
    members = [m for m in community.members if m.email in meeting.members]
    if free is None:
        from .reading import read_calendars

        # Read without the meeting itself: a member who accepted the invitation has it in
        # their calendar, and it must not block moving it to an overlapping time.
        free = read_calendars(
            community, week, now, members, ignore_uids=frozenset({meeting.uid}), progress=False
        ).free
    for email in meeting.members:
        result = free.get(email)
        member = community.member(email)
        if member is None or result is None:
            raise UsageError(f"{email}: not in members.toml any more; cannot check their calendar")
        if isinstance(result, FeedError):
            raise UsageError(f"{result} (cannot check they are free then)")
        if not any(s.start <= meeting.start and meeting.end <= s.end for s in result.free):
            local = meeting.start.astimezone(member.timezone)
            raise UsageError(
                f"{email}: not free at {local:%a %d %b %H:%M} ({member.timezone.key}) for "
                f"{community.meeting_minutes} minutes (see `calroulette slots {email}`)"
            )
