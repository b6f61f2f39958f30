"""`calroulette preview`: what calroulette would see in a calendar, before its owner is added."""

from __future__ import annotations

from typing import Annotated

import typer

from calroulette.errors import UsageError
from calroulette.timeutil import load_zone

from .app import WeekOption, app, handle_errors, now, parse_week, stderr, stdout


@app.command()
@handle_errors
def preview(
    calendar: Annotated[
        str, typer.Argument(help="The calendar's secret iCal address (or an .ics file).")
    ],
    timezone: Annotated[str, typer.Option(help="The person's IANA time zone, like Asia/Tokyo.")],
    week: WeekOption = None,
    keyword: Annotated[
        str, typer.Option(help="The word that marks free time in event titles.")
    ] = "free",
) -> None:
    """Show what calroulette would see in a calendar, before its owner is added.

    The free time as a week grid in the owner's zone, with warnings: no availability events,
    everything blocked by busy events, or a feed error and how to fix it.

    Nothing is written; the calendar is fetched once and not cached. Exit code 1 when there is
    a warning or an error.

    Example: calroulette preview "https://calendar.google.com/calendar/ical/…/basic.ics"
    --timezone Europe/Berlin --week 2026-W49
    """
    from calroulette import service  # deferred: see cli/__init__.py
    from calroulette.render.members import member_week, week_problems

    at = now()
    try:
        zone = load_zone(timezone.strip())
    except ValueError as exc:
        raise UsageError(f"--timezone: {exc}") from None
    result = service.preview(calendar, zone, parse_week(week), keyword=keyword, now=at)
    out = stdout()
    for part in member_week(result.member, result.week, result.result):
        out.print(part)
    err = stderr()
    problems = week_problems(result.check)
    for line in problems:
        err.print(line, markup=False)
    if problems:
        raise typer.Exit(1)
    err.print("OK: calroulette can read this calendar's free time.", markup=False)
