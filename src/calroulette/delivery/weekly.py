"""The commands' library side: send a week's round, cancel or reschedule one meeting, run a week.

Each change is recorded the same way: in ONE transaction of the history database, the new state
(round marked sent, or the meeting's new SEQUENCE and time/status) together with every pending
delivery that carries it; then the ledger is drained. A crash anywhere leaves either the old state
and nothing to send, or the new state with its deliveries pending for the next run, which
finishes them (:mod:`.dispatch` explains the one-message window that SMTP leaves).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from calroulette.config import Community
from calroulette.errors import FeedError, UsageError
from calroulette.invites import Kind, Outgoing
from calroulette.matching import Meeting, Round, RoundStatus
from calroulette.store import Store, open_store
from calroulette.timeutil import IsoWeek, ensure_utc

from . import channel_of, ledger, open_transport, render_change, render_round
from .dispatch import Report, Retry, drain
from .transport import SendError, Transport

if TYPE_CHECKING:
    from calroulette.availability import FreeTime

# calroulette.rounds (planning, and with it fetching and reading calendars) is imported where
# `run` and `reschedule` use it: `send` needs none of it (requests, recurring-ical-events,
# numpy: ~0.3 s of every send).


@dataclass(frozen=True, slots=True)
class Outcome:
    week: IsoWeek
    report: Report
    recorded: int  # deliveries newly recorded by this run (0: everything was known already)
    note: str = ""  # what happened, for the person running the command
    round: Round | None = None
    meeting: Meeting | None = None


@dataclass(frozen=True, slots=True)
class Sending:
    """How to send: the transport (None: from ``[delivery]``), retries, the sleep to use."""

    transport: Transport | None = None
    retry: Retry | None = None
    sleep: Callable[[float], None] = time.sleep


@contextmanager
def _one_sender(database: Path) -> Iterator[None]:
    """Hold an exclusive lock next to the database while sending: two runs at once (an overlapping
    cron job, a hand-run `send`) would otherwise both send the same pending rows. The second one
    waits, then finds nothing pending. (POSIX ``flock``; released by the OS if the process dies.)"""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; run one sender at a time
        yield
        return
    with Path(f"{database}.send-lock").open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _drain(
    store: Store, community: Community, week: IsoWeek, now: dt.datetime, how: Sending
) -> Report:
    with _one_sender(store.path):
        return _drain_locked(store, community, week, now, how)


def _drain_locked(
    store: Store, community: Community, week: IsoWeek, now: dt.datetime, how: Sending
) -> Report:
    """Send what is pending in ``week`` and in any week from the current one on: a run for next
    week also finishes this week's leftovers (their meetings are still to come), never older
    ones (an invitation to a meeting that is over helps nobody)."""
    current = IsoWeek.containing(ensure_utc(now).astimezone(community.timezone).date())
    since = str(min(week, current))
    pending = ledger.rows(store.conn, status=ledger.Status.PENDING, since=since)
    if not pending:
        return Report()
    try:
        transport = how.transport or open_transport(community)
    except SendError as error:
        return Report(
            pending=[(r.key, error.message) for r in pending],
            stopped=error.message,
            fatal=not error.transient,
        )
    return drain(
        store.conn,
        transport,
        week=None,
        since=since,
        channel=channel_of(community),
        now=now,
        rate_limit_per_minute=community.delivery.rate_limit_per_minute,
        retry=how.retry,
        sleep=how.sleep,
    )


def _record(store: Store, week: IsoWeek, outgoing: list[Outgoing], now: dt.datetime) -> int:
    return ledger.insert(store.conn, str(week), outgoing, now)


def send_week(
    community: Community, week: IsoWeek, *, now: dt.datetime, how: Sending | None = None
) -> Outcome:
    """Deliver ``week``'s planned round and mark it sent; a sent round only finishes what is
    pending (nothing already sent goes out again)."""
    how = how or Sending()
    with open_store(community.database) as store:
        round_ = store.load_round(week)
        if round_ is None:
            raise UsageError(f"{week}: no round planned (run `calroulette match` first)")
        recorded = 0
        if round_.status is RoundStatus.PLANNED:
            outgoing = render_round(round_, community, sequences=store.sequences(week), now=now)
            with store.transaction():
                recorded = _record(store, week, outgoing, now)
                store.set_sent(week, now)
            round_ = replace(round_, status=RoundStatus.SENT)
        report = _drain(store, community, week, now, how)
    note = ""
    if not recorded:
        busy = report.sent or report.pending or report.failed or report.already
        note = f"{week}: already sent; " + (
            "sending what is still pending" if busy else "nothing new to send"
        )
    return Outcome(week, report, recorded, note, round=round_)


def run_week(
    community: Community,
    week: IsoWeek,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    free: Mapping[str, FreeTime | FeedError] | None = None,
) -> Outcome:
    """``calroulette run``: plan the week unless it has a round, then send it. Idempotent."""
    from calroulette import rounds

    rounds.match_week(community, week, now, free=dict(free) if free is not None else None)
    return send_week(community, week, now=now, how=how)


def _choose(
    store: Store, key: str, week: IsoWeek | None, now: dt.datetime
) -> tuple[IsoWeek, Meeting, int, str]:
    found = store.find_meetings(key, week)
    if not found:
        where = f" in {week}" if week else ""
        raise UsageError(f"{key}: no meeting{where} with this UID or member")
    if len(found) == 1 or found[0][1].uid == key.strip():
        return found[0]
    upcoming = [f for f in found if f[3] == "scheduled" and f[1].end > now]
    if len(upcoming) == 1:
        return upcoming[0]
    weeks = ", ".join(sorted({str(f[0]) for f in (upcoming or found)}))
    raise UsageError(f"{key}: several meetings ({weeks}); add --week or give the meeting's UID")


def _sent(store: Store, week: IsoWeek) -> bool:
    stored = store.load_round(week)
    return stored is not None and stored.status is RoundStatus.SENT


def cancel_meeting(
    community: Community,
    key: str,
    *,
    week: IsoWeek | None = None,
    now: dt.datetime,
    how: Sending | None = None,
) -> Outcome:
    """METHOD:CANCEL (same UID, SEQUENCE+1, STATUS:CANCELLED) to every attendee."""
    how = how or Sending()
    with open_store(community.database) as store:
        meeting_week, meeting, sequence, status = _choose(store, key, week, now)
        recorded, note = 0, ""
        if status == "cancelled":
            note = f"{meeting.uid}: already cancelled; finishing what is pending"
        elif not _sent(store, meeting_week):
            # nobody has the invitation yet: drop the meeting; `send` will not invite them
            store.change_meeting(meeting.uid, sequence=sequence, cancelled=True)
            note = f"{meeting.uid}: cancelled before the round was sent; nobody is notified"
        else:
            new = sequence + 1
            outgoing = render_change(
                meeting, community, meeting_week, kind=Kind.CANCEL, sequence=new, now=now
            )
            with store.transaction():
                store.change_meeting(meeting.uid, sequence=new, cancelled=True)
                recorded = _record(store, meeting_week, outgoing, now)
        report = _drain(store, community, meeting_week, now, how)
    return Outcome(meeting_week, report, recorded, note, meeting=meeting)


def reschedule_meeting(
    community: Community,
    uid: str,
    to: dt.datetime,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    free: Mapping[str, FreeTime | FeedError] | None = None,
) -> Outcome:
    """Move a meeting to ``to`` (same length) once every member is free then, and send the
    updated REQUEST (same UID, SEQUENCE+1). ``free`` skips fetching (tests)."""
    how = how or Sending()
    start = ensure_utc(to)
    with open_store(community.database) as store:
        meeting_week, meeting, sequence, status = _choose(store, uid, None, now)
    if status == "cancelled":
        raise UsageError(f"{meeting.uid}: the meeting was cancelled; it cannot be moved")
    end = start + (meeting.end - meeting.start)
    moved = replace(
        meeting,
        start=start,
        end=end,
        alternatives=tuple(a for a in meeting.alternatives if a.start != start),
    )
    if meeting.start == start:
        note = f"{meeting.uid}: already at that time; finishing what is pending"
        with open_store(community.database) as store:
            report = _drain(store, community, meeting_week, now, how)
        return Outcome(meeting_week, report, 0, note, meeting=meeting)
    if start <= now:
        raise UsageError(f"--to: {start:%Y-%m-%dT%H:%MZ} is in the past")
    _check_free(community, moved, now, free)
    with open_store(community.database) as store:
        if not _sent(store, meeting_week):
            # not sent yet: the first invitation will carry the new time (SEQUENCE stays 0)
            store.change_meeting(meeting.uid, sequence=sequence, start=start, end=end)
            note = f"{meeting.uid}: moved before the round was sent; `send` will invite for it"
            return Outcome(meeting_week, Report(), 0, note, meeting=moved)
        new = sequence + 1
        outgoing = render_change(
            moved, community, meeting_week, kind=Kind.REQUEST, sequence=new, now=now
        )
        with store.transaction():
            store.change_meeting(meeting.uid, sequence=new, start=start, end=end)
            recorded = _record(store, meeting_week, outgoing, now)
        report = _drain(store, community, meeting_week, now, how)
    return Outcome(meeting_week, report, recorded, meeting=moved)


def _check_free(
    community: Community,
    meeting: Meeting,
    now: dt.datetime,
    free: Mapping[str, FreeTime | FeedError] | None,
) -> None:
    week = IsoWeek.containing(meeting.start.astimezone(community.timezone).date())
    members = [m for m in community.members if m.email in meeting.members]
    if free is None:
        from calroulette import rounds

        # Read afresh, and without the meeting itself: a member who accepted the invitation
        # has it in their calendar, and it must not block moving it to an overlapping time.
        free = rounds.read_afresh(
            community, members, week, now, ignore_uids=frozenset({meeting.uid})
        )
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
