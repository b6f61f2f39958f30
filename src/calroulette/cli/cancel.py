"""`calroulette cancel`: cancel one meeting for every attendee (METHOD:CANCEL)."""

from __future__ import annotations

import re
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
    member_key,
    now,
    parse_week,
    stdout,
)
from .send import finish


@app.command()
@handle_errors
def cancel(
    meeting: Annotated[
        str,
        typer.Argument(
            help="The meeting's short id (the first 8 characters of its UID, as `calroulette "
            "history` shows them), its whole UID, or a member's email or name (with --week)."
        ),
    ],
    week: WeekOption = None,
    config: ConfigOption = Path("members.toml"),
    as_json: JsonOption = False,
) -> None:
    """Cancel a meeting: every attendee gets a cancellation their calendar applies.

    A meeting of a round not sent yet is dropped from it; nobody is notified. A short id that
    starts more than one UID is refused: type more of the UID.

    Example:

        calroulette cancel ada@example.org --week 2026-W49
    """
    from calroulette import service  # deferred: see cli/__init__.py

    at = now()
    community = load(config, members=False)
    if not re.fullmatch(r"[0-9a-fA-F]{8,}", meeting.strip()):  # not a meeting's id: a member
        meeting = member_key(community, meeting)
    outcome = service.cancel(community, meeting, week=parse_week(week), now=at)
    if outcome.meeting is not None and not as_json and not outcome.note:
        stdout().print(f"cancelled {outcome.meeting.uid}", markup=False)
    finish(community, outcome, as_json=as_json, now=at)
