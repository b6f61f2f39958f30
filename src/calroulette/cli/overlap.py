"""`calroulette overlap`: how many members are free in each half-hour of a week, and the round."""

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
    now,
    parse_week,
    stderr,
    stdout,
)


@app.command()
@handle_errors
def overlap(
    week: WeekOption = None,
    html_file: Annotated[
        Path | None,
        typer.Option(
            "--html", help="Write the heat map as one self-contained web page to this file instead."
        ),
    ] = None,
    config: ConfigOption = Path("members.toml"),
) -> None:
    """Heat map of how many members are free in each half-hour of a week, and the round.

    Half-hours are in the community's zone. When the history database holds a round for the
    week, the meetings are marked on the map and listed: who meets whom when.

    Members who are paused that week, and members whose calendar failed, are not counted; the
    failures are listed on stderr and make the exit code 1. With --html FILE, the map is
    written to FILE only, and one line says so.

    Example:

        calroulette overlap --week 2026-W49 --html overlap.html
    """
    from calroulette import service  # deferred: see cli/__init__.py
    from calroulette.atomicfile import write_atomically
    from calroulette.render.heatmap import heat_map
    from calroulette.render.literal import literal
    from calroulette.render.page import overlap_page
    from calroulette.render.text import heat_grid, round_table

    at = now()
    community = load(config)
    result = service.overlap(community, parse_week(week), now=at)
    heat = heat_map(result.free, result.week, community.timezone, step_minutes=30)
    names = {m.email: m.name for m in community.members}
    errors = result.errors
    out = stdout()
    unread = f", {len(errors)} calendar{'s' if len(errors) != 1 else ''} not read" if errors else ""
    counted = f"{len(result.free)} counted, {result.paused} paused{unread}"
    if html_file is not None:
        page = overlap_page(
            heat,
            community=community.name,
            names=names,
            meetings=result.meetings,
            notes=[f"Not counted: {e.member} (calendar could not be read)" for e in errors],
            generated=at,
        )
        write_atomically(html_file, page)  # 0600 when new: who is free when; a file keeps its mode
        out.print(literal(f"Wrote {html_file}: members free in {result.week} ({counted})"))
    else:
        out.print(literal(f"{community.name}: members free in {result.week} ({counted})"))
        out.print(heat_grid(heat, meeting_starts=[m.start for m in result.meetings]))
        if result.meetings:
            title = f"The round for {result.week}: who meets whom ({community.timezone})"
            out.print(round_table(result.meetings, names, community.timezone, title))
    for error in errors:
        stderr().print(literal(f"error: {error}"))
    if errors:
        raise typer.Exit(1)
