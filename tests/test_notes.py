"""Notes to members left out of a round: they promise only what the next round will do, speak
the member's words (never the organizer's diagnostics), are written once for what only the
member can change, and are never sent for a week already under way."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from calroulette import invites, service
from calroulette.cli import app
from calroulette.config import Community, Frequency
from calroulette.errors import UsageError
from calroulette.invites import Channel, DeliveryKey, Kind
from calroulette.invites.email import unmatched_email
from calroulette.matching import History, Reason, Round, Unmatched, pair
from calroulette.matching.plan import plan_round
from calroulette.store import open_store
from calroulette.timeutil import IsoWeek

from .support import write_demo_config
from .support.feeds import ICS, SECRET, community_of, secret_path
from .support.mail import make_community
from .support.matching import NOW, WEEK, at, community, free, member

UTC = dt.UTC
FIRST = "You come first next week"
AGAIN = re.compile(
    r"can be paired with you again (?:(next week)|from the week of Monday \d+ \w+ \((\S+)\))"
)
NOT_AGAIN = "We will not send this note again"


def tuesday_before(week: IsoWeek) -> dt.datetime:
    """Noon UTC on the Tuesday before ``week``, when the weekly job plans and sends it."""
    return dt.datetime.combine(week.monday() - dt.timedelta(days=6), dt.time(12), UTC)


def plan_and_send(c: Community, week: IsoWeek) -> Round:
    """`calroulette run --week WEEK` on the Tuesday before: plan, then send to the outbox."""
    now = tuesday_before(week)
    planned = service.match(c, week, now=now).round
    service.send(c, week, now=now)
    return planned


def notes_of(c: Community, week: IsoWeek) -> dict[str, str]:
    """The notes the outbox holds for ``week``, by recipient: the subject, then the plain text."""
    out = {}
    for path in sorted(c.delivery.outbox.rglob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        if f"no meeting for you in {week}" not in str(msg["Subject"]):
            continue
        (recipient,) = msg["To"].addresses
        out[recipient.addr_spec] = f"{msg['Subject']}\n{plain(msg)}"
    return out


def plain(msg: EmailMessage) -> str:
    part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    return " ".join(str(part.get_content()).split())  # paragraphs and line breaks as spaces


def met(round_: Round, email_: str) -> bool:
    return round_.meeting_of(email_) is not None


# --- the promise follows the rules ----------------------------------------------------------


def test_three_weeks_of_cooldown_the_notes_promise_only_what_the_next_round_does(
    tmp_path: Path,
) -> None:
    """Ada and Bob are free only on Tuesday afternoons, and only each other can meet them. They
    meet in W49; with a three-week cooldown they are left out of W50, W51 and W52 and meet again
    in W53. The note of each week is read as they receive it and held to the rounds that follow:
    "you come first next week" only when next week's round puts them first and pairs them, and
    "can be paired again from W" only when that is the first week they are."""
    calendar = tmp_path / "tuesdays.ics"
    calendar.write_bytes(ICS)
    c = community_of(tmp_path, {"ada": str(calendar), "bob": str(calendar)}, cooldown_weeks=3)
    weeks = [IsoWeek(2026, w) for w in (49, 50, 51, 52, 53)]
    rounds = {week: plan_and_send(c, week) for week in weeks}
    received = {week: notes_of(c, week) for week in weeks}

    assert [met(rounds[w], "ada@example.org") for w in weeks] == [True, False, False, False, True]
    for week in weeks[:-1]:
        following = week.shifted(1)
        with open_store(c.database) as store:
            first_there = store.rounds.history(following).left_out
        for who, note in received[week].items():
            if FIRST in note:  # the rules put them first next week, and it gets them a meeting
                assert who in first_there and met(rounds[following], who), (week, note)
            again = AGAIN.search(note)
            if again:
                when = following if again.group(1) else IsoWeek.parse(again.group(2))
                between = [w for w in weeks if week < w < when]
                assert not any(met(rounds[w], who) for w in between), (week, note)
                assert met(rounds[when], who), (week, note)

    # and the notes do say what is true, each week, to both
    for week in weeks[1:3]:
        for who in ("ada@example.org", "bob@example.org"):
            note = received[week][who]
            assert FIRST not in note, (week, note)
            assert "again from the week of Monday 28 December (2026-W53)" in note
    for who in ("ada@example.org", "bob@example.org"):
        note = received[weeks[3]][who]
        assert "again next week" in note and FIRST in note
        assert "within 3 weeks" in note  # the rule, in their words
        assert "cooldown" not in note  # not the organizer's sentence
    assert received[weeks[0]] == received[weeks[4]] == {}


def test_no_first_next_week_when_next_week_was_planned_already(tmp_path: Path) -> None:
    """W50 planned before W49: W49's left-out member is not first in it (here they also meet
    in it), so is not told so; with W50 not planned yet, the same member in the same round is."""
    calendar = tmp_path / "tuesdays.ics"
    calendar.write_bytes(ICS)
    people = {name: str(calendar) for name in ("ada", "bob", "cy")}
    ahead = community_of(tmp_path / "ahead", people, allow_triples=False)
    service.match(ahead, IsoWeek(2026, 50), now=tuesday_before(WEEK))
    in_order = community_of(tmp_path / "in_order", people, allow_triples=False)
    for c, promised in ((ahead, False), (in_order, True)):
        (left,) = plan_and_send(c, WEEK).unmatched
        assert left.reason is Reason.ALL_PAIRED
        assert (FIRST in notes_of(c, WEEK)[left.member]) is promised


def test_no_first_next_week_when_that_round_is_planned_or_they_sit_it_out() -> None:
    """c is left out for want of a partner. Not told "first next week" when next week already
    has a round (planned without c first), nor when c, fortnightly, meets in a round planned
    for the week after next (so sits next week out); told so when a later week, not next
    week, was planned."""
    people = [
        member("a@x.org"),
        member("b@x.org"),
        member("c@x.org", frequency=Frequency.BIWEEKLY),
    ]
    spans = free({m.email: [(at(1, 10), at(1, 11))] for m in people})
    c = community(people, allow_triples=False)
    first = frozenset({"a@x.org", "b@x.org"})  # so c is the one left out
    cases = [
        (History(left_out=first, next_round=WEEK.shifted(1)), False),
        (History(left_out=first, next_matched={"c@x.org": WEEK.shifted(2)}), False),
        (History(left_out=first, next_round=WEEK.shifted(2)), True),
        (History(left_out=first), True),
    ]
    for history, promised in cases:
        (left,) = plan_round(c, WEEK, spans, NOW, history).unmatched
        assert (left.member, left.reason) == ("c@x.org", Reason.ALL_PAIRED)
        assert left.first_next is promised, history


def test_a_teammate_in_the_cooldown_is_not_a_cooldown() -> None:
    """With separate_teams, a teammate can never be a partner: when only a teammate (met last
    week) shares time, the reason is the team, since the cooldown's end would change nothing."""
    people = [member("a@x.org", team="ml"), member("b@x.org", team="ml")]
    spans = free({m.email: [(at(1, 10), at(1, 11))] for m in people})
    history = History(last_met={pair("a@x.org", "b@x.org"): WEEK.shifted(-1)})
    r = plan_round(community(people, separate_teams=True), WEEK, spans, NOW, history)
    assert [u.reason for u in r.unmatched] == [Reason.ONLY_TEAMMATES] * 2


def test_the_cooldown_ends_with_the_earliest_pair_that_kept_them_out() -> None:
    """a shares time with b (met 2 weeks ago) and c (met last week), cooldown 3 weeks: b may meet
    a again in 2 weeks, so a is not told "first next week". d met a 3 weeks ago and may meet a
    again next week, but shares no time with a this week: d does not count."""
    people = [member(f"{n}@x.org") for n in "abcd"]
    spans = free(
        {
            "a@x.org": [(at(1, 10), at(1, 11))],
            "b@x.org": [(at(1, 10), at(1, 11))],
            "c@x.org": [(at(1, 10), at(1, 11))],
            "d@x.org": [(at(3, 10), at(3, 11))],
        }
    )
    history = History(
        last_met={
            pair("a@x.org", "b@x.org"): WEEK.shifted(-2),
            pair("a@x.org", "c@x.org"): WEEK.shifted(-1),
            pair("b@x.org", "c@x.org"): WEEK.shifted(-1),
            pair("a@x.org", "d@x.org"): WEEK.shifted(-3),
        }
    )
    r = plan_round(community(people, cooldown_weeks=3), WEEK, spans, NOW, history)
    a = r.unmatched_of("a@x.org")
    assert a is not None and a.reason is Reason.COOLDOWN
    assert a.cooldown_ends == WEEK.shifted(2) and not a.first_next
    soon = replace(
        history, last_met={**history.last_met, pair("a@x.org", "b@x.org"): WEEK.shifted(-3)}
    )
    a = plan_round(community(people, cooldown_weeks=3), WEEK, spans, NOW, soon).unmatched_of(
        "a@x.org"
    )
    assert a is not None and a.cooldown_ends == WEEK.shifted(1) and a.first_next


def test_a_meeting_planned_ahead_moves_the_cooldowns_end_only_when_it_reaches_back() -> None:
    """a and b met last week; cooldown 2 weeks, so they may meet again in 2 weeks, unless a
    round planned ahead pairs them again less than 3 weeks after that: its cooldown holds them
    apart until 3 weeks after it."""
    people = [member("a@x.org"), member("b@x.org")]
    spans = free({m.email: [(at(1, 10), at(1, 11))] for m in people})
    c = community(people, cooldown_weeks=2)
    ab = pair("a@x.org", "b@x.org")
    for ahead, ends in ((None, 2), (10, 2), (4, 7), (2, 5)):
        history = History(
            last_met={ab: WEEK.shifted(-1)},
            next_met={ab: WEEK.shifted(ahead)} if ahead is not None else {},
        )
        a = plan_round(c, WEEK, spans, NOW, history).unmatched_of("a@x.org")
        assert a is not None and a.reason is Reason.COOLDOWN
        assert a.cooldown_ends == WEEK.shifted(ends), ahead


# --- in the member's words --------------------------------------------------------------------


def test_an_unreadable_calendar_is_told_in_the_members_words(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """A calendar answering 404: the organizer's reason holds the status (and the address's
    host), the member's note holds neither, nor "nothing to do on your side"; it says we could
    not read the calendar, where to check it and whom to write to, and that it is sent once."""
    calendar = tmp_path / "tuesdays.ics"
    calendar.write_bytes(ICS)
    httpserver.expect_request(secret_path("cy")).respond_with_data(
        "Not Found: no calendar private-0f9e8d7c6b5a4321 (trace id 77)", status=404
    )
    gone = httpserver.url_for(secret_path("cy"))
    c = community_of(tmp_path, {"ada": str(calendar), "bob": str(calendar), "cy": gone})
    r = plan_and_send(c, WEEK)
    cy = r.unmatched_of("cy@example.org")
    assert cy is not None and cy.reason is Reason.FEED_ERROR and "404" in cy.message
    note = notes_of(c, WEEK)["cy@example.org"]
    assert "we could not read your calendar" in note  # the subject
    assert "We could not read your calendar this week" in note
    assert "“Find your calendar's secret address” in the calroulette guide for members" in note
    assert "write to coffee@example.org" in note
    assert NOT_AGAIN in note and FIRST not in note
    for leak in ("404", "HTTP", SECRET, "trace id", f"{httpserver.host}", "feed error", "Nothing"):
        assert leak not in note, leak


def test_no_free_time_says_how_to_add_it_and_that_it_is_said_once(tmp_path: Path) -> None:
    """No free event at all: being first would change nothing, so no promise; the note names
    the community's keyword and the guide's section, and says it is not sent again."""
    calendar, busy = tmp_path / "tuesdays.ics", tmp_path / "busy.ics"
    calendar.write_bytes(ICS)
    busy.write_bytes(ICS.replace(b"SUMMARY:Free for coffee", b"SUMMARY:Dentist"))
    people = {"ada": str(calendar), "bob": str(calendar), "cy": str(busy)}
    c = community_of(tmp_path, people)
    cy = plan_and_send(c, WEEK).unmatched_of("cy@example.org")
    assert cy is not None and cy.reason is Reason.NO_FREE_TIME
    note = notes_of(c, WEEK)["cy@example.org"]
    assert "no free time in your calendar" in note  # the subject
    assert "add an event titled “free”" in note and "“Mark when you are free”" in note
    assert NOT_AGAIN in note and FIRST not in note


def test_no_free_time_is_told_once_while_it_lasts_and_again_after_it_ended(
    tmp_path: Path,
) -> None:
    """Cy has no free time for three weeks: a note in the first, and one in the third saying Cy
    is paused until they add free time (none in between). Then Cy adds free time and meets Ada;
    when the free time is gone again, that is news, and Cy is told again."""
    calendar, busy = tmp_path / "tuesdays.ics", tmp_path / "busy.ics"
    calendar.write_bytes(ICS)
    busy.write_bytes(ICS.replace(b"SUMMARY:Free for coffee", b"SUMMARY:Dentist"))
    cy = tmp_path / "cy.ics"
    c = community_of(tmp_path, {"ada": str(calendar), "cy": str(cy)}, cooldown_weeks=0)
    told = []
    for week, free_now in zip(
        [IsoWeek(2026, w) for w in (49, 50, 51, 52, 53)],
        [False, False, False, True, False],
        strict=True,
    ):
        cy.write_bytes(ICS if free_now else busy.read_bytes())
        round_ = plan_and_send(c, week)
        assert met(round_, "cy@example.org") is free_now
        told.append("cy@example.org" in notes_of(c, week))
    assert told == [True, False, True, False, True]


@pytest.mark.parametrize("reason", [r for r in Reason if r.comes_first])
def test_no_note_ever_carries_the_organizers_sentence(reason: Reason, tmp_path: Path) -> None:
    """Whatever the stored sentence holds (an address, a status, a parser's words), the note is
    written from the code: the sentence is in neither the text nor the HTML part."""
    c = make_community(tmp_path)
    marker = "feed error: calendar: HTTP 404 from https://cal.example/private-SECRET (line 3)"
    left = Unmatched("zoe@example.org", reason, marker, first_next=True, cooldown_ends=WEEK)
    key = DeliveryKey(invites.unmatched_uid(WEEK), left.member, Channel.EMAIL, Kind.UNMATCHED, 0)
    raw = unmatched_email(left, c, WEEK, key=key, now=NOW).as_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            body = str(part.get_content())
            assert "private-SECRET" not in body and "404" not in body and "line 3" not in body
    assert (NOT_AGAIN in plain(msg)) is reason.tell_once
    # first_next is said, except for a reason that waits on the member (never set for one)
    assert (FIRST in plain(msg)) is not reason.tell_once


def test_only_the_reasons_that_wait_on_the_member_are_told_once() -> None:
    """The lead's sender skips a repeat of these; every other reason changes with other
    people's calendars or the history, so its note says something new each week."""
    assert {r for r in Reason if r.tell_once} == {Reason.NO_FREE_TIME, Reason.FEED_ERROR}
    assert not any(r.own_choice for r in Reason if r.tell_once)


# --- not for a week under way ---------------------------------------------------------------


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("command", [["run"], ["match"], ["match", "--rematch"]])
def test_the_week_under_way_is_not_planned_and_nobody_is_mailed(
    tmp_path: Path, now_env: str, command: list[str]
) -> None:
    """The clock says Tuesday of W48: `run --week 2026-W48` mailed every member "no meeting for
    you" for the week they were in. Now it is refused, with the way out, and nothing is made."""
    config = write_demo_config(tmp_path)
    code, out, err = _cli(*command, "--week", "2026-W48", "-c", str(config))
    assert code == 2, (out, err)
    assert err.splitlines() == [
        "error: --week: 2026-W48 is under way: members would be told of a round for a week "
        "they are already in (leave out --week to plan next week, or add --force to plan this "
        "one anyway)"
    ]
    assert not (tmp_path / "outbox").exists()
    assert not (tmp_path / "calroulette.sqlite").exists()


def test_the_week_under_way_can_still_be_explained_dry_run_or_forced(
    tmp_path: Path, now_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`why` and `match --dry-run` tell nobody anything, so they show the week under way;
    `run --force` plans and sends it; `run` alone, once next week's round is due (Tuesday 09:00
    in the community's zone), still plans next week."""
    config = write_demo_config(tmp_path)
    code, _, err = _cli("why", "ada@example.org", "--week", "2026-W48", "-c", str(config))
    assert code == 0, err
    code, _, err = _cli("match", "--dry-run", "--week", "2026-W48", "-c", str(config))
    assert code == 0, err
    assert not (tmp_path / "calroulette.sqlite").exists()
    code, _, err = _cli("run", "--week", "2026-W48", "--force", "-c", str(config))
    assert code in (0, 1), err  # 1: a demo calendar may warn
    assert any((tmp_path / "outbox").rglob("*.eml"))
    monkeypatch.setenv("CALROULETTE_NOW", "2026-11-24T14:00:00Z")  # Tuesday 09:00 New York
    code, _, err = _cli("run", "-c", str(config))
    assert code in (0, 1), err
    with open_store(tmp_path / "calroulette.sqlite") as store:
        assert store.rounds.weeks() == [IsoWeek(2026, 48), IsoWeek(2026, 49)]


def test_the_week_under_way_is_read_in_the_communitys_zone(tmp_path: Path) -> None:
    """Sunday 23:30 UTC is already Monday in Berlin: W49 is under way there, not in London."""
    sunday_night = dt.datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    london = make_community(tmp_path / "london")
    assert service.match(london, WEEK, now=sunday_night, free={}).saved
    berlin = replace(make_community(tmp_path / "berlin"), timezone=ZoneInfo("Europe/Berlin"))
    with pytest.raises(UsageError, match="2026-W49 is under way"):
        service.match(berlin, WEEK, now=sunday_night, free={})
    assert service.match(berlin, WEEK, now=sunday_night, free={}, force=True).saved
