"""`calroulette why`: one member's outcome in a week's round, and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import (
    ConfigOption,
    WeekOption,
    app,
    handle_errors,
    load,
    member_key,
    now,
    parse_week,
    stdout,
)


@app.command()
@handle_errors
def why(
    member: Annotated[str, typer.Argument(help="The member's email or name.")],
    week: WeekOption = None,
    config: ConfigOption = Path("members.toml"),
) -> None:
    """Explain whom a member meets in a week, or why they are left out.

    Reads the recorded round; when the week has none yet, shows what `calroulette match` would
    decide now (and records nothing).

    Example:

        calroulette why ada@example.org --week 2026-W49
    """
    from calroulette import service  # deferred: see cli/__init__.py
    from calroulette.render.rounds import explain

    at = now()
    community = load(config, members=False)
    result = service.why(community, member_key(community, member), parse_week(week), now=at)
    stdout().print(explain(community, result), markup=False)
