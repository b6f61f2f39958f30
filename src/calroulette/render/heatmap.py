"""How many members are free in each half-hour of a week: the numbers behind `calroulette overlap`.

Pure: free time comes in as UTC intervals per member, a :class:`HeatMap` comes out. Rows are wall-
clock times in the community's zone (what the organizer reads), columns the seven days of the ISO
week. A member counts in a cell when they are free for the whole cell.

Around a DST change a wall-clock time can be missing (spring forward: the cell is marked
``exists=False``) or happen twice (fall back: the cell is the first occurrence, as RFC 5545 reads
a repeated local time).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from calroulette.intervals import Intervals
from calroulette.timeutil import IsoWeek, ensure_utc


@dataclass(frozen=True, slots=True)
class Cell:
    day: dt.date  # in the community's zone
    time_local: dt.time  # wall-clock start in the community's zone
    start: dt.datetime  # UTC
    end: dt.datetime  # UTC
    free: tuple[str, ...]  # emails of the members free for the whole cell, sorted
    exists: bool = True  # False for a wall-clock time skipped by a DST change

    @property
    def count(self) -> int:
        return len(self.free)


@dataclass(frozen=True, slots=True)
class HeatMap:
    week: IsoWeek
    zone: dt.tzinfo
    step_minutes: int
    days: tuple[dt.date, ...]
    times: tuple[dt.time, ...]  # every row, 00:00 to the last step of the day
    cells: tuple[tuple[Cell, ...], ...]  # cells[row][column]
    members: int  # how many members were counted (feeds that failed are not)

    @property
    def peak(self) -> int:
        return max((c.count for row in self.cells for c in row), default=0)

    def busy_rows(self) -> range:
        """Rows from the first to the last one where anyone is free (empty when nobody is)."""
        used = [i for i, row in enumerate(self.cells) if any(c.count for c in row)]
        return range(used[0], used[-1] + 1) if used else range(0)

    def cell_at(self, instant: dt.datetime) -> Cell | None:
        """The cell that contains a UTC instant (a meeting start), if it is in the week."""
        instant = ensure_utc(instant)
        for row in self.cells:
            for cell in row:
                if cell.exists and cell.start <= instant < cell.end:
                    return cell
        return None


def heat_map(
    free: Mapping[str, Intervals],
    week: IsoWeek,
    zone: dt.tzinfo,
    *,
    step_minutes: int = 30,
) -> HeatMap:
    """Count, for each ``step_minutes`` cell of ``week`` in ``zone``, the members free all of it.

    >>> from zoneinfo import ZoneInfo
    >>> from calroulette.intervals import Interval
    >>> def at(hour: float) -> dt.datetime:
    ...     return dt.datetime(2026, 12, 1, tzinfo=dt.UTC) + dt.timedelta(hours=hour)
    >>> free = {"ada@x.org": (Interval(at(14), at(15)),), "bo@x.org": (Interval(at(14.5), at(16)),)}
    >>> m = heat_map(free, IsoWeek(2026, 49), ZoneInfo("UTC"))
    >>> [(c.time_local.isoformat("minutes"), c.count) for row in m.cells for c in row if c.count]
    [('14:00', 1), ('14:30', 2), ('15:00', 1), ('15:30', 1)]
    """
    if step_minutes <= 0 or (24 * 60) % step_minutes:
        raise ValueError(f"step_minutes must divide a day, not {step_minutes}")
    days = tuple(week.days())
    step = dt.timedelta(minutes=step_minutes)
    times = tuple(day_times(step_minutes))
    starts = {m: [s.start for s in spans] for m, spans in free.items()}
    rows: list[tuple[Cell, ...]] = []
    for wall in times:
        row: list[Cell] = []
        for day in days:
            local = dt.datetime.combine(day, wall, zone)
            start = ensure_utc(local)
            exists = start.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None)
            end = start + step
            who = (
                tuple(
                    sorted(m for m, spans in free.items() if _covers(spans, starts[m], start, end))
                )
                if exists
                else ()
            )
            row.append(Cell(day, wall, start, end, who, exists))
        rows.append(tuple(row))
    return HeatMap(week, zone, step_minutes, days, times, tuple(rows), len(free))


def heat_level(count: int, peak: int) -> int:
    """0 for nobody, then 1..4 by share of the week's peak (terminal and HTML use these steps).

    >>> [heat_level(c, 8) for c in range(9)]
    [0, 1, 1, 2, 2, 3, 3, 4, 4]
    >>> [heat_level(c, 3) for c in range(4)]
    [0, 2, 3, 4]
    """
    if count <= 0 or peak <= 0:
        return 0
    return min(4, max(1, -(-4 * count // peak)))


def day_times(step_minutes: int) -> list[dt.time]:
    """The wall-clock starts of a day's cells: 00:00, 00:30, … 23:30 for 30 minutes."""
    return [dt.time(*divmod(i * step_minutes, 60)) for i in range(24 * 60 // step_minutes)]


def _covers(
    spans: Intervals, starts: list[dt.datetime], start: dt.datetime, end: dt.datetime
) -> bool:
    """True when one of the normalised ``spans`` contains ``[start, end)``."""
    index = bisect.bisect_right(starts, start) - 1
    return index >= 0 and spans[index].end >= end
