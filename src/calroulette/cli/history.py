"""`calroulette history`: past rounds, who met whom and when."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .app import (
    ConfigOption,
    JsonOption,
    app,
    handle_errors,
    load,
    member_key,
    now,
    stderr,
    stdout,
)


@app.command()
@handle_errors
def history(
    member: Annotated[
        str | None,
        typer.Option("--member", "-m", help="Only this member's rounds (email or name)."),
    ] = None,
    config: ConfigOption = Path("members.toml"),
    as_json: JsonOption = False,
    ics: Annotated[
        Path | None,
        typer.Option("--ics", help="Also write every meeting as one .ics calendar to this file."),
    ] = None,
) -> None:
    """Show past rounds from the history database: who met whom, when, and who was left out.

    Each meeting shows its short id (the first 8 characters of its UID), which `calroulette
    cancel` and `calroulette reschedule` accept; --json has the whole `uid`. Cancelled and moved
    meetings are shown as such. With --ics FILE, every meeting still going ahead is also
    written as one calendar the organizer can import or subscribe to (a new file is readable
    only by you).

    Examples:

        calroulette history --member ada@example.org
        calroulette history --ics meetings.ics
    """
    from calroulette import service  # deferred: see cli/__init__.py
    from calroulette.atomicfile import write_atomically
    from calroulette.render.calendar_feed import history_ics
    from calroulette.render.json import history_json
    from calroulette.render.rounds import delivery_lines, history_table

    community = load(config, members=False)
    if member is not None:
        member = member_key(community, member)
    result = service.history(community, member)
    if ics is not None:
        text = history_ics(
            result.rounds, community=community, generated=now(), member=result.member
        )
        write_atomically(ics, text)  # 0600 when new: names and emails; a file keeps its mode
        stderr().print(f"Wrote {ics}", markup=False)
    if as_json:
        typer.echo(json.dumps(history_json(result), indent=2))
        return
    if not result.rounds:
        stdout().print("no rounds recorded yet (run `calroulette match`)", markup=False)
        return
    out = stdout()
    if not out.is_terminal:  # a file, a pipe, cron's mail: no need to squeeze into 80 columns
        out.width = max(out.width, 120)
    out.print(history_table(community, result))
    for line in delivery_lines(result):
        out.print(line)
