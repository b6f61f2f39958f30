"""``match``, ``why`` and ``history``: plan a week's round and record it; explain and list rounds.

The history database is read before the feeds are fetched and written in one transaction after
planning, never held open across the network. A week that already has a round is returned as it
is (planning is idempotent); ``rematch`` replaces a round that has not been sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from calroulette.availability import FreeTime
from calroulette.config import Community
from calroulette.errors import FeedError, UsageError
from calroulette.matching import History, Round, RoundStatus
from calroulette.store import Attendance, DeliveryRow, WeekDeliveries, open_store
from calroulette.timeutil import IsoWeek

from .community import check_plannable, week_or_next
from .reading import read_calendars


@dataclass(frozen=True, slots=True)
class MatchResult:
    round: Round
    created: bool  # False: the week already had this round, nothing changed
    saved: bool  # True when the round is in the history database (not a dry run)


def match(
    community: Community,
    week: IsoWeek | None = None,
    *,
    now: dt.datetime,
    seed: int | None = None,
    dry_run: bool = False,
    rematch: bool = False,
    force: bool = False,
    free: Mapping[str, FreeTime | FeedError] | None = None,
) -> MatchResult:
    """Plan ``week``'s round (default: next week) and record it, unless one exists (then return
    it unchanged: a stored round is shown however old).

    ``rematch`` plans again and replaces a round that has not been sent (a sent round raises
    :class:`UsageError`); ``dry_run`` plans and records nothing; ``free`` skips reading the
    calendars (tests, benchmarks). A week that can no longer have a meeting is refused, and so
    is the week under way unless ``force`` (or ``dry_run``, which tells nobody anything).
    """
    week = week_or_next(week, community, now)
    if rematch or stored_round(community, week) is None:
        # before anything is created: a week that is over gets no database and no round
        check_plannable(week, community, now, force=force or dry_run)
    if dry_run and not community.database.exists():
        history, existing = History(), None
    else:
        # read-only for a dry run; otherwise this creates the database (and its secret) when new
        with open_store(community.database, readonly=dry_run) as store:
            existing = store.rounds.load(week)
            if existing is not None and not rematch:
                return MatchResult(existing, created=False, saved=True)
            if existing is not None and existing.status is RoundStatus.SENT:
                raise UsageError(
                    f"{week}: the round was already sent; it cannot be planned again "
                    "(cancel or reschedule single meetings instead)"
                )
            history = store.rounds.history(week)
    if free is None:
        free = read_calendars(community, week, now).free
    from calroulette.matching.plan import plan_round  # numpy: only the commands that plan

    planned = plan_round(community, week, free, now, history, seed)
    if dry_run:
        return MatchResult(planned, created=True, saved=False)
    with open_store(community.database) as store, store.transaction():
        # Two runs racing for the same week both end up with the round the first one recorded.
        created = store.rounds.record(planned, at=now, replace=rematch)
        recorded = planned if created else store.rounds.load(week)
    assert recorded is not None
    return MatchResult(recorded, created=created, saved=True)


@dataclass(frozen=True, slots=True)
class Why:
    """One member's outcome in a week: the recorded round, or (``saved`` False) the round
    `match` would plan now."""

    email: str
    round: Round
    saved: bool
    deliveries: WeekDeliveries | None = None  # where the week's messages stand, once sent
    mine: tuple[DeliveryRow, ...] = ()  # the member's own messages of the week
    # what the attendees of the member's meeting answered (reply or link) and whether they met
    attendance: dict[str, Attendance] = field(default_factory=dict)  # by email


def why(community: Community, member: str, week: IsoWeek | None = None, *, now: dt.datetime) -> Why:
    """Whom ``member`` (an email or a unique name) meets in ``week``, or why they are left out.

    Reads the recorded round; when the week has none yet, plans it without recording anything.
    A member who has left is still found in a round that names them.
    """
    week = week_or_next(week, community, now)
    found = community.member(member)
    email = found.email if found else member.strip().lower()
    stored = stored_round(community, week)
    if found is None and (stored is None or not _mentions(stored, email)):
        raise UsageError(f"{member}: no such member in {community.path or 'members.toml'}")
    if stored is not None:
        with open_store(community.database, readonly=True) as store:
            state = store.deliveries.summary(week)
            mine = tuple(store.deliveries.rows(week=week, recipient=email))
            meeting = stored.meeting_of(email)
            answers = store.attendance.of(meeting.uid) if meeting is not None else {}
        return Why(email, stored, saved=True, deliveries=state, mine=mine, attendance=answers)
    return Why(email, match(community, week, now=now, dry_run=True).round, saved=False)


@dataclass(frozen=True, slots=True)
class HistoryResult:
    member: str | None  # the email asked for, if any
    rounds: tuple[Round, ...]  # oldest first, cancelled meetings included
    deliveries: dict[IsoWeek, WeekDeliveries] = field(default_factory=dict)  # by round's week
    # each attendee's answer and "did you meet?", by meeting UID then email (only recorded ones)
    attendance: dict[str, dict[str, Attendance]] = field(default_factory=dict)


def history(community: Community, member: str | None = None) -> HistoryResult:
    """Every recorded round, oldest first; with ``member`` (an email or a unique name, or the
    email of someone who left), only the rounds that mention them."""
    email = None
    if member is not None:
        found = community.member(member)
        email = found.email if found else member.strip().lower()
        if "@" not in email:
            raise UsageError(
                f"{member}: no such member in {community.path or 'members.toml'} (give an email)"
            )
    if not community.database.exists():
        return HistoryResult(email, ())
    with open_store(community.database, readonly=True) as store:
        weeks = store.rounds.weeks(email)
        rounds = [store.rounds.load(w, include_cancelled=True) for w in weeks]
        states = {w: store.deliveries.summary(w) for w in weeks}
        shown = {m.uid for r in rounds if r is not None for m in r.meetings}
        answers: dict[str, dict[str, Attendance]] = {}
        for answer in store.attendance.all():
            if answer.uid in shown:
                answers.setdefault(answer.uid, {})[answer.email] = answer
    return HistoryResult(email, tuple(r for r in rounds if r is not None), states, answers)


def stored_round(community: Community, week: IsoWeek) -> Round | None:
    """The week's stored round, if any, without creating anything (and without reading the
    history, which at 10,000 members is a year of 5,000-meeting rounds)."""
    if not community.database.exists():
        return None
    with open_store(community.database, readonly=True) as store:
        return store.rounds.load(week)


def _mentions(round_: Round, email: str) -> bool:
    return round_.meeting_of(email) is not None or round_.unmatched_of(email) is not None
