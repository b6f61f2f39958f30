"""`calroulette stats`: every figure, counted from a history made by the real operations.

Three weeks of a small community, planned and sent through ``service.match``/``service.send``
(outbox delivery, calendars in files), changed through ``service.cancel`` and
``service.reschedule``, with answers written through ``store.attendance`` and a release (a
decline cancelled the meeting) written into the ``releases`` table. Who can meet whom is fixed
by the calendars, so every figure is known in advance:

- Ada (Europe/London) and Bob (UTC) are free on Tuesdays, Cy (UTC) and Dee (New York) on
  Wednesdays, Gus and Hal on Thursdays; Eve's calendar has no free time; Fay is paused.
  Hal leaves before 2026-W51 (Gus is then left out: nobody shares his time).
- W49: Ada and Bob met (both said yes; Ada accepted the invitation); Cy and Dee did not (Cy
  said no; Cy accepted, Dee was tentative); nobody answered for Gus and Hal.
- W50: Bob declined and the meeting was cancelled (Ada released); Cy and Dee's meeting was
  moved and nobody said whether it happened; Gus said they met, Hal that they did not.
- W51: the organizer cancelled Ada and Bob's meeting; Cy and Dee's is on Wednesday afternoon,
  after the stats are taken (Wednesday noon).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import stat
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from calroulette import service
from calroulette.cli import app
from calroulette.config import Community
from calroulette.matching import MeetingStatus, Reason, RoundStatus
from calroulette.render.stats import stats_json
from calroulette.render.stats_page import csp, stats_page
from calroulette.service.figures import (
    Figures,
    MeetingRecord,
    Outcome,
    Rate,
    Records,
    Stats,
    summarize,
)
from calroulette.store import AnswerSource, Met, PartStat, open_store
from calroulette.timeutil import IsoWeek, format_utc

from .support.feeds import ICS_LF

runner = CliRunner()
UTC = dt.UTC
W49, W50, W51 = IsoWeek(2026, 49), IsoWeek(2026, 50), IsoWeek(2026, 51)
NOW = dt.datetime(2026, 12, 16, 12, tzinfo=UTC)  # Wednesday of W51, before Cy and Dee meet
EVE_NAME = "<script>alert(1)</script> [bold]Eve"
ADA, BOB, CY, DEE, EVE, FAY, GUS, HAL = (
    f"{n}@example.org" for n in ("ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal")
)


def calendar(day: int) -> str:
    """Free 14:00–17:00 UTC every week on the weekday of 2026-11-0``day``."""
    return ICS_LF.replace("20261103T", f"2026110{day}T")


def members_toml(folder: Path, *, with_hal: bool = True) -> Path:
    files = {}
    for name, text in {
        "tuesday": calendar(3),
        "wednesday": calendar(4),
        "thursday": calendar(5),
        "busy": ICS_LF.replace("SUMMARY:Free for coffee", "SUMMARY:Dentist"),
    }.items():
        files[name] = folder / f"{name}.ics"
        files[name].write_text(text, encoding="utf-8")
    people = [
        ("Ada", ADA, "tuesday", "Europe/London", ""),
        ("Bob", BOB, "tuesday", "UTC", ""),
        ("Cy", CY, "wednesday", "UTC", ""),
        ("Dee", DEE, "wednesday", "America/New_York", ""),
        (EVE_NAME, EVE, "busy", "UTC", ""),
        ("Fay", FAY, "tuesday", "UTC", "paused = true\n"),
        ("Gus", GUS, "thursday", "UTC", ""),
        ("Hal", HAL, "thursday", "UTC", ""),
    ]
    text = (
        "[community]\n"
        'name = "Test <b>Coffee</b>"\n'
        'organizer = "Test Coffee <coffee@example.org>"\n'
        'timezone = "UTC"\n'
        f"cache_dir = {json.dumps(str(folder / 'cache'))}\n"
        'database = "history.sqlite"\n'
        "cooldown_weeks = 0\n"
    )
    for name, email, cal, zone, extra in people:
        if email == HAL and not with_hal:
            continue
        text += (
            f"\n[[members]]\nname = {json.dumps(name)}\nemail = {json.dumps(email)}\n"
            f"calendar = {json.dumps(str(files[cal]))}\ntimezone = {json.dumps(zone)}\n{extra}"
        )
    path = folder / "members.toml"
    path.write_text(text, encoding="utf-8")
    return path


def tuesday_before(week: IsoWeek) -> dt.datetime:
    return dt.datetime.combine(week.monday() - dt.timedelta(days=6), dt.time(12), UTC)


def meeting_of(c: Community, week: IsoWeek, email: str) -> Any:
    with open_store(c.database, readonly=True) as store:
        round_ = store.rounds.load(week, include_cancelled=True)
    assert round_ is not None
    found = round_.meeting_of(email)
    assert found is not None, (week, email)
    return found


def plan_and_send(c: Community, week: IsoWeek) -> None:
    now = tuesday_before(week)
    service.match(c, week, now=now)
    service.send(c, week, now=now)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """members.toml (without Hal, who left) beside the three weeks' history."""
    folder = tmp_path_factory.mktemp("stats")
    config = members_toml(folder)
    c = service.load(config)
    plan_and_send(c, W49)
    at = tuesday_before(W50)
    ab, cd = meeting_of(c, W49, ADA), meeting_of(c, W49, CY)
    with open_store(c.database) as store, store.transaction():
        answers = store.attendance
        for uid, email, said in ((ab.uid, ADA, PartStat.ACCEPTED), (cd.uid, CY, PartStat.ACCEPTED)):
            answers.answer(uid, email, said, sequence=0, source=AnswerSource.REPLY, at=at)
        answers.answer(
            cd.uid, DEE, PartStat.TENTATIVE, sequence=0, source=AnswerSource.REPLY, at=at
        )
        answers.met(ab.uid, ADA, Met.YES, at=at)
        answers.met(ab.uid, BOB, Met.YES, at=at)
        answers.met(cd.uid, CY, Met.NO, at=at)

    plan_and_send(c, W50)
    ab, cd = meeting_of(c, W50, ADA), meeting_of(c, W50, CY)
    with open_store(c.database) as store, store.transaction():
        store.attendance.answer(
            ab.uid, BOB, PartStat.DECLINED, sequence=0, source=AnswerSource.LINK, at=at
        )
    service.cancel(c, ab.uid, now=at)
    with open_store(c.database) as store, store.transaction():
        store.conn.execute(
            "INSERT INTO releases (week, email, uid, released_at, outcome) VALUES (?, ?, ?, ?, ?)",
            (str(W50), ADA, ab.uid, format_utc(at), "told"),
        )
    to = cd.start + dt.timedelta(minutes=30 if cd.start.hour < 16 else -30)
    service.reschedule(c, cd.uid, to, now=at)

    config = members_toml(folder, with_hal=False)  # Hal leaves
    c = service.load(config)
    gh = meeting_of(c, W50, GUS)
    at = tuesday_before(W51)
    with open_store(c.database) as store, store.transaction():
        store.attendance.met(gh.uid, GUS, Met.YES, at=at)
        store.attendance.met(gh.uid, HAL, Met.NO, at=at)
    plan_and_send(c, W51)
    service.cancel(c, meeting_of(c, W51, ADA).uid, now=at)
    return config


@pytest.fixture
def community(history: Path) -> Community:
    return service.load(history)


def stats_cli(config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app,
        ["stats", "--config", str(config), *args],
        env={"CALROULETTE_NOW": format_utc(NOW)},
        terminal_width=200,
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


# --- the figures ----------------------------------------------------------------------------


def test_the_history_was_made_as_the_module_says(community: Community) -> None:
    """The scenario itself: the pairs the calendars allow, and the changes made."""
    assert meeting_of(community, W49, ADA).members == (ADA, BOB)
    assert meeting_of(community, W50, CY).status is MeetingStatus.MOVED
    assert meeting_of(community, W50, ADA).status is MeetingStatus.CANCELLED
    assert meeting_of(community, W51, ADA).status is MeetingStatus.CANCELLED
    assert meeting_of(community, W51, CY).start > NOW
    assert meeting_of(community, W50, GUS).members == (GUS, HAL)


def test_members_now_are_read_from_members_toml_and_the_rounds(community: Community) -> None:
    """Fay is paused; Eve's calendar had no free time three rounds running (resting); Hal is
    in the history but no longer a member."""
    members = service.stats(community, now=NOW).members
    assert (members.total, members.active, members.paused, members.resting, members.left) == (
        7,
        5,
        1,
        1,
        1,
    )


def test_each_week_counts_members_and_what_became_of_its_meetings(
    community: Community,
) -> None:
    result = service.stats(community, now=NOW)
    assert [w.week for w in result.weeks] == [W49, W50, W51]
    assert [w.status for w in result.weeks] == [RoundStatus.SENT] * 3
    w49, w50, w51 = (w.figures for w in result.weeks)

    assert (w49.paired, w49.wanting, w49.taking_part) == (6, 1, 7)
    assert w49.left_out == {Reason.NO_FREE_TIME: 1, Reason.PAUSED: 1}
    assert (w49.meetings, w49.moved, w49.declined, w49.cancelled) == (3, 0, 0, 0)
    assert w49.outcomes == {Outcome.HELD: 1, Outcome.NOT_HELD: 1, Outcome.UNANSWERED: 1}

    assert (w50.paired, w50.wanting, w50.taking_part) == (6, 1, 7)
    assert (w50.meetings, w50.moved, w50.declined, w50.cancelled) == (3, 1, 1, 1)
    assert w50.outcomes == {Outcome.DECLINED: 1, Outcome.UNANSWERED: 1, Outcome.HELD: 1}
    assert (w50.released, w50.rematched) == (1, 0)

    assert (w51.paired, w51.wanting, w51.taking_part) == (4, 2, 6)
    assert w51.left_out == {
        Reason.NO_FREE_TIME: 1,
        Reason.PAUSED: 1,
        Reason.NO_SHARED_TIME: 1,
    }
    assert (w51.meetings, w51.moved, w51.declined, w51.cancelled) == (2, 0, 0, 1)
    assert w51.outcomes == {Outcome.CANCELLED: 1, Outcome.UPCOMING: 1}


def test_each_week_has_its_rates(community: Community) -> None:
    """Reply: answers / invitations sent (a moved meeting's second invitation is the same
    invitation). Attendance: yes / answers. Cross-zone: London and UTC share an offset in
    December, New York does not; a meeting with Hal (who left) has no known zone. Repeat: Cy
    and Dee's W49 meeting did not happen, so W50's is not a repeat, but W51's is (W50's was
    never said not to have happened); Gus and Hal met in W49 (unanswered counts as met)."""
    w49, w50, w51 = (w.figures for w in service.stats(community, now=NOW).weeks)
    assert (w49.invitations, w49.answers) == (6, {PartStat.ACCEPTED: 2, PartStat.TENTATIVE: 1})
    assert w49.reply == Rate(3, 6)
    assert w49.met == {Met.YES: 2, Met.NO: 1}
    assert w49.attendance == Rate(2, 3)
    assert w49.cross_zone == Rate(1, 2)
    assert w49.repeat == Rate(0, 3)
    assert w49.left_out_rate == Rate(1, 7)

    assert (w50.invitations, w50.answers) == (6, {PartStat.DECLINED: 1})
    assert w50.reply == Rate(1, 6)
    assert w50.attendance == Rate(1, 2)
    assert w50.cross_zone == Rate(1, 1)
    assert w50.repeat == Rate(1, 2)
    assert w50.left_out_rate == Rate(1, 7)

    assert (w51.invitations, w51.answers) == (4, {})
    assert w51.reply == Rate(0, 4)
    assert w51.attendance == Rate(0, 0) and w51.attendance.value is None
    assert w51.cross_zone == Rate(1, 1)
    assert w51.repeat == Rate(1, 1)
    assert w51.left_out_rate == Rate(2, 6)


def test_the_totals_add_up_the_weeks(community: Community) -> None:
    result = service.stats(community, now=NOW)
    total = result.total
    assert total == sum((w.figures for w in result.weeks), Figures())
    assert (total.rounds, total.paired, total.taking_part, total.meetings) == (3, 16, 20, 8)
    assert (total.moved, total.declined, total.cancelled) == (1, 1, 2)
    assert total.outcomes == {
        Outcome.HELD: 2,
        Outcome.NOT_HELD: 1,
        Outcome.UNANSWERED: 2,
        Outcome.UPCOMING: 1,
        Outcome.DECLINED: 1,
        Outcome.CANCELLED: 1,
    }
    assert sum(total.outcomes.values()) == total.meetings
    assert total.reply == Rate(4, 16)
    assert total.attendance == Rate(3, 5)
    assert total.cross_zone == Rate(3, 4)
    assert total.repeat == Rate(2, 6)
    assert total.left_out_rate == Rate(4, 20)
    assert [(o.email, o.name, o.weeks) for o in result.often_left_out] == [
        (EVE, EVE_NAME, 3),
        (GUS, "Gus", 1),
    ]


def test_weeks_keeps_the_latest_rounds_and_their_totals(community: Community) -> None:
    """``--weeks 2``: W50 and W51 only; a repeat still looks back at W49."""
    result = service.stats(community, now=NOW, weeks=2)
    assert [w.week for w in result.weeks] == [W50, W51]
    assert result.total.meetings == 5
    assert result.total.repeat == Rate(2, 3)
    assert [(o.email, o.weeks) for o in result.often_left_out] == [(EVE, 2), (GUS, 1)]


def test_a_meeting_not_over_is_upcoming_and_then_unanswered(community: Community) -> None:
    """The same history a week later: Cy and Dee's W51 meeting is over, nobody answered."""
    later = service.stats(community, now=NOW + dt.timedelta(days=7))
    assert later.weeks[-1].figures.outcomes == {Outcome.CANCELLED: 1, Outcome.UNANSWERED: 1}


def test_stats_reads_no_calendar(history: Path, tmp_path: Path) -> None:
    """The calendars gone, the figures are the same: only members.toml and the history."""
    community = service.load(history)
    before = service.stats(community, now=NOW)
    for ics in history.parent.glob("*.ics"):
        ics.rename(tmp_path / ics.name)
    try:
        assert service.stats(community, now=NOW) == before
    finally:
        for ics in tmp_path.glob("*.ics"):
            ics.rename(history.parent / ics.name)


def test_a_community_without_history_has_no_rounds_and_gets_no_database(tmp_path: Path) -> None:
    config = members_toml(tmp_path)
    community = service.load(config)
    result = service.stats(community, now=NOW)
    assert result.empty and result.total == Figures()
    assert result.members.total == 8 and result.members.left == 0
    code, out, _ = stats_cli(config)
    assert code == 0
    assert "no rounds yet" in out
    code, out, _ = stats_cli(config, "--json")
    shape = json.loads(out)
    assert code == 0 and shape["weeks"] == [] and shape["total"]["rounds"] == 0
    assert shape["total"]["rates"]["reply"] == {"value": None, "count": 0, "of": 0}
    assert not community.database.exists()
    assert list(tmp_path.glob("*.sqlite*")) == []


# --- cross-zone and Discord, from records -----------------------------------------------------


def _records(*meetings: MeetingRecord, **kw: Any) -> Records:
    weeks = {m.week: RoundStatus.SENT for m in meetings}
    return Records(rounds=weeks, meetings=meetings, unmatched=(), **kw)


def _meeting(uid: str, week: IsoWeek, start: dt.datetime, *members: str) -> MeetingRecord:
    end = start + dt.timedelta(minutes=30)
    return MeetingRecord(uid, week, members, start, end, 0, MeetingStatus.INVITED)


def test_zones_are_compared_by_their_offset_when_the_meeting_starts(
    community: Community,
) -> None:
    """London and UTC are one offset in winter and two in summer."""
    winter = _meeting("w", W49, dt.datetime(2026, 12, 1, 14, tzinfo=UTC), ADA, BOB)
    summer = _meeting("s", IsoWeek(2026, 27), dt.datetime(2026, 7, 1, 14, tzinfo=UTC), ADA, BOB)
    result = summarize(_records(summer, winter), community, now=NOW)
    assert [(w.week, w.figures.cross_zone) for w in result.weeks] == [
        (IsoWeek(2026, 27), Rate(1, 1)),
        (W49, Rate(0, 1)),
    ]


def test_a_discord_post_invites_every_attendee(community: Community) -> None:
    """A round posted in the Discord channel: one post per meeting, one invitation per
    attendee; an answer from the "can't make it" link counts as a reply."""
    meeting = _meeting("d", W49, dt.datetime(2026, 12, 1, 14, tzinfo=UTC), ADA, BOB, CY)
    records = _records(meeting, posted=frozenset({"d"}), invited=frozenset({("x", ADA)}))
    records = dataclasses.replace(
        records,
        attendance=[
            _answer("d", ADA, PartStat.ACCEPTED),
            _answer("elsewhere", BOB, PartStat.DECLINED),
        ],
    )
    (week,) = summarize(records, community, now=NOW).weeks
    assert week.figures.invitations == 3
    assert week.figures.reply == Rate(1, 3)
    assert week.figures.declined == 0


def _answer(uid: str, email: str, partstat: PartStat) -> Any:
    from calroulette.store import Attendance

    return Attendance(uid, email, partstat, 0, AnswerSource.LINK, NOW)


# --- what people and scripts read -------------------------------------------------------------


def test_json_has_stable_keys_and_numbers(history: Path) -> None:
    code, out, _ = stats_cli(history, "--json")
    assert code == 0
    shape = json.loads(out)
    assert set(shape) == {"community", "generated", "members", "total", "weeks", "often_left_out"}
    assert shape["community"] == "Test <b>Coffee</b>"
    assert shape["generated"] == "2026-12-16T12:00:00Z"
    assert shape["members"] == {"total": 7, "active": 5, "paused": 1, "resting": 1, "left": 1}
    assert [w["week"] for w in shape["weeks"]] == ["2026-W49", "2026-W50", "2026-W51"]
    w50 = shape["weeks"][1]
    assert w50["round"] == "sent" and w50["rounds"] == 1
    assert w50["members"] == {
        "paired": 6,
        "left_out": 1,
        "sat_out": 1,
        "taking_part": 7,
        "by_reason": {r.value: {"no-free-time": 1, "paused": 1}.get(r.value, 0) for r in Reason},
    }
    assert w50["meetings"] == {
        "planned": 3,
        "moved": 1,
        "declined": 1,
        "cancelled": 1,
        "held": 1,
        "not_held": 0,
        "unanswered": 1,
        "upcoming": 0,
        "outcomes": {
            "held": 1,
            "not-held": 0,
            "unanswered": 1,
            "upcoming": 0,
            "not-sent": 0,
            "declined": 1,
            "cancelled": 0,
        },
    }
    assert w50["invitations"] == {
        "sent": 6,
        "answered": 1,
        "accepted": 0,
        "declined": 1,
        "tentative": 0,
    }
    assert w50["met"] == {"yes": 1, "no": 1}
    assert w50["releases"] == {"released": 1, "rematched": 0}
    assert w50["rates"]["reply"] == {"value": 1 / 6, "count": 1, "of": 6}
    assert w50["rates"]["attendance"] == {"value": 0.5, "count": 1, "of": 2}
    w51 = shape["weeks"][2]
    assert w51["rates"]["attendance"] == {"value": None, "count": 0, "of": 0}
    assert w51["rates"]["left_out"]["value"] == pytest.approx(1 / 3)
    total = shape["total"]
    assert total["rates"]["cross_zone"] == {"value": 0.75, "count": 3, "of": 4}
    assert total["rates"]["repeat"]["value"] == pytest.approx(1 / 3)
    assert shape["often_left_out"][0] == {"member": EVE, "name": EVE_NAME, "weeks": 3}

    def numbers(value: Any) -> Iterator[Any]:
        if isinstance(value, dict):
            for v in value.values():
                yield from numbers(v)
        elif isinstance(value, list):
            for v in value:
                yield from numbers(v)
        else:
            yield value

    for figures in [total, *shape["weeks"]]:
        leaves = list(numbers({k: v for k, v in figures.items() if k not in ("week", "round")}))
        assert all(isinstance(v, int | float) or v is None for v in leaves), leaves


def test_the_terminal_shows_the_tables_names_as_written_and_the_notes(history: Path) -> None:
    code, out, _ = stats_cli(history)
    assert code == 0
    assert "Test <b>Coffee</b>: stats on 2026-12-16T12:00:00Z, 3 rounds from 2026-W49 to" in out
    assert "Members now: 7 (5 active, 1 paused, 1 resting); 1 left" in out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] == ["2026-W50"]]
    # members per week, then meetings per week: two tables that fit 80 columns
    assert rows[0] == ["2026-W50", "sent", "6", "1", "1", "3"]
    assert rows[1] == ["2026-W50", "1", "1", "1", "1", "0", "1", "0"]
    assert max(len(line) for line in out.splitlines() if "Coffee" not in line) <= 80
    rates = [line.split() for line in out.splitlines() if line.split()[:1] == ["2026-W51"]]
    assert rates[2] == [
        "2026-W51",
        "0%",
        "(0/4)",
        "–",
        "100%",
        "(1/1)",
        "100%",
        "(1/1)",
        "33%",
        "(2/6)",
    ]
    assert EVE_NAME in out  # rich markup not parsed, HTML not interpreted: printed as written
    assert "reply rate: invitations answered" in out
    assert "left-out rate: left out (for want of a partner) / taking part" in out


def test_help_defines_the_figures_and_has_an_example() -> None:
    result = runner.invoke(app, ["stats", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "Example: calroulette stats" in text
    for words in ("reply", "attendance", "cross-zone", "repeat", "left-out", "--weeks", "--html"):
        assert words in text


# --- the web page -----------------------------------------------------------------------------


class Page(HTMLParser):
    """The elements of a page, their attributes and text, and the tags left open."""

    VOID: ClassVar[set[str]] = {"meta", "link", "br", "img", "input", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.text: list[str] = []
        self.style = ""
        self.mismatched: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.mismatched.append(tag)
            return
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] == "style":
            self.style += data
        self.text.append(data)

    def all(self, tag: str, cls: str | None = None) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.elements
            if t == tag and (cls is None or cls in (a.get("class") or "").split())
        ]


def parsed(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert page.open == [] and page.mismatched == [], (page.open, page.mismatched)
    return page


def test_the_page_is_self_contained_escaped_and_has_a_group_per_week(
    history: Path, tmp_path: Path
) -> None:
    out_file = tmp_path / "stats.html"
    code, _, err = stats_cli(history, "--html", str(out_file))
    assert code == 0 and f"Wrote {out_file}" in err
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    html = out_file.read_text(encoding="utf-8")
    page = parsed(html)
    assert page.all("script") == []
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; [bold]Eve" in html
    assert "Test &lt;b&gt;Coffee&lt;/b&gt;" in html
    assert not [a for _, a in page.elements if {"src", "href", "style"} & set(a)]
    assert not re.search(r"url\(|@import", page.style)
    (policy,) = [a["content"] for a in page.all("meta") if a.get("http-equiv")]
    assert policy == csp(page.style)
    assert "default-src 'none'" in str(policy) and "unsafe-inline" not in str(policy)

    weeks = page.all("g", "week")
    assert [w["data-week"] for w in weeks] == ["2026-W49", "2026-W50", "2026-W51"]
    (svg,) = page.all("svg", "chart")
    assert svg["role"] == "img"
    text = " ".join(" ".join(page.text).split())
    for label in ("meetings", "left out (%)", "ISO week", "W49", "W50", "W51"):
        assert label in text
    for legend in ("held", "not held", "unanswered", "upcoming", "declined", "cancelled"):
        assert legend in text
    assert (
        len([r for r in page.all("rect", "bar") if "held" in str(r["class"]).split()]) == 2
    )  # W49's and W50's one held meeting each
    assert len(page.all("circle", "point")) == 3 + 1  # a point per week, and the legend's
    assert "prefers-color-scheme: dark" in page.style


def test_the_page_without_rounds_says_so() -> None:
    from calroulette.service.figures import Members

    html = stats_page(Stats("Coffee", NOW, Members(total=2, active=2), (), Figures()))
    page = parsed(html)
    assert page.all("svg") == [] and "No rounds yet" in html


def test_the_json_of_the_page_and_the_terminal_agree(community: Community) -> None:
    """One result, three renderings: the page shows the totals the JSON holds."""
    result = service.stats(community, now=NOW)
    shape = stats_json(result)
    html = stats_page(result)
    assert f"<dd>{round(shape['total']['rates']['cross_zone']['value'] * 100)}%" in html


@pytest.mark.slow
def test_the_chart_renders_in_a_browser_light_and_dark(history: Path, tmp_path: Path) -> None:
    """Headless Chromium at desktop width: no console error (a style the policy refused would
    log one), one box per week with its bars, the axis labels inside the chart, and text that
    changes colour with the reader's dark mode."""
    from .support.browser import chromium

    out_file = tmp_path / "stats.html"
    assert stats_cli(history, "--html", str(out_file))[0] == 0
    with chromium() as browser:
        browser.open(out_file.as_uri())
        assert browser.errors() == []
        driver = browser.driver
        boxes = driver.execute_script(
            "return [...document.querySelectorAll('svg.chart g.week')].map(g => {"
            "const r = g.getBoundingClientRect(); return [r.width, r.height]; })"
        )
        assert len(boxes) == 3 and all(w > 10 and h > 10 for w, h in boxes), boxes
        ink = "return getComputedStyle(document.querySelector('svg.chart text')).fill"
        held = "return getComputedStyle(document.querySelector('rect.held')).fill"
        light = driver.execute_script(ink), driver.execute_script(held)
        assert light[0] != light[1]
        shot = browser.screenshot(tmp_path / "light.png")
        assert shot.stat().st_size > 5000
        driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
        )
        dark = driver.execute_script(ink), driver.execute_script(held)
        assert dark[0] != light[0] and dark[1] != light[1]
        background = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert background != "rgb(255, 255, 255)"
        assert browser.errors() == []
        assert not browser.scrolls_sideways()
