"""`calroulette init`: start a community with a commented members.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import app, handle_errors, stdout


@app.command()
@handle_errors
def init(
    directory: Annotated[
        Path, typer.Argument(help="Where to write members.toml (created if missing).")
    ] = Path(),
    name: Annotated[str | None, typer.Option(help="The community's name.")] = None,
    organizer: Annotated[
        str | None,
        typer.Option(help="Who sends the invitations: `Name <address>` (a monitored address)."),
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="The community's IANA time zone, like Europe/Berlin.")
    ] = None,
) -> None:
    """Write a commented members.toml with every setting, and no members yet.

    Never overwrites an existing file. Every setting is explained in the file itself, with
    its default, and so is a member's entry (commented out: add members with `calroulette
    members add`, which reads each one's calendar first).

    Example:

        calroulette init coffee --name "Data Folk Coffee" --timezone Europe/Berlin
    """
    from calroulette import service  # deferred: see cli/__init__.py

    started = service.init(directory, name=name, organizer=organizer, timezone=timezone)
    out = stdout()
    out.print(
        f"Wrote {started.path} (readable only by you: it will hold secret calendar addresses).",
        markup=False,
    )
    out.print("Next steps:")
    for number, step in enumerate(started.steps, start=1):
        out.print(f"  {number}. {step}", markup=False)
