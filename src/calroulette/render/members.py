"""Members for people to read: the members table, and one calendar's week with its problems."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.table import Table
from rich.text import Text

from calroulette.config import Member
from calroulette.errors import FeedError
from calroulette.redact import redact_url
from calroulette.timeutil import IsoWeek

from .json import member_json
from .literal import literal, printable
from .text import week_grid

if TYPE_CHECKING:  # types only: `members list` reads no calendar
    from calroulette.availability import FreeTime
    from calroulette.service.members import Roll, WeekCheck


def members_table(roll: Roll) -> Table:
    """Name, email, zone, status and the calendar (shortened: it is secret); never ``avoid``."""
    community = roll.community
    table = Table(
        title=literal(f"{community.name}: {len(community.members)} members"),
        title_justify="left",
        box=box.SIMPLE,
    )
    table.add_column("name", no_wrap=True)
    table.add_column("email", no_wrap=True)
    table.add_column("timezone", no_wrap=True)
    table.add_column("status")
    table.add_column("calendar", overflow="fold")
    for member in community.members:
        row = member_json(member, roll.today, resting=member.email in roll.resting)
        status = row["status"] + ("" if row["frequency"] == "weekly" else f", {row['frequency']}")
        shown = _shown_calendar(member.calendar, roll.base)
        cells = (row["name"], row["email"], row["timezone"], status, shown)
        table.add_row(*(literal(cell) for cell in cells))
    return table


def _shown_calendar(calendar: str, base: Path) -> str:
    """A URL shortened by redact_url; a file under members.toml's folder as a relative path."""
    shown = redact_url(calendar)
    if shown == calendar:
        with contextlib.suppress(ValueError):
            return str(Path(calendar).relative_to(base))
    return shown


def member_week(member: Member, week: IsoWeek, result: FreeTime | FeedError) -> list[Text]:
    """The heading and week grid of a calendar that could be read (nothing for one that could
    not: its error is among :func:`week_problems`)."""
    if isinstance(result, FeedError):
        return []
    heading = literal(f"{member.name}: free time in {week} ({member.timezone})")
    return [heading, week_grid(week, member.timezone, result.free)]


def week_problems(check: WeekCheck) -> list[str]:
    """``error: …`` and ``warning: …`` lines for stderr, most serious first."""
    lines = [f"error: {check.error}"] if check.error else []
    if check.no_events:
        lines.append(f"warning: {check.no_events}")
    return [printable(line) for line in lines + [f"warning: {w}" for w in check.warnings]]
