"""`calroulette history`: past rounds, who met whom and when."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from calroulette.errors import UsageError

from .app import ConfigOption, JsonOption, app, handle_errors, load, now, stderr, stdout


@app.command()
@handle_errors
def history(
    member: Annotated[
        str | None, typer.Option("--member", "-m", help="Only this member's rounds (email).")
    ] = None,
    config: ConfigOption = Path("members.toml"),
    as_json: JsonOption = False,
    ics: Annotated[
        Path | None,
        typer.Option("--ics", help="Also write every meeting as one .ics calendar to this file."),
    ] = None,
) -> None:
    """Show past rounds from the history database: who met whom, when, and who was left out.

    With --ics FILE, every scheduled meeting is also written as one calendar the organizer can
    import or subscribe to.

    Example: calroulette history --member ada@example.org
    Example: calroulette history --ics meetings.ics
    """
    from calroulette import export, rounds  # deferred: see cli/__init__.py
    from calroulette.roster import write_atomically

    community = load(config, members=False)
    email = None
    if member is not None:
        found = community.member(member)
        email = found.email if found else member.strip().lower()
        if "@" not in email:
            raise UsageError(f"{member}: no such member in {config} (give an email)")
    past = rounds.member_rounds(community, email)
    if ics is not None:
        text = export.history_ics(past, community=community, generated=now(), member=email)
        write_atomically(ics, text, new_mode=0o644)
        stderr().print(f"Wrote {ics}", markup=False)
    if as_json:
        payload: dict[str, Any] = {"rounds": [rounds.round_json(r) for r in past]}
        if email is not None:
            payload = {
                "member": email,
                "rounds": [
                    {
                        "week": str(r.week),
                        "status": r.status.value,
                        "meeting": rounds.meeting_json(m) if (m := r.meeting_of(email)) else None,
                        "reason": r.unmatched_reason(email),
                    }
                    for r in past
                ],
            }
        typer.echo(json.dumps(payload, indent=2))
        return
    out = stdout()
    if not past:
        out.print("no rounds recorded yet (run `calroulette match`)", markup=False)
        return
    people = {m.email: m for m in community.members}

    def name(address: str) -> str:
        known = people.get(address)
        return known.name if known else address

    zone = people[email].timezone if email in people else community.timezone
    table = Table(title=f"{community.name}: history ({zone})", title_justify="left")
    table.add_column("week")
    table.add_column("status")
    table.add_column("when")
    table.add_column("who")
    for r in past:
        meetings = r.meetings if email is None else [m for m in r.meetings if email in m.members]
        for m in meetings:
            table.add_row(
                str(r.week),
                r.status.value,
                f"{m.start.astimezone(zone):%a %d %b %H:%M}",
                " & ".join(name(e) for e in m.members),
            )
        for u in r.unmatched:
            if email is None or u.member == email:
                table.add_row(str(r.week), r.status.value, "—", f"{name(u.member)}: {u.reason}")
    out.print(table)
