"""`calroulette match`: plan next week's round and record it in the history database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from calroulette.errors import UsageError

from .app import (
    ConfigOption,
    JsonOption,
    WeekOption,
    app,
    check_plannable,
    handle_errors,
    load,
    now,
    resolve_week,
    stderr,
    stdout,
)

if TYPE_CHECKING:
    from calroulette.config import Community
    from calroulette.matching import Round


@app.command()
@handle_errors
def match(
    week: WeekOption = None,
    config: ConfigOption = Path("members.toml"),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and show the round; record nothing.")
    ] = False,
    as_json: JsonOption = False,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed for breaking ties (default: from the community name and week)."),
    ] = None,
    rematch: Annotated[
        bool, typer.Option("--rematch", help="Plan again a round that has not been sent yet.")
    ] = False,
) -> None:
    """Plan a week's round: pair as many members as possible, never repeating recent pairs.

    Running it again for a week that already has a round prints that round and changes nothing.

    Example: calroulette match --week 2026-W49 --dry-run
    """
    from calroulette import rounds  # deferred: see cli/__init__.py
    from calroulette.matching import RoundStatus

    if seed is not None and not 0 <= seed < 2**63:
        raise UsageError("--seed: must be a whole number from 0 to 2**63 - 1")
    at = now()
    community = load(config)
    target = resolve_week(week, community, at)
    if rematch or rounds.stored_round(community, target) is None:
        check_plannable(target, community, at)  # a stored round is still shown, however old
    result = rounds.match_week(community, target, at, seed=seed, dry_run=dry_run, rematch=rematch)
    err = stderr()
    if not result.created:
        hint = "" if result.round.status is RoundStatus.SENT else " (--rematch plans it again)"
        err.print(
            f"{target}: a round is already {result.round.status.value}; showing it unchanged{hint}",
            markup=False,
        )
    elif not result.saved:
        err.print(f"{target}: dry run, nothing recorded", markup=False)
    if as_json:
        typer.echo(json.dumps(rounds.round_json(result.round), indent=2))
    else:
        print_round(community, result.round)
    for error in result.round.errors:
        err.print(f"warning: {error.member}: {error.error}", markup=False)


def print_round(community: Community, round_: Round) -> None:
    """Meetings with each member's local time, then who is left out and why.

    Plain aligned text rather than a rich Table: a round of 10,000 members has ~5,000 rows,
    which a Table takes seconds to lay out."""
    from calroulette.render import plain_table

    out = stdout()
    people = {m.email: m for m in community.members}
    rows = []
    for meeting in round_.meetings:
        when = meeting.start.astimezone(community.timezone)
        names, local_times = [], []
        for email in meeting.members:
            member = people.get(email)
            names.append(member.name if member else email)
            zone = member.timezone if member else community.timezone
            city = str(zone).rsplit("/", 1)[-1].replace("_", " ")
            local_times.append(f"{meeting.start.astimezone(zone):%a %H:%M} {city}")
        alternatives = ", ".join(
            f"{a.astimezone(community.timezone):%a %H:%M}" for a, _ in meeting.alternatives
        )
        rows.append(
            [
                f"{when:%a %d %b %H:%M}",
                "\n".join(names),
                "\n".join(local_times),
                alternatives or "—",
            ]
        )
    title = (
        f"{community.name}: {round_.week} ({round_.status.value}), "
        f"{len(round_.meetings)} meetings (times in {community.timezone})"
    )
    text = [title, "", plain_table(["when", "who", "local time", "alternatives"], rows)]
    if round_.unmatched:
        left = [
            [people[u.member].name if u.member in people else u.member, u.reason]
            for u in round_.unmatched
        ]
        text += ["", "left out", "", plain_table(["member", "why"], left)]
    out.print("\n".join(text), markup=False, highlight=False)
