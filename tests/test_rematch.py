"""The pure part of "can't make it": the other times a pair can still meet, and a new partner
for one released member, by the planner's rules (no clock, no I/O: free time, the history and
``now`` come in). Week 2026-W49 in UTC; now is Tue 24 Nov 2026 12:00Z."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from calroulette.availability import FreeTime
from calroulette.config import Community, Member
from calroulette.config.model import Frequency
from calroulette.errors import FeedError
from calroulette.intervals import Interval
from calroulette.matching import History
from calroulette.matching.rematch import (
    Candidate,
    Source,
    pick_partner,
    shared_starts,
    spread,
    week_grid,
)
from calroulette.timeutil import UTC, IsoWeek

WEEK = IsoWeek(2026, 49)
NOW = dt.datetime(2026, 11, 24, 12, tzinfo=UTC)
ZONE = ZoneInfo("UTC")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def member(name: str, **extra: object) -> Member:
    return Member(name, f"{name}@x.org", f"{name}.ics", ZONE, **extra)  # type: ignore[arg-type]


def community(*members: Member, **settings: object) -> Community:
    return Community("C", "C <c@x.org>", "c@x.org", ZONE, members, **settings)  # type: ignore[arg-type]


def free(m: Member, *spans: tuple[dt.datetime, dt.datetime]) -> FreeTime:
    return FreeTime(m.email, WEEK, tuple(Interval(a, b) for a, b in spans))


GRACE = member("grace")


def pick(
    candidates: list[Candidate],
    spans: dict[str, FreeTime | FeedError],
    history: History | None = None,
    **settings: object,
) -> str | None:
    c = community(GRACE, *(x.member for x in candidates), **settings)
    found = pick_partner(c, WEEK, GRACE, candidates, spans, history or History(), now=NOW, seed="s")
    return found.partner if found else None


def test_shared_starts_are_on_the_grid_free_for_all_and_clear_of_other_meetings() -> None:
    grid = week_grid(community(GRACE), WEEK, NOW)
    a = (Interval(at(1, 14), at(1, 16)),)
    b = (Interval(at(1, 14, 45), at(1, 17)),)
    starts = shared_starts(grid, [a, b], busy=(Interval(at(1, 15, 30), at(1, 16)),))
    assert [s.start for s in starts] == [at(1, 15)]  # 14:45 is off the 30-minute grid


def test_nothing_before_min_notice() -> None:
    grid = week_grid(community(GRACE), WEEK, at(1, 0))
    spans = (Interval(at(1, 10), at(1, 12)), Interval(at(2, 10), at(2, 11)))
    assert [s.start for s in shared_starts(grid, [spans])] == [at(2, 10), at(2, 10, 30)]


def test_spread_takes_one_start_of_each_stretch_first_a_meeting_apart() -> None:
    half = dt.timedelta(minutes=30)
    long = [Interval(at(1, 9) + k * half / 2, at(1, 9) + k * half / 2 + half) for k in range(16)]
    short = [Interval(at(3, 10), at(3, 10, 30))]
    chosen = spread([*long, *short], limit=3)
    assert [c.start for c in chosen] == [at(1, 9), at(1, 9, 30), at(3, 10)]


def test_cooldown_and_avoid_rule_out_the_earliest_partners() -> None:
    carl, dan, zoe = member("carl"), member("dan", avoid=frozenset({"grace@x.org"})), member("zoe")
    spans: dict[str, FreeTime | FeedError] = {
        GRACE.email: free(GRACE, (at(1, 10), at(3, 12))),
        carl.email: free(carl, (at(1, 10), at(1, 11))),
        dan.email: free(dan, (at(1, 10), at(1, 11))),
        zoe.email: free(zoe, (at(3, 11), at(3, 12))),
    }
    history = History(last_met={("carl@x.org", "grace@x.org"): WEEK.shifted(-3)})
    people = [Candidate(x, Source.STANDBY) for x in (carl, dan, zoe)]
    assert pick(people, spans, history) == "zoe@x.org"
    assert pick(people[:2], spans, history) is None
    # once the cooldown is over Carl may meet her again (but a never-met partner comes first)
    assert pick(people[:2], spans, history, cooldown_weeks=2) == "carl@x.org"


def test_one_who_avoids_is_never_offered_either_way() -> None:
    zoe = member("zoe")
    grace = member("grace", avoid=frozenset({"zoe@x.org"}))
    spans: dict[str, FreeTime | FeedError] = {
        grace.email: free(grace, (at(1, 10), at(1, 12))),
        zoe.email: free(zoe, (at(1, 10), at(1, 12))),
    }
    c = community(grace, zoe)
    assert (
        pick_partner(c, WEEK, grace, [Candidate(zoe, Source.STANDBY)], spans, History(), now=NOW)
        is None
    )


def test_the_left_out_come_before_stand_bys_then_the_earliest_start() -> None:
    alan, zoe, bea = member("alan"), member("zoe"), member("bea")
    spans: dict[str, FreeTime | FeedError] = {
        GRACE.email: free(GRACE, (at(1, 10), at(3, 12))),
        zoe.email: free(zoe, (at(1, 10), at(1, 11))),
        alan.email: free(alan, (at(3, 11), at(3, 12))),
        bea.email: free(bea, (at(2, 11), at(2, 12))),
    }
    people = [
        Candidate(zoe, Source.STANDBY),
        Candidate(alan, Source.UNMATCHED),
        Candidate(bea, Source.RELEASED),
    ]
    assert pick(people, spans) == "bea@x.org"  # left out or released first; Wed before Thu
    assert pick(people[:2], spans) == "alan@x.org"


def test_own_choice_and_unreadable_calendars_and_teammates_are_skipped() -> None:
    rare = member("rare", frequency=Frequency.MONTHLY)
    broken, mate = member("broken"), member("mate", team="red")
    grace = member("grace", team="red")
    spans: dict[str, FreeTime | FeedError] = {
        grace.email: free(grace, (at(1, 10), at(1, 12))),
        rare.email: free(rare, (at(1, 10), at(1, 12))),
        broken.email: FeedError("broken@x.org", "fetch", "HTTP 404"),
        mate.email: free(mate, (at(1, 10), at(1, 12))),
    }
    history = History(last_matched={"rare@x.org": WEEK.shifted(-1)})
    c = community(grace, rare, broken, mate, separate_teams=True)
    people = [Candidate(x, Source.STANDBY) for x in (rare, broken, mate)]
    assert pick_partner(c, WEEK, grace, people, spans, history, now=NOW) is None
    found = pick_partner(c, WEEK, grace, people, spans, History(), now=NOW)
    assert found is not None and found.partner == "rare@x.org"


def test_the_partner_s_earliest_shared_start_and_alternatives_on_other_days() -> None:
    zoe = member("zoe")
    spans: dict[str, FreeTime | FeedError] = {
        GRACE.email: free(
            GRACE, (at(1, 10), at(1, 12)), (at(2, 10), at(2, 11)), (at(4, 9), at(4, 10))
        ),
        zoe.email: free(zoe, (at(1, 11), at(1, 12)), (at(2, 10), at(2, 12)), (at(4, 9), at(4, 12))),
    }
    c = community(GRACE, zoe)
    found = pick_partner(
        c,
        WEEK,
        GRACE,
        [Candidate(zoe, Source.STANDBY)],
        spans,
        History(),
        now=NOW,
        busy={GRACE.email: (Interval(at(1, 11), at(1, 11, 30)),)},
    )
    assert found is not None
    assert found.slot == Interval(at(1, 11, 30), at(1, 12))
    assert [a.start for a in found.alternatives] == [at(2, 10), at(4, 9)]
