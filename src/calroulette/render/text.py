"""Presentation only: turn results into text, tables and week grids for people to read.

The one edge out for time: UTC values are shown in the reader's zone here, and nowhere earlier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from rich.table import Table
from rich.text import Text

from calroulette.intervals import Interval, Intervals
from calroulette.matching import Meeting
from calroulette.timeutil import IsoWeek, to_utc

from .heatmap import HeatMap, day_times, heat_level
from .literal import literal


def plain_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Rows of cells as aligned columns of plain text (a cell may hold several lines).

    For tables of thousands of rows (a round of 10,000 members), where a rich Table spends
    ~1 ms a row measuring and wrapping cells; the last column is not padded.

    >>> print(plain_table(["who", "when"], [["Ada\\nGrace", "Mon 10:00"], ["Alan", "Tue"]]))
    who    when
    Ada    Mon 10:00
    Grace
    Alan   Tue
    """
    cells = [[cell.split("\n") for cell in row] for row in rows]
    widths = [len(title) for title in header]
    for row in cells:
        for column, lines in enumerate(row):
            widths[column] = max(widths[column], *(len(line) for line in lines))
    out = [_plain_line(header, widths)]
    for row in cells:
        for index in range(max(len(lines) for lines in row)):
            out.append(_plain_line([c[index] if index < len(c) else "" for c in row], widths))
    return "\n".join(out)


def _plain_line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def local_days(
    spans: Intervals, zone: dt.tzinfo
) -> dict[dt.date, list[tuple[dt.datetime, dt.datetime]]]:
    """Split UTC spans at local midnights in ``zone``: what a person sees on each day.

    Cuts are computed in UTC (aware times in one zone compare as wall clocks, which goes wrong
    in the repeated hour of a DST change); only the pieces are shown in ``zone``.

    >>> from zoneinfo import ZoneInfo
    >>> def utc(hour): return dt.datetime(2026, 11, 1, hour, tzinfo=dt.UTC)
    >>> span = Interval(utc(5), utc(6))  # New York's repeated hour, 01:00 EDT to 01:00 EST
    >>> [(a.strftime("%H:%M %Z"), b.strftime("%H:%M %Z"))
    ...  for a, b in local_days((span,), ZoneInfo("America/New_York"))[dt.date(2026, 11, 1)]]
    [('01:00 EDT', '01:00 EST')]
    """
    days: dict[dt.date, list[tuple[dt.datetime, dt.datetime]]] = {}
    for span in spans:
        cursor = span.start
        while cursor < span.end:
            local = cursor.astimezone(zone)
            midnight = to_utc(local.date() + dt.timedelta(days=1), zone)
            piece_end = min(span.end, midnight)
            days.setdefault(local.date(), []).append((local, piece_end.astimezone(zone)))
            cursor = piece_end
    return days


def _hm(value: dt.datetime, day: dt.date) -> str:
    return "24:00" if value.date() > day else value.strftime("%H:%M")


def _elapsed(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    return end.astimezone(dt.UTC) - start.astimezone(dt.UTC)


def free_time_list(name: str, week: IsoWeek, zone: dt.tzinfo, free: Intervals) -> Table:
    """One row per local day with free time, times in the member's zone."""
    table = Table(title=literal(f"{name}: free time in {week} ({zone})"), title_justify="left")
    table.add_column("day")
    table.add_column("free (local time)")
    table.add_column("hours", justify="right")
    days = local_days(free, zone)
    for day in sorted(days):
        pieces = days[day]
        text = ", ".join(f"{_hm(a, day)}–{_hm(b, day)}" for a, b in pieces)
        # Subtract in UTC: two times in the same zone subtract as wall clocks, wrong on DST days.
        hours = sum((_elapsed(a, b) for a, b in pieces), dt.timedelta()).total_seconds() / 3600
        table.add_row(day.strftime("%a %d %b"), text, f"{hours:g}")
    if not days:
        table.add_row("—", "no free time this week", "0")
    return table


_CELL = 7  # characters per day column: "Mon 30 " fits, so does "30 Nov "
_FULL, _PART, _NONE = "█████", "▒▒▒▒▒", "  ·  "


def week_grid(week: IsoWeek, zone: dt.tzinfo, free: Intervals, *, step_minutes: int = 30) -> Text:
    """A week of free time as a picture: days across, ``step_minutes`` rows down, in ``zone``.

    Columns are the member's local days that the week touches (seven, or eight when the member's
    zone is far from the community's); rows run from the first to the last hour with any free
    time. '█' free for the whole cell, '▒' free for part of it, '·' not free.
    """
    days = sorted(set(week.days()) | set(local_days(free, zone)))
    step = dt.timedelta(minutes=step_minutes)
    rows = day_times(step_minutes)

    def state(day: dt.date, wall: dt.time) -> int:
        start, end, exists = _wall_cell(day, wall, zone, step)
        if not exists:
            return -1
        if any(s.start <= start and end <= s.end for s in free):
            return 2
        return 1 if any(s.start < end and start < s.end for s in free) else 0

    states = {(day, wall): state(day, wall) for day in days for wall in rows}
    used = [i for i, wall in enumerate(rows) if any(states[d, wall] > 0 for d in days)]
    text = _grid_header(days)
    if not used:
        text.append("(no free time this week)\n", style="dim")
        return text
    for wall in rows[_hour_floor(used[0], step_minutes) : _hour_ceil(used[-1], step_minutes)]:
        text.append(f"{wall:%H:%M}  ", style="bold" if wall.minute == 0 else "dim")
        for day in days:
            value = states[day, wall]
            if value == 2:
                text.append(_FULL, style="green")
            elif value == 1:
                text.append(_PART, style="yellow")
            else:
                text.append(_NONE if value == 0 else "     ", style="dim")
            text.append(" " * (_CELL - 5))
        text.append("\n")
    text.append(f"█ free  ▒ partly free  · not free   (times in {zone})\n", style="dim")
    return text


def heat_grid(heat: HeatMap, *, meeting_starts: Iterable[dt.datetime] = ()) -> Text:
    """The overlap heat map for a terminal: how many members are free in each cell.

    Colour deepens with the count (the numbers carry the meaning without colour, for NO_COLOR
    and cron mail); '*' marks a cell where a meeting of the round starts.
    """
    marks = {c for c in (heat.cell_at(s) for s in meeting_starts) if c is not None}
    text = _grid_header(list(heat.days))
    rows = heat.busy_rows()
    if not rows:
        text.append("(nobody is free this week)\n", style="dim")
        return text
    first = _hour_floor(rows.start, heat.step_minutes)
    last = _hour_ceil(rows.stop - 1, heat.step_minutes)
    peak = heat.peak
    for row in heat.cells[first:last]:
        wall = row[0].time_local
        text.append(f"{wall:%H:%M}  ", style="bold" if wall.minute == 0 else "dim")
        for cell in row:
            mark = "*" if cell in marks else " "
            if not cell.exists:
                text.append("     ")
            elif cell.count == 0:
                text.append("  ·  " if mark == " " else "  · *", style="dim")
            else:
                label = f"{cell.count:>3} {mark}"
                text.append(label, style=_HEAT_STYLES[heat_level(cell.count, peak)])
            text.append(" " * (_CELL - 5))
        text.append("\n")
    text.append(
        f"members free for the whole half-hour, of {heat.members}; peak {peak}"
        f"{'; * a meeting starts' if marks else ''}   (times in {heat.zone})\n",
        style="dim",
    )
    return text


def round_table(
    meetings: Iterable[Meeting], names: Mapping[str, str], zone: dt.tzinfo, title: str
) -> Table:
    """Who meets whom when, in ``zone`` (the community's), one row per meeting; names (and the
    title, which may hold the community's name) are printed as written (see :mod:`.literal`)."""
    table = Table(title=literal(title), title_justify="left")
    table.add_column("when")
    table.add_column("who")
    for meeting in sorted(meetings, key=lambda m: (m.start, m.members)):
        start = meeting.start.astimezone(zone)
        end = meeting.end.astimezone(zone)
        who = " & ".join(names.get(m, m) for m in meeting.members)
        table.add_row(f"{start:%a %d %b %H:%M}–{end:%H:%M}", literal(who))
    return table


_HEAT_STYLES = (
    "dim",
    "black on #c7e9c0",
    "black on #74c476",
    "white on #31a354",
    "bold white on #006d2c",
)


def _grid_header(days: list[dt.date]) -> Text:
    text = Text()
    text.append(" " * 7 + "".join(f"{d:%a}".ljust(_CELL) for d in days) + "\n", style="bold")
    text.append(" " * 7 + "".join(f"{d:%d %b}".ljust(_CELL) for d in days) + "\n", style="dim")
    return text


def _wall_cell(
    day: dt.date, wall: dt.time, zone: dt.tzinfo, step: dt.timedelta
) -> tuple[dt.datetime, dt.datetime, bool]:
    """UTC bounds of the cell starting at a wall-clock time; False when DST skips that time."""
    local = dt.datetime.combine(day, wall, zone)
    start = local.astimezone(dt.UTC)
    exists = start.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None)
    return start, start + step, exists


def _hour_floor(row: int, step_minutes: int) -> int:
    per_hour = max(1, 60 // step_minutes)
    return row - row % per_hour


def _hour_ceil(row: int, step_minutes: int) -> int:
    per_hour = max(1, 60 // step_minutes)
    return row + per_hour - row % per_hour


__all__ = [
    "Interval",
    "free_time_list",
    "heat_grid",
    "local_days",
    "round_table",
    "week_grid",
]
