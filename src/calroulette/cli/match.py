"""`calroulette match`: plan next week's round and record it in the history database."""

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
    handle_errors,
    load,
    now,
    parse_week,
    stderr,
    stdout,
)

FORCE_HELP = "Plan the week under way too (members left out are told, in a week they are in)."


@app.command()
@handle_errors
def match(
    week: WeekOption = None,
    config: ConfigOption = Path("members.toml"),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and show the round; record nothing.")
    ] = False,
    as_json: JsonOption = False,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed for breaking ties (default: from the community name and week)."),
    ] = None,
    rematch: Annotated[
        bool, typer.Option("--rematch", help="Plan again a round that has not been sent yet.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
) -> None:
    """Plan a week's round: pair as many members as possible, never repeating recent pairs.

    Running it again for a week that already has a round prints that round and changes nothing.
    The week already under way is not planned unless --force (--dry-run shows it): its round
    would leave out most members, and tell them so, in a week they are already in.

    Example:

        calroulette match --week 2026-W49 --dry-run
    """
    from calroulette import service  # deferred: see cli/__init__.py
    from calroulette.matching import RoundStatus
    from calroulette.render.json import round_json
    from calroulette.render.rounds import errors_not_shown, round_text

    if seed is not None and not 0 <= seed < 2**63:
        raise UsageError("--seed: must be a whole number from 0 to 2**63 - 1")
    at = now()
    community = load(config)
    result = service.match(
        community,
        parse_week(week),
        now=at,
        seed=seed,
        dry_run=dry_run,
        rematch=rematch,
        force=force,
    )
    err = stderr()
    target = result.round.week
    if not result.created:
        hint = "" if result.round.status is RoundStatus.SENT else " (--rematch plans it again)"
        err.print(
            f"{target}: a round is already {result.round.status.value}; showing it unchanged{hint}",
            markup=False,
        )
    elif not result.saved and as_json:  # the text's heading says so
        err.print(f"{target}: dry run, nothing recorded", markup=False)
    errors = result.round.errors
    if as_json:
        typer.echo(json.dumps(round_json(result.round), indent=2))
    else:
        stdout().print(round_text(community, result.round, saved=result.saved), markup=False)
        errors = errors_not_shown(result.round)  # the others are in its "left out" table
    for error in errors:
        err.print(f"warning: {error.member}: {error.error}", markup=False)
