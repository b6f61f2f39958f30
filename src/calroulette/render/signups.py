"""Sign-ups for people to read: the week grid of the sign-up page's preview (days across,
half-hours down, in the person's own zone, with the same free time as plain sentences for screen
readers), and the organizer's list of sign-ups waiting for approval (terminal and JSON).

Never a calendar address: the service hands sign-ups over with it redacted, and nothing here
shows even that.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.table import Table

from calroulette.intervals import Intervals
from calroulette.timeutil import IsoWeek, format_utc

from .heatmap import day_times
from .literal import literal
from .text import local_days

if TYPE_CHECKING:
    from calroulette.store import Signup


class Cell:
    """What a grid cell shows (a CSS class name too)."""

    FREE = "free"  # free for the whole cell
    PART = "part"  # free for some of it
    NONE = ""  # not free
    GONE = "gone"  # a wall-clock time the zone skips (DST)


@dataclass(frozen=True, slots=True)
class GridRow:
    label: str  # "14:00"
    cells: tuple[str, ...]  # one :class:`Cell` value per day


@dataclass(frozen=True, slots=True)
class FreeGrid:
    zone: str
    days: tuple[dt.date, ...]
    rows: tuple[GridRow, ...]  # from the first to the last hour with free time; none if none
    lines: tuple[str, ...]  # "Tuesday 1 December: 14:00–17:00 (3 hours)": the same, in words

    @property
    def empty(self) -> bool:
        return not self.rows


def free_grid(
    week: IsoWeek, zone: dt.tzinfo, free: Intervals, *, step_minutes: int = 30
) -> FreeGrid:
    """``free`` (UTC) in ``week`` as the person sees it in ``zone``: the local days the week
    touches across, ``step_minutes`` rows down, whole hours around the free time.

    >>> from zoneinfo import ZoneInfo
    >>> from calroulette.intervals import Interval
    >>> at = lambda h, m=0: dt.datetime(2026, 12, 1, h, m, tzinfo=dt.UTC)
    >>> grid = free_grid(IsoWeek(2026, 49), ZoneInfo("UTC"), (Interval(at(14), at(15, 15)),))
    >>> [(r.label, r.cells[1]) for r in grid.rows]
    [('14:00', 'free'), ('14:30', 'free'), ('15:00', 'part'), ('15:30', '')]
    >>> grid.lines
    ('Tuesday 1 December: 14:00–15:15 (1.25 hours)',)
    """
    days = tuple(sorted(set(week.days()) | set(local_days(free, zone))))
    step = dt.timedelta(minutes=step_minutes)
    walls = day_times(step_minutes)
    table: list[GridRow] = []
    for wall in walls:
        cells = []
        for day in days:
            local = dt.datetime.combine(day, wall, zone)
            start = local.astimezone(dt.UTC)
            if start.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
                cells.append(Cell.GONE)
            elif any(s.start <= start and start + step <= s.end for s in free):
                cells.append(Cell.FREE)
            elif any(s.start < start + step and start < s.end for s in free):
                cells.append(Cell.PART)
            else:
                cells.append(Cell.NONE)
        table.append(GridRow(f"{wall:%H:%M}", tuple(cells)))
    used = [i for i, row in enumerate(table) if any(c in (Cell.FREE, Cell.PART) for c in row.cells)]
    per_hour = max(1, 60 // step_minutes)
    rows: list[GridRow] = []
    if used:
        first = used[0] - used[0] % per_hour
        last = used[-1] + per_hour - used[-1] % per_hour
        rows = table[first:last]
    return FreeGrid(str(zone), days, tuple(rows), _lines(free, zone))


def _lines(free: Intervals, zone: dt.tzinfo) -> tuple[str, ...]:
    out = []
    by_day = local_days(free, zone)
    for day in sorted(by_day):
        pieces = by_day[day]
        spans = ", ".join(f"{_hm(a, day)}–{_hm(b, day)}" for a, b in pieces)
        seconds = sum(
            (b.astimezone(dt.UTC) - a.astimezone(dt.UTC)).total_seconds() for a, b in pieces
        )
        hours = seconds / 3600
        out.append(f"{day:%A} {day.day} {day:%B}: {spans} ({hours:g} hour{'s' * (hours != 1)})")
    return tuple(out)


def _hm(value: dt.datetime, day: dt.date) -> str:
    return "24:00" if value.date() > day else f"{value:%H:%M}"


# --- the organizer's list -----------------------------------------------------------------------


def pending_table(signups: list[Signup]) -> Table:
    """One row per sign-up waiting for approval; when each was confirmed, in UTC."""
    table = Table(title=f"{len(signups)} sign-up(s) waiting for approval", title_justify="left")
    for column in ("id", "name", "email", "time zone", "frequency", "topics", "team", "confirmed"):
        table.add_column(column)
    for s in signups:
        confirmed = s.confirmed_at or s.created_at
        table.add_row(
            literal(s.id),
            literal(s.name),
            literal(s.email),
            s.timezone,
            s.frequency,
            literal(", ".join(s.topics)),
            literal(s.team or ""),
            f"{confirmed:%Y-%m-%d %H:%M}Z",
        )
    return table


def pending_json(signups: list[Signup]) -> list[dict[str, object]]:
    """``members pending --json``: each sign-up without its calendar."""
    return [
        {
            "id": s.id,
            "name": s.name,
            "email": s.email,
            "timezone": s.timezone,
            "frequency": s.frequency,
            "topics": list(s.topics),
            "team": s.team,
            "state": str(s.state),
            "created_at": format_utc(s.created_at),
            "confirmed_at": format_utc(s.confirmed_at) if s.confirmed_at else None,
        }
        for s in signups
    ]
