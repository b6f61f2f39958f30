"""``cancel`` and ``reschedule``: one meeting changes, and its members are told.

Recorded like every change (see :mod:`.sending`): the meeting's new SEQUENCE, time and status
together with the deliveries that carry it, in one transaction; then the ledger is drained.
The transitions, all written here:

- meeting → ``cancelled`` (:func:`cancel`; nobody is told while its round is unsent);
- meeting ``invited``/``moved`` → ``moved`` with a new time (:func:`reschedule`; an unsent one
  just takes the new time and stays ``planned``).

A new time must keep the rules the planner keeps (:func:`check_move`): inside the meeting's
week, ``min_notice_hours`` ahead, on the slot grid, clear of the members' other calroulette
meetings, and free in every member's calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from calroulette.config import Community
from calroulette.delivery import Report, Sending, deliver_pending, render_change
from calroulette.errors import FeedError, UsageError
from calroulette.intervals import Interval
from calroulette.invites import Kind
from calroulette.matching import Meeting, MeetingStatus, RoundStatus
from calroulette.matching.grid import build_grid
from calroulette.store import SHORT_ID, FoundMeeting, Store, open_store, short_id
from calroulette.timeutil import IsoWeek, ensure_utc

from .sending import Outcome, links_for

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
    """Cancel a meeting (by UID, short id, or a member's email): METHOD:CANCEL (same UID,
    SEQUENCE+1, STATUS:CANCELLED) to every attendee, once its round has been sent."""
    how = how or Sending()
    _require_history(community)
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
            links = links_for(community, store, cancelled.members, now=now)
            outgoing = render_change(
                cancelled, community, found.week, kind=Kind.CANCEL, now=now, links=links
            )
            with store.transaction():
                store.rounds.change(cancelled)
                recorded = store.deliveries.record(found.week, outgoing, now)
        report = deliver_pending(store, community, found.week, now, how)
    return Outcome(found.week, report, recorded, note, meeting=meeting)


def _require_history(community: Community) -> None:
    """No history database, no meeting to change: say so rather than create an empty one."""
    if not community.database.exists():
        raise UsageError(
            f"no meetings yet: {community.database} does not exist (`calroulette match` plans "
            "a round)"
        )


def reschedule(
    community: Community,
    uid: str,
    to: dt.datetime,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    free: Mapping[str, FreeTime | FeedError] | None = None,
) -> Outcome:
    """Move a meeting (by UID or short id) to ``to`` (same length) when the new time keeps the
    community's rules and every member is free then (:func:`check_move`), and send the updated
    REQUEST (same UID, SEQUENCE+1). ``free`` skips reading the calendars (tests)."""
    how = how or Sending()
    start = ensure_utc(to)
    _require_history(community)
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
            report = deliver_pending(store, community, found.week, now, how)
            return Outcome(found.week, report, 0, note, meeting=meeting)
        check_move(community, found.week, moved, now)
        _refuse_other_meetings(store, community, moved)
    _check_free(community, moved, now, free)  # reads calendars: the database is not held
    with open_store(community.database) as store:
        outgoing = []
        if sent:
            links = links_for(community, store, moved.members, now=now)
            outgoing = render_change(
                moved,
                community,
                found.week,
                kind=Kind.REQUEST,
                now=now,
                links=links,
                previous=Interval(meeting.start, meeting.end),
            )
        with store.transaction():
            # again, under the write lock: another command may have changed them meanwhile
            if store.rounds.find(meeting.uid) != [found]:
                raise UsageError(
                    f"{meeting.uid}: the meeting or its round changed while the calendars were "
                    "read; run the command again"
                )
            _refuse_other_meetings(store, community, moved)
            store.rounds.change(moved)
            recorded = store.deliveries.record(found.week, outgoing, now) if outgoing else 0
        if not sent:
            # not sent yet: the first invitation will carry the new time (SEQUENCE stays 0)
            note = f"{meeting.uid}: moved before the round was sent; `send` will invite for it"
            return Outcome(found.week, Report(), 0, note, meeting=moved)
        report = deliver_pending(store, community, found.week, now, how)
    return Outcome(found.week, report, recorded, meeting=moved)


def check_move(community: Community, week: IsoWeek, moved: Meeting, now: dt.datetime) -> None:
    """A :class:`UsageError` naming the rule when ``moved`` breaks one the planner keeps: in the
    past, outside ``week`` (read in the community's zone), less than ``min_notice_hours`` ahead,
    or off the slot grid (``slot_minutes`` from the top of the UTC hour, as planned)."""
    zone = community.timezone
    start = moved.start
    if start <= now:
        raise UsageError(f"--to: {_local(start, community)} is in the past")
    week_start, week_end = week.bounds(zone)
    if not week_start <= start < week_end or moved.end > week_end:
        last_day = (week_end - dt.timedelta(days=1)).astimezone(zone)
        span = f"{week_start.astimezone(zone):%a %d %b} to {last_day:%a %d %b}"
        where = "starts" if not week_start <= start < week_end else "would end"
        raise UsageError(
            f"--to: {_local(start, community)} {where} outside the meeting's week {week} "
            f"({span}); a meeting moves within its week (cancel it instead)"
        )
    grid = build_grid(
        week,
        zone,
        slot_minutes=community.slot_minutes,
        meeting_minutes=community.meeting_minutes,
        earliest=now + dt.timedelta(hours=community.min_notice_hours),
    )
    if start < now + dt.timedelta(hours=community.min_notice_hours):
        earliest = (
            f"; the earliest start is {_local(grid.start(grid.first), community)}"
            if grid.first <= grid.last
            else ""
        )
        raise UsageError(
            f"--to: {_local(start, community)} is less than {community.min_notice_hours} hours "
            f"from now (min_notice_hours in members.toml){earliest}"
        )
    off = (start - grid.origin) % grid.step
    if off:
        before = start - off
        raise UsageError(
            f"--to: {_local(start, community)} is off the {community.slot_minutes}-minute slot "
            f"grid (slot_minutes in members.toml); the nearest starts are "
            f"{before.astimezone(zone):%H:%M} and {(before + grid.step).astimezone(zone):%H:%M}"
        )


def upcoming(
    store: Store, email: str, *, now: dt.datetime, before: dt.datetime | None = None
) -> list[FoundMeeting]:
    """``email``'s active meetings that start after ``now`` (and before ``before``), soonest
    first, in any round: sent or not."""
    found = [
        f
        for f in store.rounds.find(email)
        if f.meeting.status.active
        and f.meeting.start > now
        and (before is None or f.meeting.start < before)
    ]
    return sorted(found, key=lambda f: (f.meeting.start, f.meeting.uid))


def typed_id(store: Store, uid: str) -> str:
    """What to type to name the meeting: its short id, or its UID when the short id is shared."""
    matches = {f.meeting.uid for f in store.rounds.find(short_id(uid))}
    return short_id(uid) if matches == {uid} else uid


def _choose(store: Store, key: str, week: IsoWeek | None, now: dt.datetime) -> FoundMeeting:
    wanted = key.strip()
    found = store.rounds.find(wanted, week)
    where = f" in {week}" if week else ""
    if not found:
        raise UsageError(
            f"{wanted}: no meeting{where} with this UID, short id (its first {SHORT_ID} "
            "characters) or member email (see `calroulette history`)"
        )
    exact = [f for f in found if f.meeting.uid == wanted]
    if exact:
        return exact[0]
    if "@" not in wanted:  # the start of a UID
        uids = sorted({f.meeting.uid for f in found})
        if len(uids) > 1:
            raise UsageError(
                f"{wanted}: {len(uids)} meetings{where} have a UID starting with this "
                f"({', '.join(_distinct(uids))}); type more of the UID "
                "(see `calroulette history --json`)"
            )
        return found[0]
    if len(found) == 1:
        return found[0]
    ahead = [f for f in found if f.meeting.status.active and f.meeting.end > now]
    if len(ahead) == 1:
        return ahead[0]
    weeks = ", ".join(sorted({str(f.week) for f in (ahead or found)}))
    raise UsageError(
        f"{wanted}: several meetings ({weeks}); add --week or give the meeting's short id"
    )


def _distinct(uids: list[str]) -> list[str]:
    """The shortest starts that tell ``uids`` (sorted, sharing a prefix) apart, each + "…"."""
    length = SHORT_ID
    while len({u[:length] for u in uids}) < len(uids) and length < max(map(len, uids)):
        length += 1
    return [f"{u[:length]}…" for u in uids]


def _refuse_other_meetings(store: Store, community: Community, moved: Meeting) -> None:
    """A member already meets someone else at the new time (another active meeting, any week)."""
    for email in moved.members:
        for other in store.rounds.find(email):
            theirs = other.meeting
            if (
                theirs.uid != moved.uid
                and theirs.status.active
                and theirs.start < moved.end
                and moved.start < theirs.end
            ):
                partners = " & ".join(_name(community, e) for e in theirs.members if e != email)
                raise UsageError(
                    f"{email}: already has a calroulette meeting then: "
                    f"{_local(theirs.start, community)} with {partners} "
                    f"({short_id(theirs.uid)}, {other.week}); pick another time"
                )


def _name(community: Community, email: str) -> str:
    member = community.member(email)
    return member.name if member is not None else email


def _local(instant: dt.datetime, community: Community) -> str:
    return f"{instant.astimezone(community.timezone):%a %d %b %H:%M} ({community.timezone.key})"


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
