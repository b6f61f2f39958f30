"""`calroulette check`: validate members.toml and every member's feed, one row per member."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.text import Text

from calroulette.errors import ConfigError
from calroulette.redact import SECRETS

from .app import ConfigOption, JsonOption, WeekOption, app, handle_errors, load, now, resolve_week
from .app import stdout as stdout_console

if TYPE_CHECKING:
    from calroulette.health import Health


@app.command()
@handle_errors
def check(
    config: ConfigOption = Path("members.toml"),
    week: WeekOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check members.toml and fetch every feed: OK, WARN or ERROR per member, with the fix.

    Exit code 0 when everything is OK, 1 when anything needs attention, 2 when members.toml is
    invalid. Example: calroulette check --config members.toml --week 2026-W49
    """
    from calroulette import health  # deferred: see cli/__init__.py

    at = now()
    try:
        community = load(config)
    except ConfigError as error:
        if not as_json:
            raise
        problems = [SECRETS.mask(str(p)) for p in error.problems]
        typer.echo(json.dumps({"status": "invalid-config", "problems": problems}, indent=2))
        raise typer.Exit(error.exit_code) from None
    target = resolve_week(week, community, at)
    result = health.check_community(community, target, now=at)
    if as_json:
        typer.echo(json.dumps(health.rows_json(result), indent=2))
    else:
        _render(result, community.name)
    if result.level is not health.Level.OK:
        raise typer.Exit(1)


def _render(result: Health, name: str) -> None:
    from calroulette import health

    style = {health.Level.OK: "green", health.Level.WARN: "yellow", health.Level.ERROR: "bold red"}
    out = stdout_console()
    rows = (*result.config, *result.members)
    counts = {level: sum(r.level is level for r in rows) for level in health.Level}
    out.print(
        f"{name}, {result.week}: {counts[health.Level.OK]} OK, "
        f"{counts[health.Level.WARN]} to check, {counts[health.Level.ERROR]} failing",
        markup=False,
    )
    for row in rows:
        line = Text()
        line.append(f"{row.level.upper():<5}", style=style[row.level])
        line.append(f" {row.member}: {row.message}")
        if row.fix:
            line.append(f" ({row.fix})")
        out.print(line)
