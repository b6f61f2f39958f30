"""`calroulette slots`: a member's (or everyone's) free time in a week."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from calroulette.errors import UsageError

from .app import (
    ConfigOption,
    JsonOption,
    WeekOption,
    app,
    feed_states_shown,
    handle_errors,
    load,
    member_key,
    now,
    parse_week,
    stderr,
    stdout,
)


@app.command()
@handle_errors
def slots(
    member: Annotated[str | None, typer.Argument(help="The member's email or name.")] = None,
    all_members: Annotated[bool, typer.Option("--all", help="Every member.")] = False,
    week: WeekOption = None,
    config: ConfigOption = Path("members.toml"),
    as_json: JsonOption = False,
) -> None:
    """Show when a member is free in a week, read from their calendar.

    Example:

        calroulette slots ada@example.org --week 2026-W49
    """
    from calroulette import service  # deferred: see cli/__init__.py
    from calroulette.render.json import error_json, free_time_json
    from calroulette.render.text import free_time_list, week_grid

    feed_states_shown()  # each member's row says when a stale copy is used
    at = now()
    community = load(config)
    if all_members == (member is not None):
        raise UsageError("give a MEMBER (email or name) or --all, not both")
    if member is not None:
        member = member_key(community, member)
    result = service.slots(community, member, parse_week(week), now=at)
    if as_json:
        entries = [
            free_time_json(f.member.email, result.week, f.member.timezone, f.free.free)
            for f in result.found
        ]
        if member is not None:
            if entries:  # a failed single member prints nothing on stdout, its line on stderr
                typer.echo(json.dumps(entries[0], indent=2))
        else:
            payload = {
                "week": str(result.week),
                "members": entries,
                "errors": [error_json(e) for e in result.errors],
            }
            typer.echo(json.dumps(payload, indent=2))
    else:
        out = stdout()
        for f in result.found:
            out.print(free_time_list(f.member.name, result.week, f.member.timezone, f.free.free))
            out.print(week_grid(result.week, f.member.timezone, f.free.free))
    err = stderr()
    for f in result.found:
        email = f.member.email
        if f.feed is not None and f.feed.stale:
            err.print(
                f"warning: {email}: calendar: using the copy fetched "
                f"{f.feed.fetched_at:%Y-%m-%d %H:%M}Z ({f.feed.problem})",
                markup=False,
            )
        for note in f.free.warnings:
            err.print(f"warning: {email}: calendar: {note}", markup=False)
    for error in result.errors:
        err.print(f"error: {error}", markup=False)
    if result.errors:
        raise typer.Exit(1)
