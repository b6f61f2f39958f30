"""`calroulette run`: plan the week if needed, then send it; idempotent, for cron."""

from __future__ import annotations

from pathlib import Path

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
)
from .send import finish


@app.command()
@handle_errors
def run(
    week: WeekOption = None,
    config: ConfigOption = Path("members.toml"),
    as_json: JsonOption = False,
) -> None:
    """Check members.toml, plan the week's round (unless one exists) and send it.

    Safe to run as often as you like (e.g. hourly from cron): a week is planned once and every
    message is sent once; a run after a failure sends only what is still pending.

    Example: calroulette run --config members.toml
    """
    from calroulette import service  # deferred: see cli/__init__.py

    at = now()
    community = load(config)  # the check: an invalid members.toml stops here with every problem
    outcome = service.run(community, parse_week(week), now=at)
    if outcome.round is not None:
        err = stderr()
        for error in outcome.round.errors:
            err.print(f"warning: {error.member}: {error.error}", markup=False)
    finish(community, outcome, as_json=as_json)
