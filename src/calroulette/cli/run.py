"""`calroulette run`: plan the week if needed, then send it; idempotent, for cron."""

from __future__ import annotations

from pathlib import Path

from .app import (
    ConfigOption,
    JsonOption,
    WeekOption,
    app,
    check_plannable,
    handle_errors,
    load,
    now,
    resolve_week,
)
from .app import stderr as stderr_console
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
    from calroulette import rounds  # deferred: see cli/__init__.py
    from calroulette.delivery.weekly import run_week

    at = now()
    community = load(config)  # the check: an invalid members.toml stops here with every problem
    target = resolve_week(week, community, at)
    if rounds.stored_round(community, target) is None:
        check_plannable(target, community, at)  # a planned round is still finished
    outcome = run_week(community, target, now=at)
    if outcome.round is not None:
        err = stderr_console()
        for error in outcome.round.errors:
            err.print(f"warning: {error.member}: {error.error}", markup=False)
    finish(community, outcome, as_json=as_json)
