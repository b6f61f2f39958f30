"""``stats`` for people and scripts: the terminal tables, the ``--json`` shape, and the words
that define each figure (the same in the tables' notes, the HTML page and the docs).

The figures are counted by :mod:`calroulette.service.figures`; nothing is computed here but the
percentages shown. A rate with nothing to divide by is "–" (``null`` in JSON), never 0.
"""

from __future__ import annotations

import textwrap
from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from calroulette.matching import Reason
from calroulette.service.figures import Figures, Outcome, Rate, Stats
from calroulette.store import Met, PartStat
from calroulette.timeutil import format_utc

from .literal import literal

NONE = "–"  # a rate of nothing: no invitation sent, no answer yet

# (figure, what it counts): every figure of `stats`, in words. The notes under the tables, the
# HTML page's and docs/organizer.md say the same.
DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "members now",
        "from members.toml, today in the community's zone: active; paused (paused, or until a "
        "date); resting (paused until they add free time: three rounds in a row found none); "
        "left: named in the history but no longer in members.toml",
    ),
    (
        "paired",
        "members in a meeting of the week's round (a cancelled one too), each once a week",
    ),
    (
        "left out",
        "in no meeting of the round for want of a partner: every reason but their own choice "
        "(these come first the next week)",
    ),
    ("sat out", "in no meeting by their own choice: paused, or not their week (frequency)"),
    ("meetings", "every meeting of the round, a new partner's after a decline included"),
    (
        "moved",
        "moved after the invitation went out (an updated invitation, SEQUENCE above 0)",
    ),
    (
        "declined",
        "an attendee declined (from their calendar app or the “can't make it” link), or a "
        "decline cancelled the meeting",
    ),
    ("cancelled", "cancelled, after a decline or by the organizer"),
    ("held", "an attendee answered “did you meet?” with yes"),
    ("not held", "an attendee answered no, and none yes"),
    ("unanswered", "went ahead, is over, and nobody answered “did you meet?”"),
    ("upcoming", "went ahead and is not over yet"),
    (
        "outcome",
        "each meeting has one: declined or cancelled if it was cancelled (declined when a "
        "decline did it), else held, not held, upcoming or unanswered (not sent: its round "
        "never was); a week's outcomes add up to its meetings",
    ),
    (
        "reply rate",
        "invitations answered (accepted, tentative or declined) / invitations sent: one per "
        "attendee and meeting, by email or in the meeting's Discord post",
    ),
    ("attendance rate", "“did you meet?” answered yes / all its answers, one per attendee"),
    (
        "cross-zone rate",
        "meetings that went ahead whose attendees' zones were at different UTC offsets when "
        "it started / meetings that went ahead whose attendees are all still members (the "
        "zone of someone who left is unknown)",
    ),
    (
        "repeat rate",
        "meetings that went ahead in which two attendees had met in an earlier round (in a "
        "meeting that went ahead and that nobody said did not happen) / meetings that went "
        "ahead",
    ),
    (
        "left-out rate",
        "left out (for want of a partner) / taking part (paired + left out); those who sat "
        "out are not counted",
    ),
    ("released, rematched", "partners freed by a decline; of them, given a new partner"),
    (
        "all",
        f"the weeks shown added up (members once per week); its rates are of the added "
        f"counts. {NONE}: nothing to divide by",
    ),
)

# The outcomes in the order the chart stacks them and the tables show them.
OUTCOMES = (
    Outcome.HELD,
    Outcome.NOT_HELD,
    Outcome.UNANSWERED,
    Outcome.UPCOMING,
    Outcome.NOT_SENT,
    Outcome.DECLINED,
    Outcome.CANCELLED,
)


def percent(rate: Rate) -> str:
    """``50%``, or "–" when there is nothing to divide by.

    >>> percent(Rate(1, 3)), percent(Rate(0, 0))
    ('33%', '–')
    """
    value = rate.value
    return NONE if value is None else f"{value:.0%}"


def rate_text(rate: Rate) -> str:
    """``50% (2/4)``, or "–"."""
    return NONE if rate.value is None else f"{percent(rate)} ({rate.count}/{rate.of})"


def sat_out(figures: Figures) -> int:
    return sum(n for reason, n in figures.left_out.items() if not reason.comes_first)


# --- the terminal ---------------------------------------------------------------------------


def stats_text(result: Stats) -> Group:
    """The heading, the members now, two tables week by week (meetings; rates), why members
    were left out, who was left out most often, and the notes that define every figure."""
    parts: list[Any] = [literal(_heading(result)), Text(_members_line(result))]
    if result.empty:
        parts.append(Text("no rounds yet (`calroulette match` plans the first)"))
        return Group(*parts)
    parts += [_meetings_table(result), _rates_table(result)]
    reasons = _reasons_table(result.total)
    if reasons is not None:
        parts.append(reasons)
    if result.often_left_out:
        parts.append(_often_table(result))
    parts.append(Text("Notes", style="bold"))
    # wrapped here, not by the console: the same 80 columns in a terminal, a pipe or a cron mail
    parts += [
        Text(textwrap.fill(f"{term}: {words}", 78, initial_indent="  ", subsequent_indent="    "))
        for term, words in DEFINITIONS
    ]
    return Group(*parts)


def _heading(result: Stats) -> str:
    count = len(result.weeks)
    span = (
        f", {count} round{'s' if count != 1 else ''} from {result.weeks[0].week} to "
        f"{result.weeks[-1].week}"
        if result.weeks
        else ""
    )
    return f"{result.community}: stats on {format_utc(result.generated)}{span}"


def _members_line(result: Stats) -> str:
    m = result.members
    left = f"; {m.left} left" if m.left else ""
    return (
        f"Members now: {m.total} ({m.active} active, {m.paused} paused, {m.resting} resting){left}"
    )


def _table(title: str, columns: tuple[str, ...], *, left: int = 2) -> Table:
    """The first ``left`` columns (the week, the round) to the left, the figures to the right."""
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_footer=False,
        collapse_padding=True,
        pad_edge=False,
    )
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i < left else "right", no_wrap=True)
    return table


MEETING_COLUMNS = (
    "week",
    "round",
    "paired",
    "left out",
    "sat out",
    "meetings",
    "moved",
    "declined",
    "cancelled",
    "held",
    "not held",
    "unanswered",
    "upcoming",
)


def meeting_cells(f: Figures) -> list[str]:
    counts = (
        f.paired,
        f.wanting,
        sat_out(f),
        f.meetings,
        f.moved,
        f.declined,
        f.cancelled,
        f.outcome(Outcome.HELD),
        f.outcome(Outcome.NOT_HELD),
        f.outcome(Outcome.UNANSWERED),
        f.outcome(Outcome.UPCOMING),
    )
    return [str(n) for n in counts]


_SPLIT = 6  # the members' columns, then the meetings': two tables that fit 80 columns


def _meetings_table(result: Stats) -> Group:
    """ "Members and meetings per week" as two tables (the page has one): members, then what
    became of the meetings, each within an 80-column terminal."""
    members = _table("Members per week", MEETING_COLUMNS[:_SPLIT])
    meetings = _table("Meetings per week", ("week", *MEETING_COLUMNS[_SPLIT:]), left=1)
    cut = _SPLIT - 2
    for w in result.weeks:
        cells = meeting_cells(w.figures)
        members.add_row(str(w.week), w.status.value, *cells[:cut])
        meetings.add_row(str(w.week), *cells[cut:])
    total = meeting_cells(result.total)
    members.add_section()
    members.add_row("all", str(result.total.rounds), *total[:cut])
    meetings.add_section()
    meetings.add_row("all", *total[cut:])
    return Group(members, meetings)


RATE_COLUMNS = ("week", "reply", "attendance", "cross-zone", "repeat", "left out")


def rate_cells(f: Figures) -> list[str]:
    rates = (f.reply, f.attendance, f.cross_zone, f.repeat, f.left_out_rate)
    return [rate_text(r) for r in rates]


def _rates_table(result: Stats) -> Table:
    table = _table("Rates per week", RATE_COLUMNS)
    table.columns[1].justify = "right"
    for w in result.weeks:
        table.add_row(str(w.week), *rate_cells(w.figures))
    table.add_section()
    table.add_row("all", *rate_cells(result.total))
    return table


def _reasons_table(total: Figures) -> Table | None:
    shown = [(r, total.left_out[r]) for r in Reason if total.left_out.get(r)]
    if not shown:
        return None
    table = _table("Not paired, by reason (all weeks shown)", ("reason", "", "member-weeks"))
    for reason, n in shown:
        kind = "left out" if reason.comes_first else "sat out"
        table.add_row(reason.value, kind, str(n))
    return table


def _often_table(result: Stats) -> Table:
    table = _table("Left out most often (weeks shown)", ("member", "email", "weeks"))
    for one in result.often_left_out:
        name = one.name if one.name is not None else "(left)"
        table.add_row(literal(name), literal(one.email), str(one.weeks))
    return table


# --- JSON -----------------------------------------------------------------------------------


def stats_json(result: Stats) -> dict[str, Any]:
    """The documented ``stats --json`` shape: counts are numbers, each rate an object with
    its ``value`` (a fraction from 0 to 1, ``null`` when ``of`` is 0), ``count`` and ``of``."""
    m = result.members
    return {
        "community": result.community,
        "generated": format_utc(result.generated),
        "members": {
            "total": m.total,
            "active": m.active,
            "paused": m.paused,
            "resting": m.resting,
            "left": m.left,
        },
        "total": figures_json(result.total),
        "weeks": [
            {"week": str(w.week), "round": w.status.value, **figures_json(w.figures)}
            for w in result.weeks
        ],
        "often_left_out": [
            {"member": one.email, "name": one.name, "weeks": one.weeks}
            for one in result.often_left_out
        ],
    }


def figures_json(f: Figures) -> dict[str, Any]:
    return {
        "rounds": f.rounds,
        "members": {
            "paired": f.paired,
            "left_out": f.wanting,
            "sat_out": sat_out(f),
            "taking_part": f.taking_part,
            "by_reason": {r.value: f.left_out.get(r, 0) for r in Reason},
        },
        "meetings": {
            "planned": f.meetings,
            "moved": f.moved,
            "declined": f.declined,
            "cancelled": f.cancelled,
            "held": f.outcome(Outcome.HELD),
            "not_held": f.outcome(Outcome.NOT_HELD),
            "unanswered": f.outcome(Outcome.UNANSWERED),
            "upcoming": f.outcome(Outcome.UPCOMING),
            "outcomes": {o.value: f.outcome(o) for o in OUTCOMES},
        },
        "invitations": {
            "sent": f.invitations,
            "answered": f.answered,
            **{p.value.lower(): f.answers.get(p, 0) for p in PartStat},
        },
        "met": {"yes": f.met.get(Met.YES, 0), "no": f.met.get(Met.NO, 0)},
        "releases": {"released": f.released, "rematched": f.rematched},
        "rates": {
            "reply": rate_json(f.reply),
            "attendance": rate_json(f.attendance),
            "cross_zone": rate_json(f.cross_zone),
            "repeat": rate_json(f.repeat),
            "left_out": rate_json(f.left_out_rate),
        },
    }


def rate_json(rate: Rate) -> dict[str, Any]:
    return {"value": rate.value, "count": rate.count, "of": rate.of}
