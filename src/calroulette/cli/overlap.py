"""`calroulette overlap`: how many members are free in each half-hour of a week, and the round."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from calroulette.errors import FeedError

from .app import (
    ConfigOption,
    WeekOption,
    app,
    handle_errors,
    load,
    now,
    resolve_week,
    stderr,
    stdout,
)

if TYPE_CHECKING:
    from calroulette.config import Community
    from calroulette.matching import Meeting
    from calroulette.timeutil import IsoWeek


@app.command()
@handle_errors
def overlap(
    week: WeekOption = None,
    html_file: Annotated[
        Path | None,
        typer.Option(
            "--html", help="Also write the heat map as one self-contained web page to this file."
        ),
    ] = None,
    config: ConfigOption = Path("members.toml"),
) -> None:
    """Heat map of how many members are free in each half-hour of a week, and the round.

    Half-hours are in the community's zone. When the history database holds a round for the
    week, the meetings are marked on the map and listed: who meets whom when.

    Members who are paused that week, and members whose calendar failed, are not counted; the
    failures are listed on stderr and make the exit code 1.

    Example: calroulette overlap --week 2026-W49 --html overlap.html
    """
    from calroulette import html, render, rounds  # deferred: see cli/__init__.py
    from calroulette.availability import FreeTime
    from calroulette.overlap import heat_map
    from calroulette.roster import write_atomically

    at = now()
    community = load(config)
    target = resolve_week(week, community, at)
    counted = [m for m in community.members if not m.is_paused(target)]
    results = rounds.community_free_time(community, target, at, counted)
    free = {m.email: r.free for m in counted if isinstance(r := results.get(m.email), FreeTime)}
    errors = [r for m in counted if isinstance(r := results.get(m.email), FeedError)]
    heat = heat_map(free, target, community.timezone, step_minutes=30)
    meetings = stored_meetings(community, target)
    names = {m.email: m.name for m in community.members}
    out = stdout()
    unread = f", {len(errors)} calendar{'s' if len(errors) != 1 else ''} not read" if errors else ""
    out.print(
        f"{community.name}: members free in {target} ({len(free)} counted, "
        f"{len(community.members) - len(counted)} paused{unread})",
        markup=False,
    )
    out.print(render.heat_grid(heat, meeting_starts=[m.start for m in meetings]))
    if meetings:
        title = f"The round for {target}: who meets whom ({community.timezone})"
        out.print(render.round_table(meetings, names, community.timezone, title))
    notes = [f"Not counted: {e.member} (calendar could not be read)" for e in errors]
    if html_file is not None:
        page = html.overlap_page(
            heat,
            community=community.name,
            names=names,
            meetings=meetings,
            notes=notes,
            generated=at,
        )
        write_atomically(html_file, page, new_mode=0o644)
        stderr().print(f"Wrote {html_file}", markup=False)
    for error in errors:
        stderr().print(f"error: {error}", markup=False)
    if errors:
        raise typer.Exit(1)


def stored_meetings(community: Community, week: IsoWeek) -> tuple[Meeting, ...]:
    """The meetings of the round stored for ``week``, if the history database has one.

    Read-only: looking never creates a database.
    """
    from calroulette.store import open_store

    if not community.database.exists():
        return ()
    with open_store(community.database, readonly=True) as store:
        found = store.load_round(week)
    return found.meetings if found is not None else ()
