"""Small hand-made communities, random ones, and an independent reference for the weekly
matching (used by tests/test_matching.py and tests/test_matching_weeks.py).

The reference never calls calroulette's compatibility code: it walks the slot grid minute by
minute from the definition in the issue and asks networkx for the maximum matching.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterable
from dataclasses import replace
from zoneinfo import ZoneInfo

import networkx as nx

from calroulette.availability import FreeTime
from calroulette.config import Community, Frequency, Member
from calroulette.errors import FeedError
from calroulette.intervals import merge
from calroulette.matching import History, Reason, Round, pair
from calroulette.matching.plan import plan_round
from calroulette.timeutil import IsoWeek

UTC = dt.UTC
WEEK = IsoWeek(2026, 49)  # Monday 2026-11-30
NOW = dt.datetime(2026, 11, 24, 12, tzinfo=UTC)  # a Tuesday before the week
ZONES = ("Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC")

Case = tuple[Community, dict[str, FreeTime | FeedError], History, dt.datetime]


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A UTC instant in 2026-W49: day 0 is Monday 30 November."""
    return dt.datetime(2026, 11, 30, hour, minute, tzinfo=UTC) + dt.timedelta(days=day)


def member(email: str, **fields: object) -> Member:
    base = Member(name=email.split("@")[0].title(), email=email, calendar="", timezone=UTC)
    return replace(base, **fields)  # type: ignore[arg-type]


def community(members: Iterable[Member], **fields: object) -> Community:
    base = Community(
        name="Test Coffee",
        organizer="Test <test@example.org>",
        organizer_email="test@example.org",
        timezone=ZoneInfo("UTC"),
        members=tuple(members),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def free(
    spans: dict[str, list[tuple[dt.datetime, dt.datetime]]],
) -> dict[str, FreeTime | FeedError]:
    return {email: FreeTime(email, WEEK, merge(s)) for email, s in spans.items()}


def emails(round_: Round) -> list[tuple[str, ...]]:
    return [m.members for m in round_.meetings]


def plan(case: Case, **options: object) -> Round:
    c, spans, history, now = case
    return plan_round(c, WEEK, spans, now, history, **options)  # type: ignore[arg-type]


def random_case(seed: int, n_max: int = 60, n_min: int = 2) -> Case:
    """A random community of ``n_min`` to ``n_max`` members with random settings, free time,
    feed errors and history, for 2026-W49."""
    rng = random.Random(seed)
    n = rng.randint(n_min, n_max)
    people = []
    spans: dict[str, FreeTime | FeedError] = {}
    addresses = [f"m{i:02d}@x.org" for i in range(n)]
    dense = rng.random() < 0.5  # everyone free in the same two office days, or spread out
    for address in addresses:
        roll = rng.random()
        people.append(
            member(
                address,
                timezone=ZoneInfo(rng.choice(ZONES)),
                paused=roll < 0.05,
                frequency=Frequency.BIWEEKLY if roll > 0.9 else Frequency.WEEKLY,
                avoid=frozenset(rng.sample(addresses, 1)) - {address}
                if rng.random() < 0.1
                else frozenset(),
                team=rng.choice((None, "red", "blue")),
                topics=frozenset(rng.sample(("go", "jazz", "rust", "tea"), rng.randint(0, 2))),
            )
        )
        windows = []
        for _ in range(rng.randint(0, 4)):
            day, hour = (
                (rng.randint(1, 2), rng.randint(9, 15))
                if dense
                else (rng.randint(0, 6), rng.randint(0, 21))
            )
            start = at(day, hour, rng.choice((0, 10, 15, 30, 45)))
            windows.append((start, start + dt.timedelta(minutes=rng.randint(20, 240))))
        if rng.random() < 0.05:
            spans[address] = FeedError(address, "calendar", "HTTP 404")
        else:
            week_start, week_end = WEEK.bounds(ZoneInfo("UTC"))
            spans[address] = FreeTime(
                address, WEEK, merge((max(a, week_start), min(b, week_end)) for a, b in windows)
            )
    last_met = {}
    for _ in range(rng.randint(0, n * 2)):
        a, b = rng.sample(addresses, 2) if n > 1 else (addresses[0], addresses[0])
        if a != b:
            last_met[pair(a, b)] = WEEK.shifted(-rng.randint(1, 20))
    history = History(
        last_met=last_met,
        left_out=frozenset(a for a in addresses if rng.random() < 0.2),
        last_matched={a: WEEK.shifted(-rng.randint(1, 3)) for a in addresses if rng.random() < 0.5},
    )
    c = community(
        people,
        meeting_minutes=rng.choice((30, 45, 60)),
        slot_minutes=rng.choice((15, 30, 60)),
        cooldown_weeks=rng.choice((0, 4, 8)),
        separate_teams=rng.random() < 0.3,
        allow_triples=rng.random() < 0.5,
        min_notice_hours=rng.choice((0, 24, 150)),
    )
    return c, spans, history, NOW


def reference_participants(
    c: Community, spans: dict[str, FreeTime | FeedError], history: History, week: IsoWeek = WEEK
) -> list[Member]:
    out = []
    for m in c.members:
        last = history.last_matched.get(m.email)
        too_soon = last is not None and week.weeks_since(last) < m.frequency.weeks
        if m.is_paused(week) or too_soon or isinstance(spans[m.email], FeedError):
            continue
        out.append(m)
    return out


def reference_starts(
    c: Community, window: FreeTime, now: dt.datetime, week: IsoWeek = WEEK
) -> set[dt.datetime]:
    """Every allowed meeting start inside the member's free time, walking the grid one slot at
    a time from the top of the UTC hour before the week starts."""
    week_start, week_end = week.bounds(c.timezone)
    step = dt.timedelta(minutes=c.slot_minutes)
    length = dt.timedelta(minutes=c.meeting_minutes)
    earliest = now + dt.timedelta(hours=c.min_notice_hours)
    start = week_start.replace(minute=0)
    out = set()
    while start + length <= week_end:
        inside = any(s <= start and start + length <= e for s, e in window.free)
        if start >= week_start and start >= earliest and inside:
            out.add(start)
        start += step
    return out


def reference_graph(
    c: Community,
    spans: dict[str, FreeTime | FeedError],
    history: History,
    now: dt.datetime,
    week: IsoWeek = WEEK,
) -> tuple[nx.Graph, dict[str, set[dt.datetime]]]:
    people = reference_participants(c, spans, history, week)
    starts = {m.email: reference_starts(c, spans[m.email], now, week) for m in people}  # type: ignore[arg-type]
    graph = nx.Graph()
    graph.add_nodes_from(m.email for m in people)
    for i, a in enumerate(people):
        for b in people[i + 1 :]:
            met = history.last_met.get(pair(a.email, b.email))
            if met is not None and week.weeks_since(met) <= c.cooldown_weeks:
                continue
            if a.email in b.avoid or b.email in a.avoid:
                continue
            if c.separate_teams and a.team is not None and a.team == b.team:
                continue
            if starts[a.email] & starts[b.email]:
                graph.add_edge(a.email, b.email)
    return graph, starts


def check_round(
    c: Community,
    spans: dict[str, FreeTime | FeedError],
    history: History,
    now: dt.datetime,
    r: Round,
    week: IsoWeek = WEEK,
) -> None:
    """``r`` is a valid, maximum round of ``c`` that seats as many of ``history.left_out`` as
    any maximum matching can, every member in exactly one meeting or left out with a reason."""
    graph, starts = reference_graph(c, spans, history, now, week)
    maximum = len(nx.max_weight_matching(graph, maxcardinality=True))
    assert len(r.meetings) == maximum, "not a maximum matching"
    seen: list[str] = []
    for meeting in r.meetings:
        assert meeting.members == tuple(sorted(meeting.members))
        assert len(meeting.members) in ((2, 3) if c.allow_triples else (2,))
        assert meeting.end - meeting.start == dt.timedelta(minutes=c.meeting_minutes)
        for i, a in enumerate(meeting.members):
            assert meeting.start in starts[a], "outside free time, off the grid or too soon"
            for alternative in meeting.alternatives:
                assert alternative.start in starts[a]
            for b in meeting.members[i + 1 :]:
                assert graph.has_edge(a, b), "cooldown, avoid or team broken"
        times = sorted((meeting.start, *(a.start for a in meeting.alternatives)))
        length = meeting.end - meeting.start
        assert len(times) <= 4 and all(b - a >= length for a, b in itertools.pairwise(times))
        days = [
            s.astimezone(c.timezone).date()
            for s in (meeting.start, *(a.start for a in meeting.alternatives))
        ]
        # one per other day; the meeting's own day only when it is the only one
        assert len(set(days)) == len(days) or set(days) == {days[0]}
        seen.extend(meeting.members)
    assert len(seen) == len(set(seen)), "someone is in two meetings"
    if not c.allow_triples:
        assert len(seen) == 2 * maximum
    left = {u.member for u in r.unmatched}
    assert left | set(seen) == {m.email for m in c.members}
    assert not left & set(seen)
    sitting_out = {Reason.PAUSED, Reason.FREQUENCY, Reason.FEED_ERROR}
    for u in r.unmatched:
        assert isinstance(u.reason, Reason), u
        assert u.message.strip(), f"{u.member} is left out without a sentence saying why"
        assert (u.reason in sitting_out) == (u.member not in graph), u
    # objective 2: as many of last round's left-out members as any maximum matching can seat
    for a, b in graph.edges:
        graph[a][b]["weight"] = (a in history.left_out) + (b in history.left_out)
    best = nx.max_weight_matching(graph, maxcardinality=True)
    best_first = sum(graph[a][b]["weight"] for a, b in best)
    ours_first = sum(1 for e in seen if e in history.left_out)
    assert ours_first >= best_first if c.allow_triples else ours_first == best_first
