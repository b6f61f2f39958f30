"""`calroulette preview`: what calroulette would see in a calendar, before its owner is added."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from calroulette.errors import UsageError
from calroulette.redact import SECRETS, is_url, redact_url
from calroulette.timeutil import IsoWeek, load_zone

from .app import WeekOption, app, handle_errors, now, stderr
from .members import read_week, show_week

if TYPE_CHECKING:
    from calroulette.config import Community, Member

PREVIEW = "preview"  # stands in for the member's email in messages


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
    from calroulette.config import Member, unreadable_scheme  # deferred: see cli/__init__.py

    at = now()
    try:
        zone = load_zone(timezone.strip())
    except ValueError as exc:
        raise UsageError(f"--timezone: {exc}") from None
    if not keyword.strip():
        raise UsageError("--keyword: must not be empty")
    source = calendar.strip()
    problem = unreadable_scheme(source)
    if problem:
        raise UsageError(f"calendar: {problem}")
    if is_url(source):
        SECRETS.add(source)  # a secret address: masked in any log line from here on
    else:
        source = source.removeprefix("file://")  # as members.toml reads it
        source = str(Path(source).expanduser().resolve())
    member = Member(name="This calendar", email=PREVIEW, calendar=source, timezone=zone)
    try:
        target = IsoWeek.parse(week) if week else IsoWeek.next_after(at, zone)
    except ValueError as exc:
        raise UsageError(f"--week: {exc}") from None
    stderr().print(f"Reading {redact_url(source)}…", markup=False)
    with tempfile.TemporaryDirectory(prefix="calroulette-preview-") as cache:
        community = _community(member, zone, keyword.strip(), Path(cache))
        result = read_week(community, member, target, at)
    found = show_week(member, target, community, result)
    err = stderr()
    if found.error is not None:
        err.print(f"error: {found.error}", markup=False)
    for warning in ([found.no_events] if found.no_events else []) + list(found.warnings):
        err.print(f"warning: {warning}", markup=False)
    if found.error or found.no_events or found.warnings:
        raise typer.Exit(1)
    err.print("OK: calroulette can read this calendar's free time.", markup=False)


def _community(member: Member, zone: ZoneInfo, keyword: str, cache: Path) -> Community:
    """A one-member community: the week is read in the person's own zone."""
    from calroulette.config import Community

    return Community(
        name="preview",
        organizer="",
        organizer_email="",
        timezone=zone,
        members=(member,),
        keyword=keyword,
        cache_dir=cache,
        fetch_concurrency=1,
    )
