"""The cooldown counts only meetings that happened or that nobody answered for: a pair whose
meeting an attendee said did not happen ("did you meet?": no) may be paired again the next week,
while a pair that said yes, or said nothing, waits ``cooldown_weeks``. ``frequency`` still
counts the meeting (it is how often a member wants to be invited, and they were).

Planned for real: ``service.match`` over a real history database (free time handed in, as the
benchmarks do), 2026-W49 then 2026-W50. Each pair is free only with each other, so the only
question is whether the rules allow them to meet again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from calroulette import service
from calroulette.availability import FreeTime
from calroulette.config import Community, Frequency
from calroulette.errors import FeedError
from calroulette.intervals import Interval
from calroulette.matching import History, Meeting, Reason, Round, pair
from calroulette.store import Met, open_store
from calroulette.timeutil import IsoWeek

from .support.matching import community, member

UTC = dt.UTC
W49, W50 = IsoWeek(2026, 49), IsoWeek(2026, 50)
BEFORE_W49 = dt.datetime(2026, 11, 24, 12, tzinfo=UTC)
BEFORE_W50 = dt.datetime(2026, 12, 1, 12, tzinfo=UTC)
HALF_HOUR = dt.timedelta(minutes=30)
PAIRS: dict[
    tuple[str, ...], int
] = {  # each pair is free together on its own day of the week, 10:00-11:00 UTC
    ("a@x.org", "b@x.org"): 0,
    ("c@x.org", "d@x.org"): 1,
    ("e@x.org", "f@x.org"): 2,
}


def free(
    week: IsoWeek, pairs: dict[tuple[str, ...], int] = PAIRS
) -> dict[str, FreeTime | FeedError]:
    out: dict[str, FreeTime | FeedError] = {}
    for people, day in pairs.items():
        start = dt.datetime.combine(week.monday(), dt.time(10), UTC) + dt.timedelta(days=day)
        for email in people:
            out[email] = FreeTime(email, week, (Interval(start, start + dt.timedelta(hours=1)),))
    return out


def make(tmp_path: Path, **fields: object) -> Community:
    people = [member(e) for group in PAIRS for e in group]
    return community(people, database=tmp_path / "history.sqlite", **fields)


def sent(c: Community, week: IsoWeek, now: dt.datetime, **kw: object) -> Round:
    result = service.match(c, week, now=now, free=free(week, **kw))  # type: ignore[arg-type]
    with open_store(c.database) as store, store.transaction():
        store.rounds.mark_sent(week, now)
    return result.round


def answer(c: Community, round_: Round, email: str, met: Met) -> None:
    meeting = round_.meeting_of(email)
    assert meeting is not None
    with open_store(c.database) as store, store.transaction():
        store.attendance.met(meeting.uid, email, met, at=BEFORE_W50)


def groups(round_: Round) -> set[tuple[str, ...]]:
    return {m.members for m in round_.meetings}


def test_a_pair_that_did_not_meet_is_paired_again_the_next_week(tmp_path: Path) -> None:
    c = make(tmp_path)
    first = sent(c, W49, BEFORE_W49)
    assert groups(first) == set(PAIRS)
    answer(c, first, "a@x.org", Met.NO)  # a and b did not meet
    answer(c, first, "c@x.org", Met.YES)  # c and d did; e and f said nothing
    second = service.match(c, W50, now=BEFORE_W50, free=free(W50)).round
    assert groups(second) == {("a@x.org", "b@x.org")}
    reasons = {u.member: u.reason for u in second.unmatched}
    assert reasons == dict.fromkeys(["c@x.org", "d@x.org", "e@x.org", "f@x.org"], Reason.COOLDOWN)


def test_one_no_is_enough_even_when_the_partner_said_yes(tmp_path: Path) -> None:
    """Two answers that disagree: at least one of them missed the coffee, and pairing them
    again sooner is the kinder mistake."""
    c = make(tmp_path)
    first = sent(c, W49, BEFORE_W49)
    answer(c, first, "a@x.org", Met.YES)
    answer(c, first, "b@x.org", Met.NO)
    second = service.match(c, W50, now=BEFORE_W50, free=free(W50)).round
    assert ("a@x.org", "b@x.org") in groups(second)


def test_a_changed_answer_counts_as_it_is_now(tmp_path: Path) -> None:
    c = make(tmp_path)
    first = sent(c, W49, BEFORE_W49)
    answer(c, first, "a@x.org", Met.NO)
    answer(c, first, "a@x.org", Met.YES)  # the page's button: "we did meet"
    second = service.match(c, W50, now=BEFORE_W50, free=free(W50)).round
    assert groups(second) == set()


def test_frequency_still_counts_a_meeting_that_did_not_happen(tmp_path: Path) -> None:
    c = make(tmp_path)
    biweekly = [replace(m, frequency=Frequency.BIWEEKLY) for m in c.members]
    c = replace(c, members=tuple(biweekly))
    first = sent(c, W49, BEFORE_W49)
    answer(c, first, "a@x.org", Met.NO)
    second = service.match(c, W50, now=BEFORE_W50, free=free(W50)).round
    assert groups(second) == set()
    assert {u.member: u.reason for u in second.unmatched}["a@x.org"] is Reason.FREQUENCY


def test_a_triple_that_did_not_meet_may_meet_again(tmp_path: Path) -> None:
    trio: dict[tuple[str, ...], int] = {("a@x.org", "b@x.org", "c@x.org"): 0}
    c = community([member(e) for e in next(iter(trio))], database=tmp_path / "history.sqlite")
    first = sent(c, W49, BEFORE_W49, pairs=trio)
    assert groups(first) == {("a@x.org", "b@x.org", "c@x.org")}
    answer(c, first, "c@x.org", Met.NO)
    second = service.match(c, W50, now=BEFORE_W50, free=free(W50, trio)).round
    assert groups(second) == {("a@x.org", "b@x.org", "c@x.org")}


def test_the_store_and_the_rounds_agree_on_the_history(tmp_path: Path) -> None:
    """The SQL history and :meth:`History.from_rounds` (given the same not-held meetings) are
    two implementations of one rule: both sides of a meeting, before and after the week."""
    c = make(tmp_path)
    first = sent(c, W49, BEFORE_W49)
    answer(c, first, "a@x.org", Met.NO)
    answer(c, first, "c@x.org", Met.YES)
    with open_store(c.database) as store:
        not_held = store.attendance.not_held()
        assert not_held == {first.meeting_of("a@x.org").uid}  # type: ignore[union-attr]
        for week in (W49.shifted(-1), W50):
            rounds = [r for w in store.rounds.weeks() if (r := store.rounds.load(w))]
            expected = History.from_rounds(
                rounds, secret=store.rounds.secret, week=week, not_held=not_held
            )
            assert store.rounds.history(week) == expected
        history = store.rounds.history(W50)
        ahead = store.rounds.history(W49.shifted(-1))
    assert pair("a@x.org", "b@x.org") not in history.last_met
    assert history.last_met[pair("c@x.org", "d@x.org")] == W49
    assert history.last_met[pair("e@x.org", "f@x.org")] == W49
    assert history.last_matched["a@x.org"] == W49  # frequency counts it
    assert pair("a@x.org", "b@x.org") not in ahead.next_met
    assert ahead.next_matched["a@x.org"] == W49


@pytest.mark.parametrize("reverse", [False, True])
def test_an_earlier_meeting_that_happened_still_counts(tmp_path: Path, reverse: bool) -> None:
    """Met in W47 (yes), missed in W49 (no): the cooldown runs from W47, so W50 keeps them
    apart (8 weeks from W47); the order the rounds were recorded in changes nothing."""
    c = make(tmp_path)
    w47 = IsoWeek(2026, 47)
    ab = ("a@x.org", "b@x.org")
    rounds = [
        Round(week, 1, (Meeting(f"{week}@x", ab, start, start + HALF_HOUR),), ())
        for week, start in (
            (w47, dt.datetime(2026, 11, 16, 10, tzinfo=UTC)),
            (W49, dt.datetime(2026, 11, 30, 10, tzinfo=UTC)),
        )
    ]
    with open_store(c.database) as store, store.transaction():
        for round_ in reversed(rounds) if reverse else rounds:
            store.rounds.record(round_, at=BEFORE_W49)
            store.rounds.mark_sent(round_.week, BEFORE_W49)
        store.attendance.met(f"{W49}@x", "a@x.org", Met.NO, at=BEFORE_W50)
        store.attendance.met(f"{w47}@x", "a@x.org", Met.YES, at=BEFORE_W50)
    with open_store(c.database) as store:
        assert store.rounds.history(W50).last_met[pair(*ab)] == w47
    second = service.match(c, W50, now=BEFORE_W50, free=free(W50)).round
    assert ab not in groups(second)
    assert {u.member: u.reason for u in second.unmatched}["a@x.org"] is Reason.COOLDOWN
