"""`calroulette members …`: add, remove, pause, resume and list members, editing members.toml in
place (comments and layout kept; every edit validated as loading validates); and the sign-ups
from the web page that wait for approval: pending, approve, reject."""

from __future__ import annotations

import datetime as dt
import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from calroulette.errors import UsageError

from .app import (
    App,
    ConfigOption,
    JsonOption,
    MembersGroup,
    app,
    handle_errors,
    load,
    member_key,
    now,
    stderr,
    stdout,
)
from .preview import ADDRESS_HELP, secret_calendar

if TYPE_CHECKING:
    from calroulette.config import Community
    from calroulette.service.members import Departure

members_app = App(
    name="members",
    cls=MembersGroup,
    rich_markup_mode="markdown",
    help="Add, remove, pause, resume and list members (edits members.toml, keeping comments); "
    "approve or reject sign-ups from the web page.",
    no_args_is_help=True,
)
app.add_typer(members_app, name="members")

EmailArgument = Annotated[
    str, typer.Argument(help='The member\'s email, or a name only they have ("Grace").')
]


@members_app.command("add")
@handle_errors
def add(
    name: Annotated[str, typer.Option(help="The member's name, as invitations show it.")],
    email: Annotated[str, typer.Option(help="Where their invitations go; their key everywhere.")],
    timezone: Annotated[str, typer.Option(help="Their IANA time zone, like America/New_York.")],
    calendar: Annotated[
        str | None,
        typer.Option(
            help="Their calendar's secret iCal address (https://, webcal://) or a file. "
            + ADDRESS_HELP,
            show_default=False,
        ),
    ] = None,
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
    (events titled with the community's keyword, "free" by default). Without --calendar it asks
    for the address, and does not show it as it is pasted.

    Example:

        calroulette members add --name "Grace Hopper" --email grace@example.org \\
            --timezone America/New_York
    """
    from calroulette import service  # deferred: see cli/__init__.py
    from calroulette.config.roster import NewMember
    from calroulette.render.members import member_week

    at = now()
    topic_list = tuple(t.strip() for t in (topics or "").split(",") if t.strip())
    address = secret_calendar(calendar, "--calendar")
    new = NewMember(name, email, address, timezone, topic_list)
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


CancelMeetingsOption = Annotated[
    bool,
    typer.Option(
        "--cancel-meetings",
        help="Also cancel their meetings already sent that are still to come: each attendee gets "
        "a cancellation (without it, each meeting is listed with the command that cancels it).",
    ),
]


@members_app.command("remove")
@handle_errors
def remove(
    email: EmailArgument,
    cancel_meetings: CancelMeetingsOption = False,
    config: ConfigOption = Path("members.toml"),
) -> None:
    """Remove a member from members.toml. Their history stays in the database, so if they come
    back the cooldown still holds.

    Their meetings still to come are never left silently: a meeting of a round not sent yet is
    dropped (nobody was told); one already sent is cancelled for every attendee with
    --cancel-meetings, else listed with the command that cancels it.

    Example:

        calroulette members remove grace@example.org --cancel-meetings
    """
    from calroulette import service  # deferred: see cli/__init__.py

    at = now()
    email = _email(config, email)
    departure = service.members_remove(config, email, now=at, cancel_meetings=cancel_meetings)
    member = departure.member
    stdout().print(f"Removed {member.name} <{member.email}> from {config}.", markup=False)
    _meetings_left(departure, config, at)


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
    cancel_meetings: CancelMeetingsOption = False,
    config: ConfigOption = Path("members.toml"),
) -> None:
    """Leave a member out of rounds until resumed, or until a date.

    Without --until this writes `paused = true`; with it, `paused_until = DATE`: rounds of weeks
    that start before that date leave the member out. Their meetings still to come (before
    --until) are handled as `members remove` handles them: dropped from a round not sent yet;
    if already sent, cancelled with --cancel-meetings, else listed with the command that
    cancels them.

    Example:

        calroulette members pause grace@example.org --until 2027-01-10
    """
    from calroulette import service  # deferred: see cli/__init__.py

    at = now()
    day = _parse_date(until) if until is not None else None
    email = _email(config, email)
    departure = service.members_pause(config, email, day, now=at, cancel_meetings=cancel_meetings)
    when = f"until {day.isoformat()}" if day else "until `calroulette members resume`"
    stdout().print(f"Paused {departure.member.email} {when}.", markup=False)
    _meetings_left(departure, config, at)


def _meetings_left(departure: Departure, config: Path, at: dt.datetime) -> None:
    """Say what became of each meeting still to come: dropped, cancelled, or still on (with the
    command that cancels it); the exit code is `cancel`'s when a cancellation did not go out."""
    from calroulette.render import delivery

    community, member = departure.community, departure.member
    option = "" if str(config) == "members.toml" else f" --config {shlex.quote(str(config))}"
    out, err = stdout(), stderr()
    for u in departure.meetings:
        others = [e for e in u.meeting.members if e != member.email]
        local = u.meeting.start.astimezone(community.timezone)
        what = (
            f"{u.typed} ({u.week}): {member.name} with {_people(community, others)}, "
            f"{local:%a %d %b %H:%M} ({community.timezone.key})"
        )
        if u.outcome is None:
            err.print(
                f"warning: {member.email} still has a meeting already sent: {what}; to cancel "
                f"it for every attendee: `calroulette cancel {u.typed}{option}`",
                markup=False,
            )
        elif not u.sent:
            out.print(
                f"dropped {what}: its round is not sent yet, nobody is notified; to pair "
                f"{', '.join(others)} again: `calroulette match --rematch --week {u.week}{option}`",
                markup=False,
            )
        else:
            out.print(f"cancelled {what}: a cancellation goes to each attendee", markup=False)
            out.print(delivery.summary(community, u.outcome), markup=False)
            # "the same command" would not find the member again: name the one that finishes
            again = f"(`calroulette send --retry-failed --week {u.week}{option}` sends it now)"
            for line in delivery.problems(u.outcome, at):
                line = line.replace("(run the same command again later)", again)
                err.print(line, markup=False)
    if departure.exit_code:
        raise typer.Exit(departure.exit_code)


def _people(community: Community, emails: list[str]) -> str:
    named = []
    for email in emails:
        someone = community.member(email)
        named.append(f"{someone.name} <{email}>" if someone is not None else email)
    return " & ".join(named)


@members_app.command("resume")
@handle_errors
def resume(email: EmailArgument, config: ConfigOption = Path("members.toml")) -> None:
    """Take a paused member back into the next round.

    Example:

        calroulette members resume grace@example.org
    """
    from calroulette import service  # deferred: see cli/__init__.py

    email = _email(config, email)
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

    Example:

        calroulette members list --json
    """
    from calroulette import service  # deferred: see cli/__init__.py
    from calroulette.render.json import member_json
    from calroulette.render.members import members_table

    roll = service.members_list(config, now=now())
    if as_json:
        rows = [
            member_json(m, roll.today, resting=m.email in roll.resting)
            for m in roll.community.members
        ]
        typer.echo(json.dumps({"community": roll.community.name, "members": rows}, indent=2))
        return
    out = stdout()
    if not out.is_terminal:  # a file or a pipe: no need to squeeze into 80 columns
        out.width = max(out.width, 120)
    out.print(members_table(roll))


SignupArgument = Annotated[
    str, typer.Argument(help="The sign-up's id (from `members pending`) or its email address.")
]


@members_app.command("pending")
@handle_errors
def pending(config: ConfigOption = Path("members.toml"), as_json: JsonOption = False) -> None:
    """List the sign-ups from the web page that wait for your approval.

    With signup = "approve" in members.toml's web table, a sign-up whose email is confirmed
    waits here: id, name, email, time zone, frequency, topics, team. Never the calendar
    address.

    Approve one with `calroulette members approve`, turn it down with `calroulette members
    reject`.

    Example:

        calroulette members pending --json
    """
    from calroulette import service  # deferred: see cli/__init__.py
    from calroulette.render.signups import pending_json, pending_table

    waiting = service.members_pending(config)
    if as_json:
        typer.echo(json.dumps({"pending": pending_json(waiting)}, indent=2))
        return
    out = stdout()
    if not waiting:
        out.print("No sign-ups are waiting for approval.", markup=False)
        return
    if not out.is_terminal:
        out.width = max(out.width, 120)
    out.print(pending_table(waiting))


@members_app.command("approve")
@handle_errors
def approve(
    signup: SignupArgument,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Approve even when their calendar cannot be read or shows no free time now.",
        ),
    ] = False,
    config: ConfigOption = Path("members.toml"),
) -> None:
    """Add a sign-up that waits for approval to members.toml, and welcome them by email.

    The welcome email carries the link to their own page (pause, settings, leave).

    Their calendar is read first, as `members add` reads it: approving refuses (unless --force)
    when it cannot be read or holds no availability events next week.

    Example:

        calroulette members approve grace@example.org
    """
    from calroulette import service  # deferred: see cli/__init__.py

    result = service.members_approve(config, signup, now=now(), force=force)
    who = f"{result.signup.name} <{result.signup.email}>"
    err = stderr()
    for warning in result.warnings:
        err.print(f"warning: {result.signup.email}: calendar: {warning}", markup=False)
    for problem in result.problems:
        err.print(
            f"warning: {result.signup.email}: calendar: {problem}; approved anyway (--force)",
            markup=False,
        )
    if not result.added:
        stdout().print(f"{who} is already a member; the sign-up is closed.", markup=False)
        return
    stdout().print(f"Approved {who}: added to {config}.", markup=False)
    if not result.welcomed:
        err.print(
            "warning: the welcome email is not sent yet; `calroulette send` sends it",
            markup=False,
        )


@members_app.command("reject")
@handle_errors
def reject(
    signup: SignupArgument,
    no_email: Annotated[
        bool, typer.Option("--no-email", help="Do not send them the short note that says so.")
    ] = False,
    config: ConfigOption = Path("members.toml"),
) -> None:
    """Turn down a sign-up from the web page; its calendar address is deleted at once.

    A confirmed sign-up gets a short, kind note (unless --no-email); an unconfirmed one never
    does.

    Example:

        calroulette members reject grace@example.org --no-email
    """
    from calroulette import service  # deferred: see cli/__init__.py

    result = service.members_reject(config, signup, now=now(), notify=not no_email)
    who = f"{result.signup.name} <{result.signup.email}>"
    told = " (a note is on its way)" if result.sent else ""
    stdout().print(f"Rejected the sign-up of {who}{told}.", markup=False)
    if result.told and not result.sent:
        stderr().print(
            "warning: the note is not sent yet; `calroulette send` sends it", markup=False
        )


def _email(config: Path, given: str) -> str:
    """The email of the member ``given`` names (see :func:`.app.member_key`)."""
    if "@" in given:
        return given  # no need to read members.toml twice
    return member_key(load(config, members=False), given)


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--until: {text!r} is not a date like 2027-01-10") from None
