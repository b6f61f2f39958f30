"""`calroulette reschedule`: move one meeting to a time that keeps the community's rules and
when every member is free."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from calroulette.errors import UsageError
from calroulette.timeutil import parse_utc

from .app import ConfigOption, JsonOption, app, handle_errors, load, now, stdout
from .send import finish


@app.command()
@handle_errors
def reschedule(
    meeting: Annotated[
        str,
        typer.Argument(
            help="The meeting's short id (the first 8 characters of its UID, as `calroulette "
            "history` shows them) or its whole UID."
        ),
    ],
    to: Annotated[
        str, typer.Option("--to", help="The new start, with Z or an offset: 2026-12-02T15:00Z.")
    ],
    config: ConfigOption = Path("members.toml"),
    as_json: JsonOption = False,
) -> None:
    """Move a meeting: checks the new time against the rules and every calendar, then sends the
    updated invitation.

    The new start must be inside the meeting's week (in the community's zone), at least
    min_notice_hours ahead, on the slot grid (every slot_minutes from the top of the UTC hour),
    clear of both members' other meetings, and free in every member's calendar; a refusal
    names the rule and the member. A short id that starts more than one UID is refused: type
    more of the UID.

    Example:

        calroulette reschedule 3f2a1b4c --to 2026-12-02T15:00Z
    """
    from calroulette import service  # deferred: see cli/__init__.py

    at = now()
    community = load(config, members=False)
    try:
        start = parse_utc(to)
    except ValueError as exc:
        raise UsageError(f"--to: {exc}") from None
    outcome = service.reschedule(community, meeting, start, now=at)
    if outcome.meeting is not None and not as_json and not outcome.note:
        local = outcome.meeting.start.astimezone(community.timezone)
        stdout().print(
            f"moved {outcome.meeting.uid} to {local:%a %d %b %H:%M} ({community.timezone.key})",
            markup=False,
        )
    finish(community, outcome, as_json=as_json, now=at)
