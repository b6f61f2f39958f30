"""`calroulette send`: deliver a week's planned round (outbox, SMTP or Discord), exactly once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

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
) -> None:
    """Send the week's planned round: one invitation per member, notes to those left out.

    Each message is recorded before it is sent and marked once it is delivered, so running
    this again sends only what did not go out. Exit code 75 while anything is still pending
    (run it again later); 1 when a recipient was rejected or sending needs you (login refused,
    certificate, webhook missing: those messages stay pending until the next run).

    Example: calroulette send --week 2026-W49 --config members.toml
    """
    from calroulette import service  # deferred: see cli/__init__.py

    at = now()
    community = load(config, members=False)
    finish(community, service.send(community, parse_week(week), now=at), as_json=as_json)


def finish(community: Community, outcome: Outcome, *, as_json: bool) -> None:
    """Print what was delivered (stdout), what is pending or failed (stderr); set the exit code."""
    from calroulette.render import delivery
    from calroulette.render.json import report_json

    err = stderr()
    if outcome.note:
        err.print(outcome.note, markup=False)
    if as_json:
        typer.echo(json.dumps(report_json(outcome.week, outcome.report), indent=2))
    else:
        stdout().print(delivery.summary(community, outcome.week, outcome.report), markup=False)
    for line in delivery.problems(outcome.report):
        err.print(line, markup=False)
    if outcome.report.exit_code:
        raise typer.Exit(outcome.report.exit_code)
