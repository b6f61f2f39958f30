"""`calroulette send`: deliver a week's planned round (outbox, SMTP or Discord), exactly once."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from calroulette.config import Community
    from calroulette.service.sending import Outcome


@app.command()
@handle_errors
def send(
    week: WeekOption = None,
    config: ConfigOption = Path("members.toml"),
    as_json: JsonOption = False,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            help="Send again, now, every message that was refused (once each, same Message-ID).",
        ),
    ] = False,
) -> None:
    """Send the week's planned round: one invitation per member, notes to those left out.

    Each message is recorded before it is sent and marked once it is delivered, so running
    this again sends only what did not go out. A message the server refused for now is tried
    again by later runs (after 5 minutes, then longer); one it refused for good stays failed
    until --retry-failed. An email corrected in members.toml reaches the meeting's members (an
    updated invitation) before anything is sent.

    Exit code 0 when every message of the week went out; 75 while some are waiting to be
    retried (run it again later); 1 when one was refused for good (the week is partly sent) or
    sending needs you (login refused, certificate, webhook missing).

    Examples:

        calroulette send --week 2026-W49 --config members.toml
        calroulette send --retry-failed
    """
    from calroulette import service  # deferred: see cli/__init__.py

    at = now()
    community = load(config, members=False)
    outcome = service.send(community, parse_week(week), now=at, retry_failed=retry_failed)
    finish(community, outcome, as_json=as_json, now=at)


def finish(
    community: Community, outcome: Outcome, *, as_json: bool, now: dt.datetime | None = None
) -> None:
    """Print where the week stands (stdout), what failed or waits and what to do (stderr); set
    the exit code."""
    from calroulette.render import delivery
    from calroulette.render.json import report_json

    from .app import now as clock

    now = now or clock()
    err = stderr()
    if outcome.note:
        err.print(outcome.note, markup=False)
    if as_json:
        typer.echo(json.dumps(report_json(outcome), indent=2))
    else:
        stdout().print(delivery.summary(community, outcome), markup=False)
    for line in delivery.problems(outcome, now):
        err.print(line, markup=False)
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)
