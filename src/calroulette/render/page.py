"""The overlap heat map as one self-contained HTML page: inline CSS, no script, no network.

The page is meant to be mailed or opened from disk on a phone: a viewport meta tag, a table that
scrolls sideways inside its box with the time column pinned, and a Content-Security-Policy that
forbids every external request (so a stray URL could not leak who is free when).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from html import escape

from calroulette.matching import Meeting
from calroulette.timeutil import format_utc

from .heatmap import Cell, HeatMap, heat_level

# A cell's tooltip names at most this many members: a large community's page stays small.
_NAMES_PER_CELL = 12

_CSS = """
:root { color-scheme: light; --ink: #1b1f23; --muted: #5b636b; --line: #e3e6e8; }
* { box-sizing: border-box; }
body { margin: 0; padding: 1rem; font: 15px/1.45 system-ui, -apple-system, "Segoe UI",
       Roboto, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 60rem; margin: 0 auto; }
h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
p { margin: .25rem 0 .75rem; color: var(--muted); }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; border: 1px solid var(--line);
          border-radius: 6px; }
table.heat { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
.heat th, .heat td { padding: .2rem .3rem; text-align: center; min-width: 2.4rem;
                     border-bottom: 1px solid #fff; border-right: 1px solid #fff; }
.heat thead th { position: sticky; top: 0; background: #f6f8f9; font-weight: 600; }
.heat thead th small { display: block; font-weight: 400; color: var(--muted); }
.heat tbody th { position: sticky; left: 0; background: #f6f8f9; font-weight: 400;
                 color: var(--muted); text-align: right; white-space: nowrap; }
.heat tbody th.hour { color: var(--ink); font-weight: 600; }
.l0 { background: #fafbfc; color: #b8bec4; }
.l1 { background: #c7e9c0; }
.l2 { background: #74c476; }
.l3 { background: #31a354; color: #fff; }
.l4 { background: #006d2c; color: #fff; font-weight: 600; }
.gap { background: repeating-linear-gradient(45deg, #eee 0 4px, #fff 4px 8px); }
td.meet { outline: 2px solid #d9480f; outline-offset: -2px; }
.legend { display: flex; flex-wrap: wrap; gap: .5rem 1rem; margin: .75rem 0; color: var(--muted);
          font-size: .9rem; }
.legend span.sw { display: inline-block; width: 1rem; height: 1rem; vertical-align: -.15rem;
                  margin-right: .3rem; border-radius: 2px; }
ol.round { padding-left: 1.2rem; }
ol.round li { margin: .3rem 0; }
ol.round time { font-weight: 600; }
footer { margin-top: 2rem; font-size: .8rem; color: var(--muted); }
@media (max-width: 30rem) {
  body { padding: .5rem; font-size: 14px; }
  .heat th, .heat td { min-width: 2rem; padding: .15rem .2rem; }
}
"""


def overlap_page(
    heat: HeatMap,
    *,
    community: str,
    names: Mapping[str, str],
    meetings: Sequence[Meeting] = (),
    notes: Sequence[str] = (),
    generated: dt.datetime | None = None,
) -> str:
    """The whole page as a string. ``names`` maps emails to display names (emails are shown
    when a name is missing); ``notes`` are one-line remarks such as feeds that failed."""
    zone = str(heat.zone)
    marks = {c: m for m in meetings if (c := heat.cell_at(m.start)) is not None}
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{escape(community)}: who is free in {heat.week}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body><main>",
        f"<h1>{escape(community)}: who is free in {heat.week}</h1>",
        f"<p>How many of the {heat.members} members are free for each whole half-hour. "
        f"Times in {escape(zone)}.</p>",
    ]
    out += _legend(heat.peak, bool(marks))
    out += _table(heat, names, marks)
    if meetings:
        count = f"{len(meetings)} meeting{'s' if len(meetings) != 1 else ''}"
        out.append(f"<h2>The round: who meets whom ({count})</h2>")
        out.append('<ol class="round">')
        for meeting in sorted(meetings, key=lambda m: (m.start, m.members)):
            start = meeting.start.astimezone(heat.zone)
            end = meeting.end.astimezone(heat.zone)
            who = " &amp; ".join(escape(names.get(e, e)) for e in meeting.members)
            out.append(
                f'<li><time datetime="{format_utc(meeting.start)}">'
                f"{start:%a %d %b %H:%M}–{end:%H:%M}</time> {who}</li>"
            )
        out.append("</ol>")
    for note in notes:
        out.append(f'<p class="note">{escape(note)}</p>')
    if generated is not None:
        out.append(f"<footer>Made by calroulette on {format_utc(generated)}.</footer>")
    out.append("</main></body>")
    out.append("</html>")
    return "\n".join(out) + "\n"


def _legend(peak: int, with_meetings: bool) -> list[str]:
    groups: dict[int, list[int]] = {}
    for count in range(1, peak + 1):
        groups.setdefault(heat_level(count, peak), []).append(count)
    items = ['<div class="legend">', '<span><span class="sw l0"></span>nobody</span>']
    for step, counts in sorted(groups.items()):
        label = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
        items.append(f'<span><span class="sw l{step}"></span>{label} free</span>')
    if with_meetings:
        items.append("<span>☕ a meeting of the round starts</span>")
    items.append("</div>")
    return items


def _table(heat: HeatMap, names: Mapping[str, str], marks: Mapping[Cell, Meeting]) -> list[str]:
    rows = heat.busy_rows()
    if not rows:
        return ["<p>Nobody is free this week.</p>"]
    per_hour = max(1, 60 // heat.step_minutes)
    first = rows.start - rows.start % per_hour
    last = (rows.stop - 1) + per_hour - (rows.stop - 1) % per_hour
    out = ['<div class="scroll"><table class="heat">', "<thead><tr><th></th>"]
    out += [f"<th>{d:%a}<small>{d:%d %b}</small></th>" for d in heat.days]
    out.append("</tr></thead><tbody>")
    for row in heat.cells[first:last]:
        wall = row[0].time_local
        hour = ' class="hour"' if wall.minute == 0 else ""
        out.append(f"<tr><th{hour}>{wall:%H:%M}</th>")
        out += [_cell(cell, heat.peak, names, marks.get(cell)) for cell in row]
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return out


def _cell(cell: Cell, peak: int, names: Mapping[str, str], meeting: Meeting | None) -> str:
    if not cell.exists:
        return '<td class="gap" title="skipped by the clock change"></td>'
    when = f"{cell.day:%a %d %b} {cell.time_local:%H:%M}"
    shown = [names.get(e, e) for e in cell.free[:_NAMES_PER_CELL]]
    more = len(cell.free) - len(shown)
    who = ", ".join(shown) + (f" and {more} more" if more > 0 else "") or "nobody"
    classes = f"l{heat_level(cell.count, peak)}" + (" meet" if meeting else "")
    title = f"{when}: {who}"
    text = str(cell.count) if cell.count else "·"
    if meeting is not None:
        title += " · meeting: " + " & ".join(names.get(e, e) for e in meeting.members)
        text += "☕"
    return f'<td class="{classes}" title="{escape(title)}">{text}</td>'
