"""`calroulette run`: plan the week if needed, then send it; idempotent, for cron."""

from __future__ import annotations

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
    stderr,
    stdout,
)
from .match import FORCE_HELP
from .send import finish


@app.command()
@handle_errors
def run(
    week: WeekOption = None,
    config: ConfigOption = Path("members.toml"),
    as_json: JsonOption = False,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
) -> None:
    """Check members.toml, plan the week's round (unless one exists) and send it.

    Safe to run as often as you like (e.g. hourly from cron): a week is planned once and every
    message is sent once; a run after a failure sends only what is still pending. The run that
    plans the round prints it (who meets whom, and who is left out and why). The week already
    under way is not planned unless --force.

    Example: calroulette run --config members.toml
    """
    from calroulette import service  # deferred: see cli/__init__.py

    at = now()
    community = load(config)  # the check: an invalid members.toml stops here with every problem
    outcome = service.run(community, parse_week(week), now=at, force=force)
    if outcome.round is not None:
        if outcome.planned and not as_json:  # the cron email says who meets whom
            from calroulette.render.rounds import round_text

            stdout().print(round_text(community, outcome.round), markup=False)
            stdout().print("", markup=False)
        err = stderr()
        for error in outcome.round.errors:
            err.print(f"warning: {error.member}: {error.error}", markup=False)
    finish(community, outcome, as_json=as_json, now=at)
