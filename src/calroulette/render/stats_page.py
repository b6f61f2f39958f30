"""``stats --html``: the figures as one self-contained web page, with a chart drawn in SVG.

No script, no request to anywhere: the style sheet is inline and the page's
Content-Security-Policy allows that one style sheet by its hash and nothing else (no other
style, no image, no font, no script), so it can be mailed, opened from disk or served behind a
strict policy. Light or dark as the reader's system prefers. Every text from members.toml
(the community's name, members' names and emails) is escaped.

The chart has one group (``<g class="week">``) per week: its meetings stacked by outcome, and a
point for the week's left-out rate (on the right-hand axis), joined by a line.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Sequence
from html import escape

from calroulette.service.figures import Figures, Outcome, Rate, Stats, WeekStats
from calroulette.timeutil import format_utc

from .stats import (
    DEFINITIONS,
    MEETING_COLUMNS,
    OUTCOMES,
    RATE_COLUMNS,
    meeting_cells,
    percent,
    rate_cells,
    rate_text,
    sat_out,
)

LABELS = {
    Outcome.HELD: "held",
    Outcome.NOT_HELD: "not held",
    Outcome.UNANSWERED: "unanswered",
    Outcome.UPCOMING: "upcoming",
    Outcome.NOT_SENT: "not sent",
    Outcome.DECLINED: "declined",
    Outcome.CANCELLED: "cancelled",
}

_CSS = """
:root { color-scheme: light dark; --ink: #1b1f23; --muted: #5b636b; --line: #d0d7de;
  --paper: #ffffff; --panel: #f6f8fa;
  --held: #2f9e44; --not-held: #e03131; --unanswered: #adb5bd; --upcoming: #4dabf7;
  --not-sent: #e9ecef; --declined: #f08c00; --cancelled: #7048e8; --rate: #c2255c; }
@media (prefers-color-scheme: dark) {
  :root { --ink: #e6edf3; --muted: #9aa4ae; --line: #3d444d; --paper: #0d1117;
    --panel: #161b22; --held: #51cf66; --not-held: #ff6b6b; --unanswered: #868e96;
    --upcoming: #74c0fc; --not-sent: #495057; --declined: #ffa94d; --cancelled: #b197fc;
    --rate: #f783ac; }
}
* { box-sizing: border-box; }
body { margin: 0; padding: 1rem; font: 15px/1.45 system-ui, -apple-system, "Segoe UI",
  Roboto, sans-serif; color: var(--ink); background: var(--paper); }
main { max-width: 72rem; margin: 0 auto; }
h1 { font-size: 1.35rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 1.75rem 0 .5rem; }
p { margin: .25rem 0 .75rem; color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: .75rem; margin: 1rem 0; padding: 0; }
.cards div { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: .5rem .75rem; min-width: 9rem; }
.cards dt { color: var(--muted); font-size: .85rem; }
.cards dd { margin: 0; font-size: 1.3rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.cards dd small { font-size: .8rem; font-weight: 400; color: var(--muted); }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
figure { margin: 0; }
figcaption { color: var(--muted); font-size: .9rem; margin-top: .25rem; }
svg.chart { display: block; font: 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
svg.chart text { fill: var(--ink); }
svg.chart .muted { fill: var(--muted); }
svg.chart .axis { stroke: var(--muted); stroke-width: 1; }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart .line { fill: none; stroke: var(--rate); stroke-width: 2; }
svg.chart .point { fill: var(--rate); stroke: var(--paper); stroke-width: 1.5; }
.held { fill: var(--held); } .not-held { fill: var(--not-held); }
.unanswered { fill: var(--unanswered); } .upcoming { fill: var(--upcoming); }
.not-sent { fill: var(--not-sent); stroke: var(--muted); stroke-width: .5; }
.declined { fill: var(--declined); } .cancelled { fill: var(--cancelled); }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid var(--line); text-align: left;
  white-space: nowrap; }
th.n, td.n { text-align: right; }
thead th { background: var(--panel); font-weight: 600; }
tfoot td { font-weight: 600; }
dl.notes dt { font-weight: 600; margin-top: .5rem; }
dl.notes dd { margin: 0 0 0 1rem; color: var(--muted); }
footer { margin-top: 2rem; font-size: .8rem; color: var(--muted); }
@media (max-width: 30rem) { body { padding: .5rem; font-size: 14px; } }
"""


def csp(css: str = _CSS) -> str:
    """The page's Content-Security-Policy: nothing but its own style sheet, by hash."""
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"


def stats_page(result: Stats) -> str:
    """The whole page as a string."""
    community = escape(result.community)
    m = result.members
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(csp())}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{community}: stats</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body><main>",
        f"<h1>{community}: stats</h1>",
        f"<p>Members now: {m.total} ({m.active} active, {m.paused} paused, {m.resting} "
        f"resting){f'; {m.left} left' if m.left else ''}.</p>",
    ]
    if result.empty:
        out.append("<p>No rounds yet (<code>calroulette match</code> plans the first).</p>")
    else:
        first, last = result.weeks[0].week, result.weeks[-1].week
        out.append(f"<p>{len(result.weeks)} rounds, {first} to {last}.</p>")
        out += _cards(result.total)
        out += ["<h2>Meetings per week</h2>", '<figure class="scroll">', chart(result.weeks)]
        out.append(
            "<figcaption>Each week's meetings by outcome (left axis), and the share of "
            "members taking part who were left out (right axis).</figcaption></figure>"
        )
        out += _tables(result)
    out += _notes()
    out.append(f"<footer>Made by calroulette on {format_utc(result.generated)}.</footer>")
    out += ["</main></body>", "</html>"]
    return "\n".join(out) + "\n"


def _cards(total: Figures) -> list[str]:
    cards = [
        ("meetings", str(total.meetings), ""),
        ("held", str(total.outcome(Outcome.HELD)), ""),
        ("reply rate", percent(total.reply), _of(total.reply)),
        ("attendance rate", percent(total.attendance), _of(total.attendance)),
        ("cross-zone rate", percent(total.cross_zone), _of(total.cross_zone)),
        ("repeat rate", percent(total.repeat), _of(total.repeat)),
        ("left-out rate", percent(total.left_out_rate), _of(total.left_out_rate)),
    ]
    out = ['<dl class="cards">']
    for term, value, small in cards:
        out.append(f"<div><dt>{term}</dt><dd>{value}{small}</dd></div>")
    out.append("</dl>")
    return out


def _of(rate: Rate) -> str:
    return f" <small>{rate.count}/{rate.of}</small>" if rate.of else ""


# --- the chart ------------------------------------------------------------------------------

_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 64, 64, 52
_HEIGHT = 260  # the plot's
_ITEM = 112  # a legend item's width


def chart(weeks: Sequence[WeekStats]) -> str:
    """An SVG chart of ``weeks``: stacked bars of meetings by outcome (left axis: meetings),
    the left-out rate as points joined by a line (right axis: percent), axis titles and a
    legend; one ``<g class="week">`` per week."""
    n = len(weeks)
    width = max(640, 28 * n)
    slot = width / n
    bar = min(slot * 0.62, 44)
    total_w, total_h = _LEFT + width + _RIGHT, _TOP + _HEIGHT + _BOTTOM
    peak = max((w.figures.meetings for w in weeks), default=0)
    step = _step(peak)
    top = max(step, step * math.ceil(peak / step))

    def y(count: float) -> float:
        return _TOP + _HEIGHT - _HEIGHT * count / top

    def y_rate(value: float) -> float:
        return _TOP + _HEIGHT - _HEIGHT * value

    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{total_w}" '
        f'height="{total_h}" viewBox="0 0 {total_w} {total_h}" role="img" '
        'aria-labelledby="chart-title chart-desc">',
        '<title id="chart-title">Meetings per week by outcome, and the left-out rate</title>',
        '<desc id="chart-desc">Stacked bars: each week\'s meetings by outcome, counted on the '
        "left axis. Points joined by a line: the share of members taking part who were left "
        "out, on the right axis.</desc>",
    ]
    out += _legend(total_w)
    bottom, right = _TOP + _HEIGHT, _LEFT + width
    for tick in range(0, top + 1, step):
        ty = _num(y(tick))
        out.append(f'<line class="grid" x1="{_LEFT}" y1="{ty}" x2="{right}" y2="{ty}"/>')
        out.append(f'<text x="{_LEFT - 8}" y="{ty}" text-anchor="end" dy="0.32em">{tick}</text>')
    for tick in (0, 25, 50, 75, 100):
        ty = _num(y_rate(tick / 100))
        out.append(f'<text class="muted" x="{right + 8}" y="{ty}" dy="0.32em">{tick}%</text>')
    out += [
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{bottom}"/>',
        f'<line class="axis" x1="{right}" y1="{_TOP}" x2="{right}" y2="{bottom}"/>',
        f'<line class="axis" x1="{_LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/>',
        f'<text x="16" y="{_num(_TOP + _HEIGHT / 2)}" text-anchor="middle" '
        f'transform="rotate(-90 16 {_num(_TOP + _HEIGHT / 2)})">meetings</text>',
        f'<text x="{total_w - 12}" y="{_num(_TOP + _HEIGHT / 2)}" text-anchor="middle" '
        f'transform="rotate(90 {total_w - 12} {_num(_TOP + _HEIGHT / 2)})">left out (%)</text>',
        f'<text x="{_num(_LEFT + width / 2)}" y="{total_h - 8}" text-anchor="middle">'
        "ISO week</text>",
    ]
    points: list[tuple[float, float] | None] = []
    for i, week in enumerate(weeks):
        f = week.figures
        middle = _LEFT + slot * (i + 0.5)
        out.append(f'<g class="week" data-week="{week.week}">')
        out.append(f"<title>{escape(_describe(week))}</title>")
        stacked = 0
        for outcome in OUTCOMES:
            count = f.outcome(outcome)
            if not count:
                continue
            top_y, base_y = y(stacked + count), y(stacked)
            out.append(
                f'<rect class="bar {outcome.value}" x="{_num(middle - bar / 2)}" '
                f'y="{_num(top_y)}" width="{_num(bar)}" height="{_num(base_y - top_y)}">'
                f"<title>{week.week}: {count} {LABELS[outcome]}</title></rect>"
            )
            stacked += count
        label = f"W{week.week.week:02d}"
        year = (
            f'<tspan x="{_num(middle)}" dy="1.2em" class="muted">{week.week.year}</tspan>'
            if i == 0 or weeks[i - 1].week.year != week.week.year
            else ""
        )
        out.append(
            f'<text x="{_num(middle)}" y="{bottom + 16}" text-anchor="middle">{label}{year}</text>'
        )
        value = f.left_out_rate.value
        if value is None:
            points.append(None)
        else:
            points.append((middle, y_rate(value)))
            out.append(
                f'<circle class="point" cx="{_num(middle)}" cy="{_num(y_rate(value))}" r="3.5">'
                f"<title>{week.week}: left out {rate_text(f.left_out_rate)}</title></circle>"
            )
        out.append("</g>")
    out += _lines(points)
    out.append("</svg>")
    return "\n".join(out)


def _legend(total_w: int) -> list[str]:
    items = [
        (LABELS[o], f'<rect class="{o.value}" width="12" height="12" y="-10"/>') for o in OUTCOMES
    ]
    items.append(
        (
            "left-out rate",
            '<line class="line" x1="0" y1="-4" x2="14" y2="-4"/>'
            '<circle class="point" cx="7" cy="-4" r="3.5"/>',
        )
    )
    per_row = max(1, (total_w - _LEFT) // _ITEM)
    out = ['<g class="legend">']
    for i, (label, swatch) in enumerate(items):
        x = _LEFT + _ITEM * (i % per_row)
        y_ = 20 + 20 * (i // per_row)
        out.append(
            f'<g transform="translate({x} {y_})">{swatch}<text x="18" y="0">{label}</text></g>'
        )
    out.append("</g>")
    return out


def _lines(points: Sequence[tuple[float, float] | None]) -> list[str]:
    """The left-out rate's line, broken where a week has no rate."""
    out, run = [], []
    for point in [*points, None]:
        if point is not None:
            run.append(point)
            continue
        if len(run) > 1:
            coords = " ".join(f"{_num(x)},{_num(y)}" for x, y in run)
            out.append(f'<polyline class="line" points="{coords}"/>')
        run = []
    return out


def _describe(week: WeekStats) -> str:
    f = week.figures
    parts = [f"{f.outcome(o)} {LABELS[o]}" for o in OUTCOMES if f.outcome(o)]
    said = ", ".join(parts) if parts else "none"
    return f"{week.week}: {f.meetings} meetings ({said}); left out {rate_text(f.left_out_rate)}"


def _step(peak: int) -> int:
    """A tick step giving at most about six ticks: 1, 2, 5, 10, 20, 50, …"""
    step = 1
    while peak / step > 6:
        for factor in (2, 5, 10):
            if peak / (step * factor) <= 6 or factor == 10:
                step *= factor
                break
    return step


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


# --- tables and notes -----------------------------------------------------------------------


def _tables(result: Stats) -> list[str]:
    out = ["<h2>Members and meetings per week</h2>"]
    rows = [[str(w.week), w.status.value, *meeting_cells(w.figures)] for w in result.weeks]
    out += _table(
        MEETING_COLUMNS, rows, ["all", str(result.total.rounds), *meeting_cells(result.total)]
    )
    out.append("<h2>Rates per week</h2>")
    rows = [[str(w.week), *rate_cells(w.figures)] for w in result.weeks]
    out += _table(RATE_COLUMNS, rows, ["all", *rate_cells(result.total)], words=1)
    total = result.total
    reasons = [(r, n) for r, n in sorted(total.left_out.items()) if n]
    if reasons:
        out.append("<h2>Not paired, by reason</h2>")
        rows = [[r.value, "left out" if r.comes_first else "sat out", str(n)] for r, n in reasons]
        foot = ["all", "", str(total.wanting + sat_out(total))]
        out += _table(("reason", "", "member-weeks"), rows, foot)
    if result.often_left_out:
        out.append("<h2>Left out most often</h2>")
        rows = [
            [one.name if one.name is not None else "(left)", one.email, str(one.weeks)]
            for one in result.often_left_out
        ]
        out += _table(("member", "email", "weeks"), rows, None)
    return out


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    foot: Sequence[str] | None,
    *,
    words: int = 2,
) -> list[str]:
    """A table whose first ``words`` columns are text (left) and the others figures (right)."""

    def cells(tag: str, values: Sequence[str]) -> str:
        number = ' class="n"'
        return "".join(
            f"<{tag}{'' if i < words else number}>{escape(v)}</{tag}>" for i, v in enumerate(values)
        )

    out = ['<div class="scroll"><table>', f"<thead><tr>{cells('th', header)}</tr></thead>"]
    out.append("<tbody>")
    out += [f"<tr>{cells('td', row)}</tr>" for row in rows]
    out.append("</tbody>")
    if foot is not None:
        out.append(f"<tfoot><tr>{cells('td', foot)}</tr></tfoot>")
    out.append("</table></div>")
    return out


def _notes() -> list[str]:
    out = ["<h2>What the figures count</h2>", '<dl class="notes">']
    for term, words in DEFINITIONS:
        out.append(f"<dt>{escape(term)}</dt><dd>{escape(words)}</dd>")
    out.append("</dl>")
    return out
