"""`calroulette members …`: add, remove, pause, resume and list members, editing members.toml in
place (comments and layout kept; every edit validated as loading validates)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from calroulette.errors import FeedError, UsageError
from calroulette.redact import redact_url
from calroulette.timeutil import IsoWeek

from .app import ConfigOption, JsonOption, app, handle_errors, now, stderr, stdout

if TYPE_CHECKING:
    from calroulette.availability import FreeTime
    from calroulette.config import Community, Member

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
    from calroulette.roster import NewMember, Roster  # deferred: see cli/__init__.py

    at = now()
    roster = Roster.open(config)
    topic_list = tuple(t.strip() for t in (topics or "").split(",") if t.strip())
    roster.add(NewMember(name, email, calendar, timezone, topic_list))
    community = roster.community()
    member = community.member(email)
    assert member is not None
    week = _next_week(community, at)
    err = stderr()
    err.print(f"Reading {member.email}'s calendar ({redact_url(calendar)})…", markup=False)
    result = read_week(community, member, week, at)
    found = show_week(member, week, community, result)
    for warning in found.warnings:
        err.print(f"warning: {warning}", markup=False)
    if found.blocking is not None:
        if not force:
            raise UsageError(f"{found.blocking}; not added (fix it, or add anyway with --force)")
        err.print(f"warning: {found.blocking}; added anyway (--force)", markup=False)
    roster.save()
    stdout().print(f"Added {member.name} <{member.email}> to {config}.", markup=False)


@members_app.command("remove")
@handle_errors
def remove(email: EmailArgument, config: ConfigOption = Path("members.toml")) -> None:
    """Remove a member from members.toml. Their history stays in the database, so if they come
    back the cooldown still holds.

    Example: calroulette members remove grace@example.org
    """
    from calroulette.roster import Roster  # deferred: see cli/__init__.py

    roster = Roster.open(config)
    name = roster.remove(email)
    roster.save()
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
    from calroulette.roster import Roster  # deferred: see cli/__init__.py

    day = _parse_date(until) if until is not None else None
    if day is not None and day <= now().date():
        raise UsageError(
            f"--until: {day.isoformat()} is not in the future (nothing would be paused; "
            "to take part again now, use `calroulette members resume`)"
        )
    roster = Roster.open(config)
    roster.pause(email, day)
    roster.save()
    when = f"until {day.isoformat()}" if day else "until `calroulette members resume`"
    stdout().print(f"Paused {email.strip().lower()} {when}.", markup=False)


@members_app.command("resume")
@handle_errors
def resume(email: EmailArgument, config: ConfigOption = Path("members.toml")) -> None:
    """Take a paused member back into the next round.

    Example: calroulette members resume grace@example.org
    """
    from calroulette.roster import Roster  # deferred: see cli/__init__.py

    roster = Roster.open(config)
    was_paused = roster.resume(email)
    address = email.strip().lower()
    if not was_paused:
        stdout().print(f"{address} was not paused; nothing changed.", markup=False)
        return
    roster.save()
    stdout().print(f"Resumed {address}: they take part from the next round.", markup=False)


@members_app.command("list")
@handle_errors
def list_members(config: ConfigOption = Path("members.toml"), as_json: JsonOption = False) -> None:
    """List the members: name, email, zone, status and calendar (shortened: it is secret).

    --json adds frequency, topics and team.

    Example: calroulette members list --json
    """
    from calroulette.roster import Roster  # deferred: see cli/__init__.py

    community = Roster.open(config).community()
    today = now().astimezone(community.timezone).date()
    rows = [member_json(m, today) for m in community.members]
    if as_json:
        typer.echo(json.dumps({"community": community.name, "members": rows}, indent=2))
        return
    table = Table(
        title=f"{community.name}: {len(rows)} members", title_justify="left", box=box.SIMPLE
    )
    table.add_column("name", no_wrap=True)
    table.add_column("email", no_wrap=True)
    table.add_column("timezone", no_wrap=True)
    table.add_column("status")
    table.add_column("calendar", overflow="fold")
    base = config.resolve().parent
    for row, member in zip(rows, community.members, strict=True):
        status = row["status"] + ("" if row["frequency"] == "weekly" else f", {row['frequency']}")
        shown = _shown_calendar(member.calendar, base)
        table.add_row(row["name"], row["email"], row["timezone"], status, shown)
    out = stdout()
    if not out.is_terminal:  # a file or a pipe: no need to squeeze into 80 columns
        out.width = max(out.width, 120)
    out.print(table)


def member_json(member: Member, today: dt.date) -> dict[str, Any]:
    """What `members list` shows of a member: never the full calendar address, never `avoid`."""
    if member.paused:
        status = "paused"
    elif member.paused_until is not None and member.paused_until > today:
        status = f"paused until {member.paused_until.isoformat()}"
    else:
        status = "active"
    return {
        "name": member.name,
        "email": member.email,
        "timezone": str(member.timezone),
        "calendar": redact_url(member.calendar),
        "status": status,
        "paused": member.paused,
        "paused_until": member.paused_until.isoformat() if member.paused_until else None,
        "frequency": member.frequency.value,
        "topics": sorted(member.topics),
        "team": member.team,
    }


def _shown_calendar(calendar: str, base: Path) -> str:
    """A URL shortened by redact_url; a file under members.toml's folder as a relative path."""
    shown = redact_url(calendar)
    if shown == calendar:
        with contextlib.suppress(ValueError):
            return str(Path(calendar).relative_to(base))
    return shown


# --- shared with `calroulette preview` ----------------------------------------------------------


def _next_week(community: Community, at: dt.datetime) -> IsoWeek:
    return IsoWeek.next_after(at, community.timezone)


def read_week(
    community: Community, member: Member, week: IsoWeek, at: dt.datetime
) -> FreeTime | FeedError:
    from calroulette import rounds

    return rounds.read_afresh(community, [member], week, at)[member.email]


@dataclass(frozen=True, slots=True)
class WeekCheck:
    """What reading a calendar for one week found, beyond the grid itself."""

    error: str | None = None  # the feed could not be read or parsed
    no_events: str | None = None  # no availability events at all: nothing to match on
    warnings: tuple[str, ...] = ()  # everything blocked, odd values in the feed

    @property
    def blocking(self) -> str | None:
        """What stops `members add` without --force."""
        return self.error or self.no_events


def show_week(
    member: Member, week: IsoWeek, community: Community, result: FreeTime | FeedError
) -> WeekCheck:
    """Print the member's week as a grid and say what is wrong with it, if anything."""
    from calroulette import render

    if isinstance(result, FeedError):
        return WeekCheck(error=str(result))
    out = stdout()
    out.print(f"{member.name}: free time in {week} ({member.timezone})", markup=False)
    out.print(render.week_grid(week, member.timezone, result.free))
    keyword = community.keyword_for(member)
    warnings = [f"{member.email}: calendar: {note}" for note in result.warnings]
    if result.availability_events == 0:
        return WeekCheck(
            no_events=f"{member.email}: calendar: no events titled {keyword!r} in {week} (create "
            f"a recurring event called {keyword!r} at the times they can meet; see "
            "docs/members.md)",
            warnings=tuple(warnings),
        )
    if not result.free:
        warnings.append(
            f"{member.email}: calendar: every {keyword!r} event in {week} is covered by busy "
            "events (mark the 'free' events as free/transparent, or move the busy ones)"
        )
    return WeekCheck(warnings=tuple(warnings))


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--until: {text!r} is not a date like 2027-01-10") from None
