"""`calroulette slots`: a member's (or everyone's) free time in a week."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from calroulette.errors import FeedError, UsageError

from .app import (
    ConfigOption,
    JsonOption,
    WeekOption,
    app,
    handle_errors,
    load,
    now,
    resolve_week,
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

    Example: calroulette slots ada@example.org --week 2026-W49
    """
    from calroulette import availability, feeds, render, rounds  # deferred: cli/__init__.py

    at = now()
    community = load(config)
    target = resolve_week(week, community, at)
    if all_members == (member is not None):
        raise UsageError("give a MEMBER (email or name) or --all, not both")
    chosen = list(community.members)
    if member is not None:
        found = community.member(member)
        if found is None:
            named = [m for m in community.members if m.name.casefold() == member.casefold()]
            if len(named) > 1:
                raise UsageError(f"{member}: {len(named)} members have this name; give the email")
            raise UsageError(f"{member}: no such member in {config}")
        chosen = [found]
    fetched, results = rounds.read_feeds(community, target, at, chosen)
    errors = [r for m in chosen if isinstance(r := results[m.email], FeedError)]
    ok = [(m, r) for m in chosen if isinstance(r := results[m.email], availability.FreeTime)]
    if as_json:
        entries = [render.free_time_json(m.email, target, m.timezone, r.free) for m, r in ok]
        if member is not None:
            if entries:  # a failed single member prints nothing on stdout, its line on stderr
                typer.echo(json.dumps(entries[0], indent=2))
        else:
            payload = {
                "week": str(target),
                "members": entries,
                "errors": [render.error_json(e) for e in errors],
            }
            typer.echo(json.dumps(payload, indent=2))
    else:
        out = stdout()
        for m, r in ok:
            out.print(render.free_time_list(m.name, target, m.timezone, r.free))
            out.print(render.week_grid(target, m.timezone, r.free))
    err = stderr()
    for m, r in ok:
        feed = fetched.get(m.email)
        if isinstance(feed, feeds.Feed) and feed.stale:
            err.print(
                f"warning: {m.email}: calendar: using the copy fetched "
                f"{feed.fetched_at:%Y-%m-%d %H:%M}Z ({feed.problem})",
                markup=False,
            )
        for note in r.warnings:
            err.print(f"warning: {m.email}: calendar: {note}", markup=False)
    for error in errors:
        err.print(f"error: {error}", markup=False)
    if errors:
        raise typer.Exit(1)
