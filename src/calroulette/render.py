"""Presentation only: turn results into text, tables and week grids for people to read.

The one edge out for time: UTC values are shown in the reader's zone here, and nowhere earlier.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.table import Table
from rich.text import Text

from .errors import FeedError
from .intervals import Interval, Intervals
from .timeutil import IsoWeek, format_utc


def intervals_json(spans: Intervals) -> list[list[str]]:
    return [[format_utc(s.start), format_utc(s.end)] for s in spans]


def free_time_json(member: str, week: IsoWeek, zone: dt.tzinfo, free: Intervals) -> dict[str, Any]:
    return {
        "member": member,
        "week": str(week),
        "timezone": str(zone),
        "free": intervals_json(free),
    }


def error_json(error: FeedError) -> dict[str, str]:
    return {"member": error.member, "error": f"{error.stage}: {error.message}"}


def local_days(
    spans: Intervals, zone: dt.tzinfo
) -> dict[dt.date, list[tuple[dt.datetime, dt.datetime]]]:
    """Split UTC spans at local midnights in ``zone``: what a person sees on each day."""
    days: dict[dt.date, list[tuple[dt.datetime, dt.datetime]]] = {}
    for span in spans:
        start = span.start.astimezone(zone)
        end = span.end.astimezone(zone)
        while start < end:
            midnight = dt.datetime.combine(start.date() + dt.timedelta(days=1), dt.time(), zone)
            piece_end = min(end, midnight)
            days.setdefault(start.date(), []).append((start, piece_end))
            start = piece_end
    return days


def _hm(value: dt.datetime, day: dt.date) -> str:
    return "24:00" if value.date() > day else value.strftime("%H:%M")


def free_time_list(name: str, week: IsoWeek, zone: dt.tzinfo, free: Intervals) -> Table:
    """One row per local day with free time, times in the member's zone."""
    table = Table(title=f"{name}: free time in {week} ({zone})", title_justify="left")
    table.add_column("day")
    table.add_column("free (local time)")
    table.add_column("hours", justify="right")
    days = local_days(free, zone)
    for day in sorted(days):
        pieces = days[day]
        text = ", ".join(f"{_hm(a, day)}–{_hm(b, day)}" for a, b in pieces)
        hours = sum(((b - a) for a, b in pieces), dt.timedelta()).total_seconds() / 3600
        table.add_row(day.strftime("%a %d %b"), text, f"{hours:g}")
    if not days:
        table.add_row("—", "no free time this week", "0")
    return table


def week_grid(week: IsoWeek, zone: dt.tzinfo, free: Intervals, *, step_minutes: int = 30) -> Text:
    """Days across, half-hours down, in ``zone``; only the rows from the first to the last free
    half-hour of the week are drawn. '█' = free for the whole half-hour."""
    days = list(_local_week_days(week, zone))
    steps = 24 * 60 // step_minutes
    cells = [[False] * steps for _ in days]
    for col, day in enumerate(days):
        for row in range(steps):
            start = dt.datetime.combine(day, dt.time(), zone) + dt.timedelta(
                minutes=row * step_minutes
            )
            end = start + dt.timedelta(minutes=step_minutes)
            cells[col][row] = _covered(free, start, end)
    used = [r for r in range(steps) if any(cells[c][r] for c in range(len(days)))]
    text = Text()
    text.append("       " + " ".join(d.strftime("%a%d") for d in days) + "\n")
    if not used:
        text.append("       (no free time this week)\n")
        return text
    for row in range(used[0], used[-1] + 1):
        minutes = row * step_minutes
        text.append(f"{minutes // 60:02d}:{minutes % 60:02d}  ")
        for col in range(len(days)):
            text.append(
                " ████ " if cells[col][row] else " ·    ",
                style="green" if cells[col][row] else "dim",
            )
        text.append("\n")
    return text


def _local_week_days(week: IsoWeek, zone: dt.tzinfo) -> list[dt.date]:
    return week.days()


def _covered(free: Intervals, start: dt.datetime, end: dt.datetime) -> bool:
    return any(s.start <= start and end <= s.end for s in free)


__all__ = [
    "Interval",
    "error_json",
    "free_time_json",
    "free_time_list",
    "intervals_json",
    "local_days",
    "week_grid",
]
