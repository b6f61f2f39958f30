"""`calroulette cancel`: cancel one meeting for every attendee (METHOD:CANCEL)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from calroulette.errors import UsageError
from calroulette.timeutil import IsoWeek

from .app import ConfigOption, JsonOption, WeekOption, app, handle_errors, load, now, stdout
from .send import finish


@app.command()
@handle_errors
def cancel(
    meeting: Annotated[
        str, typer.Argument(help="The meeting's UID, or a member's email (with --week).")
    ],
    week: WeekOption = None,
    config: ConfigOption = Path("members.toml"),
    as_json: JsonOption = False,
) -> None:
    """Cancel a meeting: every attendee gets a cancellation their calendar applies.

    Example: calroulette cancel ada@example.org --week 2026-W49
    """
    from calroulette.delivery.weekly import cancel_meeting  # deferred: see cli/__init__.py

    at = now()
    community = load(config, members=False)
    target = None
    if week is not None:
        try:
            target = IsoWeek.parse(week)
        except ValueError as exc:
            raise UsageError(f"--week: {exc}") from None
    outcome = cancel_meeting(community, meeting, week=target, now=at)
    if outcome.meeting is not None and not as_json and not outcome.note:
        stdout().print(f"cancelled {outcome.meeting.uid}", markup=False)
    finish(community, outcome, as_json=as_json)
