"""The weekly job behind ``calroulette match`` / ``history`` / ``why``: fetch, compute free time,
read the history, plan, record. Everything here is a library call; the CLI only renders.

The history database is read before the feeds are fetched and written in one transaction after
planning, never held open across the network. A week that already has a round is returned as it
is (planning is idempotent); ``rematch`` replaces a round that has not been sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import availability, feeds
from .availability import FreeTime
from .config import Community, Member
from .errors import FeedError, UsageError
from .freetimes import FreeTimes
from .matching import History, Meeting, Round, RoundStatus
from .store import open_store
from .timeutil import IsoWeek, format_utc


@dataclass(frozen=True, slots=True)
class MatchResult:
    round: Round
    created: bool  # False: the week already had this round, nothing changed
    saved: bool  # True when the round is in the history database (not a dry run)


def community_free_time(
    community: Community,
    week: IsoWeek,
    now: dt.datetime,
    members: Iterable[Member] | None = None,
) -> dict[str, FreeTime | FeedError]:
    """Fetch the feeds of ``members`` (default: everyone) and compute their free time in
    ``week``: each body is read while the others download, and only one that parses is kept
    as the feed's last good copy (see :mod:`calroulette.freetimes`)."""
    return read_feeds(community, week, now, members)[1]


def read_feeds(
    community: Community,
    week: IsoWeek,
    now: dt.datetime,
    members: Iterable[Member] | None = None,
) -> tuple[dict[str, feeds.Feed | feeds.FetchError], dict[str, FreeTime | FeedError]]:
    """:func:`community_free_time`, and the fetched feeds (whether each is a stale copy).

    Every command that reads calendars goes through here: a command that fetched without
    checking that a body parses would keep a broken one as the last good copy, and the next
    run's conditional request would then be answered 304 for it.
    """
    chosen = None if members is None else list(members)  # None: the cache forgets old feeds
    expected = len(community.members if chosen is None else chosen)
    with FreeTimes(community, week, expected=expected) as reader:
        fetched = feeds.fetch_feeds(
            community, chosen, now=now, validate=reader.validate, unchanged=reader.prepare
        )
        return fetched, reader.compute({k: _body(v) for k, v in fetched.items()})


def read_afresh(
    community: Community,
    members: Iterable[Member],
    week: IsoWeek,
    now: dt.datetime,
    *,
    ignore_uids: frozenset[str] = frozenset(),
) -> dict[str, FreeTime | FeedError]:
    """The free time of a few ``members``, read in this process without the free-time cache:
    for `members add`, `preview` and `reschedule`, which may need events left out
    (``ignore_uids``: a meeting being moved). Like :func:`read_feeds`, only a body that parses
    is kept as the feed's last good copy."""
    chosen = list(members)
    fetched = feeds.fetch_feeds(
        community, chosen, now=now, validate=availability.parse_calendar, progress=False
    )
    return {
        m.email: (
            got
            if isinstance(got := fetched[m.email], FeedError)
            else availability.member_free_time(
                got.body, m, week, community, ignore_uids=ignore_uids
            )
        )
        for m in chosen
    }


def _body(fetched: feeds.Feed | FeedError) -> bytes | FeedError:
    return fetched if isinstance(fetched, FeedError) else fetched.body


def stored_round(community: Community, week: IsoWeek) -> Round | None:
    """The week's stored round, if any, without creating anything (and without reading the
    history, which at 10,000 members is a year of 5,000-meeting rounds)."""
    if not community.database.exists():
        return None
    with open_store(community.database, readonly=True) as store:
        return store.load_round(week)


def match_week(
    community: Community,
    week: IsoWeek,
    now: dt.datetime,
    *,
    seed: int | None = None,
    dry_run: bool = False,
    rematch: bool = False,
    free: dict[str, FreeTime | FeedError] | None = None,
) -> MatchResult:
    """Plan ``week``'s round and record it, unless one exists (then return it unchanged).

    ``rematch`` plans again and replaces a round that has not been sent (a sent round raises
    :class:`UsageError`); ``dry_run`` plans and records nothing; ``free`` skips fetching (tests,
    benchmarks).
    """
    if dry_run and not community.database.exists():
        history, existing = History(), None
    else:
        # read-only for a dry run; otherwise this creates the database (and its secret) when new
        with open_store(community.database, readonly=dry_run) as store:
            existing = store.load_round(week)
            if existing is not None and not rematch:
                return MatchResult(existing, created=False, saved=True)
            if existing is not None and existing.status is RoundStatus.SENT:
                raise UsageError(
                    f"{week}: the round was already sent; it cannot be planned again "
                    "(cancel or reschedule single meetings instead)"
                )
            history = store.history(week)
    if free is None:
        free = community_free_time(community, week, now)
    from .matching import plan_round  # numpy: only for the commands that plan (see matching)

    planned = plan_round(community, week, free, now, history, seed)
    if dry_run:
        return MatchResult(planned, created=True, saved=False)
    with open_store(community.database) as store:
        recorded, created = store.record_round(planned, at=now, replace=rematch)
    return MatchResult(recorded, created=created, saved=True)


# --- what a person reads ---------------------------------------------------------------------


def round_json(round_: Round) -> dict[str, Any]:
    """The documented ``--json`` shape of a round."""
    return {
        "week": str(round_.week),
        "status": round_.status.value,
        "meetings": [meeting_json(m) for m in round_.meetings],
        "unmatched": [{"member": u.member, "reason": u.reason} for u in round_.unmatched],
        "errors": [{"member": e.member, "error": e.error} for e in round_.errors],
    }


def meeting_json(meeting: Meeting) -> dict[str, Any]:
    return {
        "uid": meeting.uid,
        "members": list(meeting.members),
        "start": format_utc(meeting.start),
        "end": format_utc(meeting.end),
        "alternatives": [[format_utc(a), format_utc(b)] for a, b in meeting.alternatives],
    }


def member_rounds(community: Community, member: str | None) -> list[Round]:
    """Every recorded round (oldest first); with ``member``, those that mention them."""
    if not community.database.exists():
        return []
    with open_store(community.database, readonly=True) as store:
        return store.rounds(member)


def explain(community: Community, round_: Round, email: str, *, saved: bool) -> str:
    """One member's outcome in ``round_`` as a sentence (local times in their zone)."""
    member = community.member(email)
    name = member.name if member else email
    zone = member.timezone if member else community.timezone
    state = (
        f"{round_.week} ({round_.status.value})"
        if saved
        else f"{round_.week} (not planned yet: what `calroulette match` would decide now)"
    )
    meeting = round_.meeting_of(email)
    if meeting is not None:
        others = [_name(community, e) for e in meeting.members if e != email]
        start = meeting.start.astimezone(zone)
        end = meeting.end.astimezone(zone)
        alternatives = len(meeting.alternatives)
        extra = f"; {alternatives} other shared time(s) kept" if alternatives else ""
        return (
            f"{state}: {name} meets {' and '.join(others)} on "
            f"{start:%a %d %b %H:%M}–{end:%H:%M} ({zone}){extra}."
        )
    reason = round_.unmatched_reason(email)
    if reason is not None:
        return f"{state}: {name} is left out: {reason}."
    return f"{state}: {name} was not a member when this round was planned."


def _name(community: Community, email: str) -> str:
    member = community.member(email)
    return member.name if member else email
