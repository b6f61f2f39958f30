"""`calroulette check`: validate members.toml and every member's feed, one row per member."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from calroulette.errors import ConfigError
from calroulette.redact import SECRETS

from .app import (
    ConfigOption,
    JsonOption,
    WeekOption,
    app,
    feed_states_shown,
    handle_errors,
    load,
    now,
    parse_week,
)
from .app import stdout as stdout_console


@app.command()
@handle_errors
def check(
    config: ConfigOption = Path("members.toml"),
    week: WeekOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check members.toml and fetch every feed: OK, WARN or ERROR per member, with the fix.

    Exit code 0 when everything is OK, 1 when anything needs attention, 2 when members.toml is
    invalid.

    Example:

        calroulette check --config members.toml --week 2026-W49
    """
    from calroulette import service  # deferred: see cli/__init__.py
    from calroulette.render.health import health_lines
    from calroulette.render.json import health_json
    from calroulette.service.health import Level

    feed_states_shown()  # each member's row says when a stale copy is used
    at = now()
    try:
        community = load(config)
    except ConfigError as error:
        if not as_json:
            raise
        problems = [SECRETS.mask(str(p)) for p in error.problems]
        typer.echo(json.dumps({"status": "invalid-config", "problems": problems}, indent=2))
        raise typer.Exit(error.exit_code) from None
    result = service.check(community, parse_week(week), now=at)
    if as_json:
        typer.echo(json.dumps(health_json(result), indent=2))
    else:
        out = stdout_console()
        for line in health_lines(result, community.name):
            out.print(line)
    if result.level is not Level.OK:
        raise typer.Exit(1)
