"""Half-open UTC intervals ``[start, end)``: merge, subtract, intersect, clip.

Pure functions over sorted, merged tuples of :class:`Interval`. "Normalised" below means: sorted by
start, non-empty, pairwise disjoint and not touching (``a.end < b.start``), which is what
:func:`merge` returns and what every other function returns when given normalised input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NamedTuple


class Interval(NamedTuple):
    """The half-open span ``[start, end)``; both ends aware datetimes."""

    start: dt.datetime
    end: dt.datetime

    @property
    def duration(self) -> dt.timedelta:
        return self.end - self.start


Intervals = tuple[Interval, ...]


def merge(spans: Iterable[tuple[dt.datetime, dt.datetime]]) -> Intervals:
    """Sort, drop empty spans, and join overlapping or touching ones."""
    out: list[Interval] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if out and start <= out[-1].end:
            if end > out[-1].end:
                out[-1] = Interval(out[-1].start, end)
        else:
            out.append(Interval(start, end))
    return tuple(out)


def subtract(base: Intervals, remove: Intervals) -> Intervals:
    """``base`` minus ``remove``; both normalised."""
    out: list[Interval] = []
    j = 0
    for start, end in base:
        cursor = start
        while j < len(remove) and remove[j].end <= cursor:
            j += 1
        k = j
        while k < len(remove) and remove[k].start < end:
            if remove[k].start > cursor:
                out.append(Interval(cursor, remove[k].start))
            cursor = max(cursor, remove[k].end)
            if cursor >= end:
                break
            k += 1
        if cursor < end:
            out.append(Interval(cursor, end))
    return tuple(out)


def intersect(a: Intervals, b: Intervals) -> Intervals:
    """The spans covered by both ``a`` and ``b``; both normalised."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i].start, b[j].start)
        end = min(a[i].end, b[j].end)
        if start < end:
            out.append(Interval(start, end))
        if a[i].end < b[j].end:
            i += 1
        else:
            j += 1
    return tuple(out)


def clip(spans: Intervals, start: dt.datetime, end: dt.datetime) -> Intervals:
    """``spans`` restricted to ``[start, end)``."""
    return intersect(spans, (Interval(start, end),) if start < end else ())


def total(spans: Iterable[Interval]) -> dt.timedelta:
    """The summed length of normalised ``spans``."""
    return sum((s.end - s.start for s in spans), dt.timedelta())
