"""The week's slot grid, and each member's possible meeting starts on it as a bitmask.

A meeting may start every ``slot_minutes``, counted from the top of the UTC hour, inside the
week (read in the community's zone) and at least ``min_notice_hours`` after the run. Bit ``k`` of a
member's mask is set when the member is free for the whole meeting starting at slot ``k``, so two
members can meet exactly when the AND of their masks is not zero, and the lowest set bit of that
AND is their earliest shared start.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from calroulette.intervals import Interval, Intervals
from calroulette.timeutil import IsoWeek, ensure_utc


@dataclass(frozen=True, slots=True)
class SlotGrid:
    origin: dt.datetime  # UTC, the top of the hour at or before the week's start
    step: dt.timedelta  # slot_minutes
    duration: dt.timedelta  # meeting_minutes
    first: int  # the first slot a meeting may start at (week start, minimum notice)
    last: int  # the last slot a meeting may start at and still end inside the week

    @property
    def size(self) -> int:
        """Bits in a mask: slot indexes run from 0 to ``last``."""
        return max(self.last + 1, 0)

    def start(self, index: int) -> dt.datetime:
        return self.origin + index * self.step

    def slot(self, index: int) -> Interval:
        start = self.start(index)
        return Interval(start, start + self.duration)

    def ceil_index(self, instant: dt.datetime) -> int:
        """The first slot starting at or after ``instant``."""
        return -((self.origin - instant) // self.step)

    def floor_index(self, instant: dt.datetime) -> int:
        """The last slot starting at or before ``instant``."""
        return (instant - self.origin) // self.step

    def mask(self, free: Intervals) -> int:
        """The slots where a whole meeting fits inside one of the ``free`` intervals."""
        bits = 0
        for span in free:
            low = max(self.ceil_index(span.start), self.first)
            high = min(self.floor_index(span.end - self.duration), self.last)
            if high >= low:
                bits |= ((1 << (high - low + 1)) - 1) << low
        return bits

    def starts(self, mask: int) -> Iterator[int]:
        """The set bits of ``mask``, lowest (earliest) first."""
        while mask:
            low = mask & -mask
            yield low.bit_length() - 1
            mask ^= low


def build_grid(
    week: IsoWeek,
    zone: dt.tzinfo,
    *,
    slot_minutes: int,
    meeting_minutes: int,
    earliest: dt.datetime,
) -> SlotGrid:
    """The grid of ``week`` read in ``zone``; no start before ``earliest`` (now + notice).

    >>> from zoneinfo import ZoneInfo
    >>> g = build_grid(IsoWeek(2026, 49), ZoneInfo("Asia/Kolkata"), slot_minutes=30,
    ...                meeting_minutes=30, earliest=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    >>> g.origin.isoformat(), g.start(g.first).isoformat()
    ('2026-11-29T18:00:00+00:00', '2026-11-29T18:30:00+00:00')
    """
    week_start, week_end = week.bounds(zone)
    origin = week_start.replace(minute=0, second=0, microsecond=0)
    step = dt.timedelta(minutes=slot_minutes)
    duration = dt.timedelta(minutes=meeting_minutes)
    grid = SlotGrid(origin, step, duration, 0, -1)
    first = grid.ceil_index(max(week_start, ensure_utc(earliest)))
    last = grid.floor_index(week_end - duration)
    return SlotGrid(origin, step, duration, max(first, 0), last)
