"""Pictures of a week: the member's grid (slots, preview, members add), the overlap heat map in
the terminal and as an HTML page, with the stored round marked on it."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from calroulette.cli import app
from calroulette.intervals import Interval
from calroulette.matching import Meeting, Reason, Round, Unmatched
from calroulette.render.heatmap import heat_map
from calroulette.render.page import overlap_page
from calroulette.render.text import week_grid
from calroulette.store import open_store
from calroulette.timeutil import IsoWeek

from .support import ROOT
from .support.calendars import FREE_TUESDAYS, ONLY_MEETINGS

runner = CliRunner()
UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
W49 = IsoWeek(2026, 49)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def span(a: str, b: str) -> Interval:
    return Interval(utc(a), utc(b))


def grid_rows(text: str) -> dict[str, list[str]]:
    """``{"10:00": [cell of day 1, cell of day 2, …]}`` from a rendered grid."""
    rows = {}
    for line in text.splitlines():
        if re.match(r"^\d\d:\d\d  ", line):
            cells = line[7:]
            rows[line[:5]] = [cells[i : i + 5] for i in range(0, len(cells) - 2, 7)]
    return rows


# --- week_grid ------------------------------------------------------------------------------


def test_grid_marks_whole_and_partial_half_hours() -> None:
    free = (span("2026-12-01T10:15", "2026-12-01T11:00"),)  # Tuesday, in UTC
    text = week_grid(W49, ZoneInfo("UTC"), free).plain
    rows = grid_rows(text)
    assert list(rows) == ["10:00", "10:30"]
    assert rows["10:00"][1] == "▒▒▒▒▒"  # 10:15-10:30 free: part of the half-hour
    assert rows["10:30"][1] == "█████"
    assert rows["10:30"][0] == "  ·  "
    assert "Tue" in text.splitlines()[0] and "01 Dec" in text.splitlines()[1]


def test_grid_adds_a_column_when_the_members_day_starts_before_the_week() -> None:
    """Monday 00:00-01:00 in Berlin is Sunday 15:00-16:00 in Los Angeles."""
    free = (span("2026-11-29T23:00", "2026-11-30T00:00"),)
    text = week_grid(W49, ZoneInfo("America/Los_Angeles"), free).plain
    header = text.splitlines()
    assert header[0].split() == ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert header[1].split()[:2] == ["29", "Nov"]
    rows = grid_rows(text)
    assert rows["15:00"][0] == "█████"
    assert rows["15:30"][0] == "█████"


def test_grid_leaves_the_hour_skipped_by_dst_blank() -> None:
    """Berlin springs forward on Sunday 29 March 2026: 02:00-03:00 does not exist."""
    free = (span("2026-03-28T23:00", "2026-03-29T03:00"),)  # 00:00 CET to 05:00 CEST
    rows = grid_rows(week_grid(IsoWeek(2026, 13), BERLIN, free).plain)
    sunday = 6
    assert rows["01:30"][sunday] == "█████"
    assert rows["02:00"][sunday] == "     "
    assert rows["02:30"][sunday] == "     "
    assert rows["03:00"][sunday] == "█████"
    assert rows["04:30"][sunday] == "█████"


def test_grid_says_so_when_there_is_no_free_time() -> None:
    assert "(no free time this week)" in week_grid(W49, BERLIN, ()).plain


# --- heat_map -------------------------------------------------------------------------------


def test_heat_map_counts_members_free_for_the_whole_half_hour() -> None:
    free = {
        "ann@x.org": (span("2026-12-01T09:00", "2026-12-01T10:30"),),  # 10:00-11:30 Berlin
        "bob@x.org": (span("2026-12-01T09:30", "2026-12-01T11:00"),),  # 10:30-12:00 Berlin
        "cy@x.org": (span("2026-12-01T09:45", "2026-12-01T10:15"),),  # never a whole cell
    }
    heat = heat_map(free, W49, BERLIN)
    tuesday = [(c.time_local.isoformat("minutes"), c.free) for row in heat.cells for c in row[1:2]]
    counted = [(t, who) for t, who in tuesday if who]
    assert counted == [
        ("10:00", ("ann@x.org",)),
        ("10:30", ("ann@x.org", "bob@x.org")),
        ("11:00", ("ann@x.org", "bob@x.org")),
        ("11:30", ("bob@x.org",)),
    ]
    assert heat.peak == 2
    assert heat.members == 3
    assert heat.busy_rows() == range(20, 24)
    assert all(c.count == 0 for row in heat.cells for c in row if c.day != dt.date(2026, 12, 1))


def test_heat_map_cell_at_finds_a_meeting_start() -> None:
    heat = heat_map({}, W49, BERLIN)
    cell = heat.cell_at(utc("2026-12-01T10:10"))
    assert cell is not None
    assert (cell.day, cell.time_local) == (dt.date(2026, 12, 1), dt.time(11, 0))
    assert heat.cell_at(utc("2026-12-20T10:00")) is None


def test_heat_map_marks_wall_times_skipped_by_dst() -> None:
    free = {"ann@x.org": (span("2026-03-28T23:00", "2026-03-29T03:00"),)}
    heat = heat_map(free, IsoWeek(2026, 13), BERLIN)
    sunday = {c.time_local.isoformat("minutes"): c for row in heat.cells for c in row[6:]}
    assert not sunday["02:00"].exists and sunday["02:00"].count == 0
    assert not sunday["02:30"].exists
    assert sunday["01:30"].count == 1 and sunday["03:00"].count == 1


def test_heat_map_rejects_a_step_that_does_not_divide_a_day() -> None:
    with pytest.raises(ValueError, match="step_minutes"):
        heat_map({}, W49, BERLIN, step_minutes=7)


# --- the command ----------------------------------------------------------------------------

BOB_TUESDAYS = FREE_TUESDAYS.replace(b"DTSTART:20261103T090000Z", b"DTSTART:20261103T093000Z")
BOB_TUESDAYS = BOB_TUESDAYS.replace(b"DTEND:20261103T103000Z", b"DTEND:20261103T110000Z")

CLUB = """\
[community]
name = "Overlap Club"
organizer = "Club <club@example.org>"
timezone = "Europe/Berlin"
cache_dir = ".cache"

[[members]]
name = "Ann Example"
email = "ann@example.org"
calendar = "ann.ics"
timezone = "Europe/London"

[[members]]
name = "Bob Example"
email = "bob@example.org"
calendar = "bob.ics"
timezone = "America/New_York"

[[members]]
name = "Cy Example"
email = "cy@example.org"
calendar = "cy.ics"
timezone = "Europe/Berlin"

[[members]]
name = "Dee Paused"
email = "dee@example.org"
calendar = "ann.ics"
timezone = "Europe/Berlin"
paused = true
"""


@pytest.fixture
def club(tmp_path: Path, now_env: str) -> Path:
    (tmp_path / "ann.ics").write_bytes(FREE_TUESDAYS)
    (tmp_path / "bob.ics").write_bytes(BOB_TUESDAYS)
    (tmp_path / "cy.ics").write_bytes(ONLY_MEETINGS)
    config = tmp_path / "members.toml"
    config.write_text(CLUB, encoding="utf-8")
    return config


def _store_round(config: Path) -> None:
    meeting = Meeting(
        "uid-ann-bob",
        ("ann@example.org", "bob@example.org"),
        utc("2026-12-01T10:00"),  # 11:00 in Berlin
        utc("2026-12-01T10:30"),
    )
    cy = Unmatched("cy@example.org", Reason.NO_SHARED_TIME, "no shared free time with anyone")
    round_ = Round(W49, 7, (meeting,), (cy,))
    with open_store(config.parent / "calroulette.sqlite") as store, store.transaction():
        assert store.rounds.record(round_, at=utc("2026-11-24T12:00"))


def test_overlap_prints_the_heat_map_in_the_community_zone(club: Path) -> None:
    result = runner.invoke(app, ["overlap", "-c", str(club), "--week", "2026-W49"])
    assert result.exit_code == 0, result.output
    assert "3 counted, 1 paused" in result.stdout
    rows = grid_rows(result.stdout)
    assert list(rows) == ["10:00", "10:30", "11:00", "11:30"]
    assert [rows[t][1] for t in rows] == ["  1  ", "  2  ", "  2  ", "  1  "]
    assert rows["10:00"][0] == "  ·  "
    assert "(times in Europe/Berlin)" in result.stdout
    assert not (club.parent / "calroulette.sqlite").exists(), "looking creates no database"


def test_overlap_marks_and_lists_the_stored_round(club: Path) -> None:
    _store_round(club)
    result = runner.invoke(app, ["overlap", "-c", str(club), "--week", "2026-W49"])
    assert result.exit_code == 0, result.output
    rows = grid_rows(result.stdout)
    assert rows["11:00"][1] == "  2 *"
    assert "Tue 01 Dec 11:00–11:30" in result.stdout
    assert "Ann Example & Bob Example" in result.stdout


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[dict[str, str | None], str]] = []
        self.tags: list[str] = []
        self._cell: dict[str, str | None] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "td":
            self._cell, self._text = dict(attrs), ""

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells.append((self._cell, self._text))
            self._cell = None


def test_overlap_html_is_one_self_contained_page_for_phones(club: Path, tmp_path: Path) -> None:
    _store_round(club)
    page_file = tmp_path / "overlap.html"
    result = runner.invoke(
        app, ["overlap", "-c", str(club), "--week", "2026-W49", "--html", str(page_file)]
    )
    assert result.exit_code == 0, result.output
    page = page_file.read_text(encoding="utf-8")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    for external in ("src=", "href=", "url(", "@import", "<script", "<link"):
        assert external not in page
    parser = _Page()
    parser.feed(page)
    assert "table" in parser.tags
    marked = [(attrs, text) for attrs, text in parser.cells if "meet" in (attrs["class"] or "")]
    assert len(marked) == 1
    attrs, text = marked[0]
    assert text == "2☕"
    assert attrs["title"] == (
        "Tue 01 Dec 11:00: Ann Example, Bob Example · meeting: Ann Example & Bob Example"
    )
    assert "Overlap Club: who is free in 2026-W49" in page
    assert "Dee Paused" not in page


def test_overlap_reports_a_broken_calendar_and_counts_the_others(club: Path) -> None:
    (club.parent / "cy.ics").unlink()
    result = runner.invoke(app, ["overlap", "-c", str(club), "--week", "2026-W49"])
    assert result.exit_code == 1
    assert "error: cy@example.org: calendar:" in result.stderr
    assert "(2 counted, 1 paused, 1 calendar not read)" in result.stdout
    assert grid_rows(result.stdout)["10:30"][1] == "  2  "


def test_slots_shows_the_members_week_as_a_grid(now_env: str) -> None:
    """The demo's Ada is free 14:00-17:00 UTC (= London in winter) on Tuesday and Thursday."""
    result = runner.invoke(app, ["slots", "ada@example.org", "-c", str(ROOT / "members.toml")])
    assert result.exit_code == 0, result.output
    rows = grid_rows(result.stdout)
    assert list(rows) == ["14:00", "14:30", "15:00", "15:30", "16:00", "16:30"]
    assert all(cells[1] == cells[3] == "█████" for cells in rows.values())
    assert all(cells[0] == "  ·  " for cells in rows.values())


def test_html_cell_tooltips_name_at_most_twelve_members() -> None:
    free = {f"m{i:02d}@x.org": (span("2026-12-01T10:00", "2026-12-01T10:30"),) for i in range(15)}
    page = overlap_page(heat_map(free, W49, ZoneInfo("UTC")), community="Big", names={})
    assert 'title="Tue 01 Dec 10:00: m00@x.org, m01@x.org,' in page
    assert "m11@x.org and 3 more" in page
    assert "m12@x.org" not in page
