"""`calroulette run`: whatever is due, and only that; idempotent, for cron every 15 minutes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .app import (
    ConfigOption,
    JsonOption,
    WeekOption,
    app,
    handle_errors,
    load,
    now,
    parse_week,
    setup_logging,
    stderr,
    stdout,
)
from .match import FORCE_HELP

QUIET_HELP = (
    "For cron: print only what this run did, one line per step (nothing when nothing was "
    "due), and problems; the log shows only errors."
)


@app.command()
@handle_errors
def run(
    ctx: typer.Context,
    week: WeekOption = None,
    config: ConfigOption = Path("members.toml"),
    as_json: JsonOption = False,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)] = False,
) -> None:
    """Do whatever is due, and only that: run it every 15 minutes from cron.

    Each run, in turn: reads the replies calendar apps sent to the organizer's mailbox (when
    members.toml names it); offers a new partner to anyone whose meeting was cancelled; on
    match_day at match_time (in the community's zone) plans next week's round and sends it,
    or later if the machine was off, but never once that week has begun; sends the reminders
    and "did you meet?" messages that are due; retries the messages that could not go out
    before. Safe to run as often as you like: a week is planned once and every message is
    sent once, and a second run at the same time waits for the first. With --week (or
    --force), plans and sends that week now, whatever the schedule; the week already under
    way only with --force.

    Exit code 0 when everything went out; 75 while messages wait to be retried; 1 when a step
    failed (the others still ran) or a message was refused for good.

    Examples:

        calroulette run -q --config members.toml
        calroulette run --week 2026-W49
    """
    from calroulette import service  # deferred: see cli/__init__.py

    parent = ctx.parent.params if ctx.parent is not None else {}
    quiet = quiet or bool(parent.get("quiet"))
    if quiet:
        setup_logging(verbose=0, quiet=True, log_file=parent.get("log_file"))
    at = now()
    community = load(config)  # the check: an invalid members.toml stops here with every problem
    result = service.run(community, parse_week(week), now=at, force=force)

    from calroulette.render.run import run_json, run_lines, run_problems

    outcome = result.round
    out, err = stdout(), stderr()
    if outcome is not None and outcome.round is not None:
        errors = outcome.round.errors
        if result.planned and not as_json and not quiet:  # cron's mail says who meets whom
            from calroulette.render.rounds import errors_not_shown, round_text

            out.print(round_text(community, outcome.round), markup=False)
            out.print("", markup=False)
            errors = errors_not_shown(outcome.round)  # the others are in its "left out" table
        if result.planned or result.explicit:
            for error in errors:
                err.print(f"warning: {error.member}: {error.error}", markup=False)
    if as_json:
        typer.echo(json.dumps(run_json(result), indent=2))
    else:
        for line in run_lines(community, result, quiet=quiet):
            out.print(line, markup=False)
    for line in run_problems(result, at, quiet=quiet):
        err.print(line, markup=False)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
