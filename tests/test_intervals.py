"""The interval algebra against a brute-force model: a set of whole minutes.

Every interval below starts and ends on a minute of one day, so "the minutes an interval set
covers" is an exact model of it, and each operation must agree with the set operation.
"""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from calroulette.intervals import Interval, Intervals, clip, intersect, merge, subtract, total

BASE = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
DAY = 24 * 60


def at(minute: int) -> dt.datetime:
    return BASE + dt.timedelta(minutes=minute)


def minutes(spans: Intervals) -> set[int]:
    out: set[int] = set()
    for start, end in spans:
        out |= set(range(_m(start), _m(end)))
    return out


def _m(value: dt.datetime) -> int:
    return int((value - BASE).total_seconds() // 60)


def is_normalised(spans: Intervals) -> bool:
    ok = all(s.start < s.end for s in spans)
    return ok and all(a.end < b.start for a, b in itertools.pairwise(spans))


# Raw spans: any order, overlapping, touching, empty or reversed (start >= end).
raw_span = st.tuples(st.integers(0, DAY), st.integers(0, DAY)).map(lambda p: (at(p[0]), at(p[1])))
raw_spans = st.lists(raw_span, max_size=12)
normalised = raw_spans.map(merge)


@settings(deadline=None)  # a loaded 2-core CI box must not turn slowness into failure
@given(raw_spans)
def test_merge_is_normalised_and_covers_exactly_the_non_empty_spans(spans: list) -> None:
    merged = merge(spans)
    assert is_normalised(merged)
    assert minutes(merged) == set().union(*(set(range(_m(a), _m(b))) for a, b in spans))


@settings(deadline=None)  # a loaded 2-core CI box must not turn slowness into failure
@given(raw_spans)
def test_merge_is_idempotent_and_order_independent(spans: list) -> None:
    merged = merge(spans)
    assert merge(merged) == merged
    assert merge(reversed(spans)) == merged


@settings(deadline=None)  # a loaded 2-core CI box must not turn slowness into failure
@given(normalised, normalised)
def test_subtract_agrees_with_the_minute_set_model(a: Intervals, b: Intervals) -> None:
    result = subtract(a, b)
    assert is_normalised(result)
    assert minutes(result) == minutes(a) - minutes(b)


@settings(deadline=None)  # a loaded 2-core CI box must not turn slowness into failure
@given(normalised, normalised)
def test_intersect_agrees_with_the_minute_set_model_and_commutes(
    a: Intervals, b: Intervals
) -> None:
    result = intersect(a, b)
    assert is_normalised(result)
    assert minutes(result) == minutes(a) & minutes(b)
    assert intersect(b, a) == result


@settings(deadline=None)  # a loaded 2-core CI box must not turn slowness into failure
@given(normalised, st.integers(0, DAY), st.integers(0, DAY))
def test_clip_stays_within_bounds_and_agrees_with_the_model(a: Intervals, lo: int, hi: int) -> None:
    result = clip(a, at(lo), at(hi))
    assert is_normalised(result)
    assert all(at(lo) <= s.start and s.end <= at(hi) for s in result)
    assert minutes(result) == minutes(a) & set(range(lo, hi))


@settings(deadline=None)  # a loaded 2-core CI box must not turn slowness into failure
@given(normalised, normalised)
def test_subtract_and_intersect_partition_the_base(a: Intervals, b: Intervals) -> None:
    assert total(subtract(a, b)) + total(intersect(a, b)) == total(a)
    assert merge(subtract(a, b) + intersect(a, b)) == a


@settings(deadline=None)  # a loaded 2-core CI box must not turn slowness into failure
@given(normalised)
def test_total_is_the_number_of_covered_minutes(a: Intervals) -> None:
    assert total(a) == dt.timedelta(minutes=len(minutes(a)))


def test_touching_spans_merge_into_one_and_half_open_ends_do_not_overlap() -> None:
    assert merge([(at(0), at(30)), (at(30), at(60))]) == (Interval(at(0), at(60)),)
    assert intersect((Interval(at(0), at(30)),), (Interval(at(30), at(60)),)) == ()
    assert subtract((Interval(at(0), at(60)),), (Interval(at(60), at(90)),)) == (
        Interval(at(0), at(60)),
    )


def test_empty_and_reversed_spans_are_dropped() -> None:
    assert merge([(at(10), at(10)), (at(20), at(5))]) == ()
    assert clip((Interval(at(0), at(60)),), at(50), at(40)) == ()


def test_interval_duration() -> None:
    assert Interval(at(0), at(90)).duration == dt.timedelta(minutes=90)
