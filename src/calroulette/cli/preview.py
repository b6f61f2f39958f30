"""`calroulette preview`: what calroulette would see in a calendar, before its owner is added."""

from __future__ import annotations

from typing import Annotated

import typer

from calroulette.errors import UsageError
from calroulette.timeutil import load_zone

from .app import WeekOption, app, handle_errors, now, parse_week, stderr, stdout

# What the help of `preview CALENDAR` and `members add --calendar` says about giving the secret.
ADDRESS_HELP = (
    "Leave it out to paste it when asked (it is not shown), or give - to read it from standard "
    "input: an address typed on the command line is visible to other users (ps) and stays in "
    "your shell history."
)


def secret_calendar(value: str | None, what: str) -> str:
    """The calendar address: ``value`` as given, a line of standard input for ``-``, or when it
    is left out, asked for on the terminal without echo. ``what`` names it in errors."""
    if value is not None and value != "-":
        return value
    stdin = typer.get_text_stream("stdin")
    if value == "-":
        address = stdin.readline().strip()
        if not address:
            raise UsageError(f"{what}: nothing on standard input (expected the address)")
        return address
    if not stdin.isatty():
        raise UsageError(f"{what}: missing (give - to read it from standard input)")
    address = str(typer.prompt("Calendar address (not shown)", hide_input=True, err=True))
    if not address.strip():
        raise UsageError(f"{what}: missing")
    return address.strip()


@app.command()
@handle_errors
def preview(
    timezone: Annotated[str, typer.Option(help="The person's IANA time zone, like Asia/Tokyo.")],
    calendar: Annotated[
        str | None,
        typer.Argument(
            help=f"The calendar's secret iCal address (or an .ics file). {ADDRESS_HELP}",
            metavar="CALENDAR",
            show_default=False,
        ),
    ] = None,
    week: WeekOption = None,
    keyword: Annotated[
        str, typer.Option(help="The word that marks free time in event titles.")
    ] = "free",
    allow_private_feeds: Annotated[
        bool,
        typer.Option(
            "--allow-private-feeds",
            help="Read an address on this machine or a private network (a CalDAV server on "
            "your own network), as allow_private_feeds = true in members.toml does.",
        ),
    ] = False,
) -> None:
    """Show what calroulette would see in a calendar, before its owner is added.

    The free time as a week grid in the owner's zone, with warnings: no availability events,
    everything blocked by busy events, or a feed error and how to fix it.

    Nothing is written; the calendar is fetched once and not cached. Exit code 1 when there is
    a warning or an error. Without CALENDAR it asks for the address, and does not show it as it
    is pasted.

    Example:

        calroulette preview --timezone Europe/Berlin --week 2026-W49
    """
    from calroulette import service  # deferred: see cli/__init__.py
    from calroulette.render.members import member_week, week_problems

    at = now()
    try:
        zone = load_zone(timezone.strip())
    except ValueError as exc:
        raise UsageError(f"--timezone: {exc}") from None
    week_asked = parse_week(week)  # a mistyped option is told before the address is asked for
    address = secret_calendar(calendar, "calendar")
    result = service.preview(
        address, zone, week_asked, keyword=keyword, now=at, allow_private_feeds=allow_private_feeds
    )
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
