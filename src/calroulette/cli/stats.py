"""`calroulette stats`: does the community work? Members, meetings and rates, week by week."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .app import ConfigOption, JsonOption, app, handle_errors, load, now, stderr, stdout


@app.command()
@handle_errors
def stats(
    config: ConfigOption = Path("members.toml"),
    as_json: JsonOption = False,
    html_file: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="Also write the figures and a chart as one self-contained web page to this file.",
        ),
    ] = None,
    weeks: Annotated[
        int | None,
        typer.Option("--weeks", min=1, help="Only the latest N weeks that have a round."),
    ] = None,
) -> None:
    """Show whether the community works: members now, and per week (ISO weeks, oldest first)
    who was paired or left out, what became of the meetings, and five rates.

    Reads only members.toml and the history database (never a calendar); writes nothing but
    the --html file. Per week: members paired, left out (for want of a partner) and sat out
    (paused, or not their week); meetings planned, moved (after the invitation), declined,
    cancelled, held, not held ("did you meet?"), unanswered and upcoming. Rates: reply
    (invitations answered / sent), attendance ("did you meet?" yes / answers), cross-zone
    (meetings whose attendees' zones had different UTC offsets / meetings that went ahead
    with all attendees still members), repeat (meetings whose attendees had met in an earlier
    round / meetings that went ahead) and left-out (left out / paired + left out). "–" (null
    in --json): nothing to divide by. The notes under the tables define every figure.

    Example:

        calroulette stats --weeks 8 --html stats.html
    """
    from calroulette import service  # deferred: see cli/__init__.py
    from calroulette.atomicfile import write_atomically
    from calroulette.render.stats import stats_json, stats_text
    from calroulette.render.stats_page import stats_page

    community = load(config, members=False)
    result = service.stats(community, now=now(), weeks=weeks)
    if html_file is not None:
        write_atomically(html_file, stats_page(result))  # 0600 when new: names and emails
        stderr().print(f"Wrote {html_file}", markup=False)
    if as_json:
        typer.echo(json.dumps(stats_json(result), indent=2, ensure_ascii=False))
        return
    out = stdout()
    if not out.is_terminal:  # a file, a pipe, cron's mail: no need to squeeze into 80 columns
        out.width = max(out.width, 140)
    out.print(stats_text(result), soft_wrap=False)  # tables fit the terminal: headers wrap
