"""A member whose calendar shows no free time gets one note the first week, one more in the
third week in a row saying they are paused until they add free time, and nothing else while it
lasts; the first round that finds free time pairs them as usual. Nothing is stored for the
pause: it is read from the rounds (``resting_members``)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest

from calroulette import service
from calroulette.config import Community
from calroulette.invites.notes import RESTING_WEEKS
from calroulette.matching import Reason, Round
from calroulette.service.resting import resting_members
from calroulette.store import open_store
from calroulette.timeutil import IsoWeek

from .support.feeds import ICS, community_of
from .support.web import SECRET_KEY

UTC = dt.UTC
CY = "cy@example.org"
PAUSED = "paused until you add free time"
FIRST = "We will not send this note again"


def tuesday_before(week: IsoWeek) -> dt.datetime:
    """Noon UTC on the Tuesday before ``week``, when the weekly job plans and sends it."""
    return dt.datetime.combine(week.monday() - dt.timedelta(days=6), dt.time(12), UTC)


def plan_and_send(c: Community, week: IsoWeek) -> Round:
    now = tuesday_before(week)
    planned = service.match(c, week, now=now).round
    assert planned is not None
    service.send(c, week, now=now)
    return planned


def notes_to(c: Community, recipient: str, week: IsoWeek) -> list[EmailMessage]:
    """The notes the outbox holds for ``week`` addressed to ``recipient``."""
    out = []
    for path in sorted(c.delivery.outbox.rglob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        (to,) = msg["To"].addresses
        if to.addr_spec == recipient and f"no meeting for you in {week}" in str(msg["Subject"]):
            out.append(msg)
    return out


def plain(msg: EmailMessage) -> str:
    part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    assert isinstance(part, EmailMessage)
    return " ".join(str(part.get_content()).split())


@pytest.fixture
def calendars(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Ada's calendar (free on Tuesdays), an all-busy one, and Cy's (written week by week)."""
    free, busy = tmp_path / "tuesdays.ics", tmp_path / "busy.ics"
    free.write_bytes(ICS)
    busy.write_bytes(ICS.replace(b"SUMMARY:Free for coffee", b"SUMMARY:Dentist"))
    return free, busy, tmp_path / "cy.ics"


def weeks(first: int, count: int) -> list[IsoWeek]:
    return [IsoWeek(2026, 49).shifted(n) for n in range(first, first + count)]


def test_three_weeks_without_free_time_bring_one_more_note_then_quiet(
    tmp_path: Path, calendars: tuple[Path, Path, Path]
) -> None:
    """Four weeks without free time: the first week's note, the third week's "paused" note,
    nothing in the second and fourth. Then free time: Cy meets Ada, is no longer resting; and
    when the free time is gone again, that is news: the first week's note again."""
    free, busy, cy = calendars
    c = community_of(tmp_path, {"ada": str(free), "cy": str(cy)}, cooldown_weeks=0)
    plan = [False, False, False, False, True, False]
    subjects: list[list[str]] = []
    resting: list[bool] = []
    for week, free_now in zip(weeks(0, len(plan)), plan, strict=True):
        cy.write_bytes(free.read_bytes() if free_now else busy.read_bytes())
        round_ = plan_and_send(c, week)
        assert (round_.meeting_of(CY) is not None) is free_now
        if not free_now:
            left_out = round_.unmatched_of(CY)
            assert left_out is not None and left_out.reason is Reason.NO_FREE_TIME
        subjects.append([str(m["Subject"]) for m in notes_to(c, CY, week)])
        with open_store(c.database) as store:
            resting.append(CY in resting_members(store, c, week))
    told = [len(s) for s in subjects]
    assert told == [1, 0, 1, 0, 0, 1]
    assert sum(told[:4]) == 2  # four weeks without free time: two notes, not four
    assert PAUSED not in subjects[0][0] and PAUSED in subjects[2][0]
    assert PAUSED not in subjects[5][0]  # a new streak starts with the first note again
    assert resting == [False, False, True, True, False, False]
    assert RESTING_WEEKS == 3


def test_the_paused_note_says_why_how_long_and_links_to_the_members_page(
    tmp_path: Path, calendars: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The third week's note: no free time for three weeks in a row, paused until they add
    free time (the community's word for it), no more notes meanwhile, still a member; and the
    link to their page, where they can pause until a date or leave."""
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)
    free, busy, cy = calendars
    cy.write_bytes(busy.read_bytes())
    c = community_of(tmp_path, {"ada": str(free), "cy": str(cy)}, cooldown_weeks=0)
    c = replace(c, web=replace(c.web, base_url="https://coffee.example.org"))
    for week in weeks(0, 3):
        plan_and_send(c, week)
    (msg,) = notes_to(c, CY, weeks(2, 1)[0])
    assert str(msg["Subject"]).endswith(": paused until you add free time")
    text = plain(msg)
    assert "no free time for 3 weeks in a row" in text
    assert "you are paused until you add free time to your calendar" in text
    assert "no more of these notes" in text and "you stay a member" in text
    assert "add an event titled “free”" in text and "“Mark when you are free”" in text
    assert "Manage your membership, pause or leave: https://coffee.example.org/me/" in text
    assert FIRST not in text
    assert str(msg["List-Unsubscribe"]).startswith("<https://coffee.example.org/unsubscribe/")


def test_an_unreadable_calendar_is_told_once_and_never_paused(
    tmp_path: Path, calendars: tuple[Path, Path, Path]
) -> None:
    """The paused note is for a calendar without free time: a calendar that cannot be read
    for four weeks gets its one note, and nobody is counted resting."""
    free, _, _ = calendars
    missing = tmp_path / "gone.ics"
    c = community_of(tmp_path, {"ada": str(free), "cy": str(missing)}, cooldown_weeks=0)
    told = []
    for week in weeks(0, 4):
        round_ = plan_and_send(c, week)
        left_out = round_.unmatched_of(CY)
        assert left_out is not None and left_out.reason is Reason.FEED_ERROR
        told.append(len(notes_to(c, CY, week)))
        with open_store(c.database) as store:
            assert resting_members(store, c, week) == set()
    assert told == [1, 0, 0, 0]


def test_a_streak_broken_by_a_meeting_counts_again_from_one(
    tmp_path: Path, calendars: tuple[Path, Path, Path]
) -> None:
    """Two weeks without free time, a meeting, two more: no paused note (never three in a
    row), and the note of the new streak's first week."""
    free, busy, cy = calendars
    c = community_of(tmp_path, {"ada": str(free), "cy": str(cy)}, cooldown_weeks=0)
    plan = [False, False, True, False, False]
    subjects = []
    for week, free_now in zip(weeks(0, len(plan)), plan, strict=True):
        cy.write_bytes(free.read_bytes() if free_now else busy.read_bytes())
        plan_and_send(c, week)
        subjects.append([str(m["Subject"]) for m in notes_to(c, CY, week)])
    assert [len(s) for s in subjects] == [1, 0, 0, 1, 0]
    assert not any(PAUSED in s for week in subjects for s in week)


def test_members_list_and_the_members_page_show_the_pause_until_it_ends(
    tmp_path: Path, calendars: tuple[Path, Path, Path]
) -> None:
    """After three rounds without free time, `members list` and Cy's own page say "paused until
    free time"; the round that finds free time ends it, with nothing in members.toml changed."""
    from calroulette.config import MemberStatus
    from calroulette.render.json import member_json
    from calroulette.tokens import Purpose, sign

    free, busy, cy = calendars
    config = tmp_path / "members.toml"
    config.write_text(
        "[community]\n"
        'name = "Test Coffee"\norganizer = "Test Coffee <coffee@example.org>"\n'
        f'timezone = "UTC"\ncache_dir = "{tmp_path}/cache"\ncooldown_weeks = 0\n\n'
        f'[[members]]\nname = "Ada"\nemail = "ada@example.org"\ncalendar = "{free}"\n'
        'timezone = "UTC"\n\n'
        f'[[members]]\nname = "Cy"\nemail = "{CY}"\ncalendar = "{cy}"\ntimezone = "UTC"\n',
        encoding="utf-8",
    )
    before = config.read_text(encoding="utf-8")
    c = service.load(config)
    statuses = []
    for week, free_now in zip(weeks(0, 4), [False, False, False, True], strict=True):
        cy.write_bytes(free.read_bytes() if free_now else busy.read_bytes())
        plan_and_send(c, week)
        after = tuesday_before(week) + dt.timedelta(hours=1)
        roll = service.members_list(config, now=after)
        member = roll.community.member(CY)
        assert member is not None
        token = sign(SECRET_KEY, Purpose.MANAGE, CY, now=after)
        page = service.member_page(config, token, now=after, key=SECRET_KEY)
        assert page.status is roll.status(member)
        row = member_json(member, roll.today, resting=CY in roll.resting)
        statuses.append((roll.status(member), row["status"]))
    assert statuses == [
        (MemberStatus.ACTIVE, "active"),
        (MemberStatus.ACTIVE, "active"),
        (MemberStatus.PAUSED_UNTIL_FREE, "paused until free time"),
        (MemberStatus.ACTIVE, "active"),
    ]
    assert config.read_text(encoding="utf-8") == before  # derived, never written
