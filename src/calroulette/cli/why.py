"""`calroulette why`: one member's outcome in a week's round, and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from calroulette.errors import UsageError

from .app import ConfigOption, WeekOption, app, handle_errors, load, now, resolve_week, stdout

if TYPE_CHECKING:
    from calroulette.matching import Round


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

    Example: calroulette why ada@example.org --week 2026-W49
    """
    from calroulette import rounds  # deferred: see cli/__init__.py

    at = now()
    community = load(config, members=False)
    target = resolve_week(week, community, at)
    found = community.member(member)
    email = found.email if found else member.strip().lower()
    stored = rounds.stored_round(community, target)
    if found is None and (stored is None or not _mentions(stored, email)):
        raise UsageError(f"{member}: no such member in {config}")
    if stored is None:
        result = rounds.match_week(community, target, at, dry_run=True)
        stdout().print(rounds.explain(community, result.round, email, saved=False), markup=False)
        return
    stdout().print(rounds.explain(community, stored, email, saved=True), markup=False)


def _mentions(round_: Round, email: str) -> bool:
    return round_.meeting_of(email) is not None or round_.unmatched_reason(email) is not None
