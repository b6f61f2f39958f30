"""`calroulette members …`: add, remove, pause, resume and list members, editing members.toml in
place (comments and layout kept; every edit validated as loading validates)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from calroulette.errors import UsageError

from .app import ConfigOption, JsonOption, app, handle_errors, now, stderr, stdout

members_app = typer.Typer(
    name="members",
    help="Add, remove, pause, resume and list members (edits members.toml, keeping comments).",
    no_args_is_help=True,
)
app.add_typer(members_app, name="members")

EmailArgument = Annotated[str, typer.Argument(help="The member's email address.")]


@members_app.command("add")
@handle_errors
def add(
    name: Annotated[str, typer.Option(help="The member's name, as invitations show it.")],
    email: Annotated[str, typer.Option(help="Where their invitations go; their key everywhere.")],
    calendar: Annotated[
        str,
        typer.Option(help="Their calendar's secret iCal address (https://, webcal://) or a file."),
    ],
    timezone: Annotated[str, typer.Option(help="Their IANA time zone, like America/New_York.")],
    topics: Annotated[
        str | None, typer.Option(help="Comma-separated topics they like to talk about.")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Add them even when their calendar cannot be read or shows no free time.",
        ),
    ] = False,
    config: ConfigOption = Path("members.toml"),
) -> None:
    """Add a member after reading their calendar and showing their next week.

    Refuses (unless --force) when the calendar cannot be read or holds no availability events
    (events titled with the community's keyword, "free" by default).

    Example: calroulette members add --name "Grace Hopper" --email grace@example.org
    --calendar "https://calendar.google.com/calendar/ical/…/basic.ics" --timezone America/New_York
    """
    from calroulette import service  # deferred: see cli/__init__.py
    from calroulette.config.roster import NewMember
    from calroulette.render.members import member_week

    at = now()
    topic_list = tuple(t.strip() for t in (topics or "").split(",") if t.strip())
    new = NewMember(name, email, calendar, timezone, topic_list)
    result = service.members_add(config, new, force=force, now=at)
    out = stdout()
    for part in member_week(result.member, result.week, result.result):
        out.print(part)
    err = stderr()
    for warning in result.check.warnings:
        err.print(f"warning: {warning}", markup=False)
    blocking = result.check.blocking
    if blocking is not None:
        if not result.added:
            raise UsageError(f"{blocking}; not added (fix it, or add anyway with --force)")
        err.print(f"warning: {blocking}; added anyway (--force)", markup=False)
    out.print(f"Added {result.member.name} <{result.member.email}> to {config}.", markup=False)


@members_app.command("remove")
@handle_errors
def remove(email: EmailArgument, config: ConfigOption = Path("members.toml")) -> None:
    """Remove a member from members.toml. Their history stays in the database, so if they come
    back the cooldown still holds.

    Example: calroulette members remove grace@example.org
    """
    from calroulette import service  # deferred: see cli/__init__.py

    name = service.members_remove(config, email)
    stdout().print(f"Removed {name} <{email.strip().lower()}> from {config}.", markup=False)


@members_app.command("pause")
@handle_errors
def pause(
    email: EmailArgument,
    until: Annotated[
        str | None,
        typer.Option(
            help="Take part again from the first week that starts on or after this date "
            "(YYYY-MM-DD)."
        ),
    ] = None,
    config: ConfigOption = Path("members.toml"),
) -> None:
    """Leave a member out of rounds until resumed, or until a date.

    Without --until this writes `paused = true`; with it, `paused_until = DATE`: rounds of weeks
    that start before that date leave the member out.

    Example: calroulette members pause grace@example.org --until 2027-01-10
    """
    from calroulette import service  # deferred: see cli/__init__.py

    day = _parse_date(until) if until is not None else None
    service.members_pause(config, email, day, now=now())
    when = f"until {day.isoformat()}" if day else "until `calroulette members resume`"
    stdout().print(f"Paused {email.strip().lower()} {when}.", markup=False)


@members_app.command("resume")
@handle_errors
def resume(email: EmailArgument, config: ConfigOption = Path("members.toml")) -> None:
    """Take a paused member back into the next round.

    Example: calroulette members resume grace@example.org
    """
    from calroulette import service  # deferred: see cli/__init__.py

    address = email.strip().lower()
    if not service.members_resume(config, email):
        stdout().print(f"{address} was not paused; nothing changed.", markup=False)
        return
    stdout().print(f"Resumed {address}: they take part from the next round.", markup=False)


@members_app.command("list")
@handle_errors
def list_members(config: ConfigOption = Path("members.toml"), as_json: JsonOption = False) -> None:
    """List the members: name, email, zone, status and calendar (shortened: it is secret).

    --json adds frequency, topics and team.

    Example: calroulette members list --json
    """
    from calroulette import service  # deferred: see cli/__init__.py
    from calroulette.render.json import member_json
    from calroulette.render.members import members_table

    roll = service.members_list(config, now=now())
    if as_json:
        rows = [member_json(m, roll.today) for m in roll.community.members]
        typer.echo(json.dumps({"community": roll.community.name, "members": rows}, indent=2))
        return
    out = stdout()
    if not out.is_terminal:  # a file or a pipe: no need to squeeze into 80 columns
        out.width = max(out.width, 120)
    out.print(members_table(roll))


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--until: {text!r} is not a date like 2027-01-10") from None
