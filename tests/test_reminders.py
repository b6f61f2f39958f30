"""Reminders before each meeting: due from ``reminder_minutes`` before the start until the start,
recorded once in the ledger and delivered (the outbox read back as a mail client would; Discord
through a webhook stand-in); none for a cancelled meeting, a moved one at its new time, none
after the start (said once), and a reminder that could not be delivered in time is withdrawn.

The meeting: Ada (London, no Discord id) and Grace (New York, Discord id 2222…) on Tuesday 1
December 2026 at 14:00Z (09:00 in New York), 30 minutes; reminders 10 minutes before.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from calroulette.delivery import Sending, deliver_pending
from calroulette.invites import Kind
from calroulette.matching import MeetingStatus, Round
from calroulette.service.reminders import Skip, send_due
from calroulette.store import AnswerSource, DeliveryStatus, PartStat, open_store

from .support.mail import text_of
from .support.remind import (
    ADA,
    ALAN,
    GRACE,
    START,
    WEBHOOK_ENV,
    WEBHOOK_PATH,
    WEEK,
    ZOE,
    cancelled,
    change,
    make,
    meeting,
    outbox_messages,
    sent_round,
)
from .support.web import SECRET_KEY

MINUTE = dt.timedelta(minutes=1)
UNIX = (dt.date(2026, 12, 1) - dt.date(1970, 1, 1)).days * 86400 + 14 * 3600


@pytest.fixture(autouse=True)
def signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key the links in emails are signed with (members' pages, unsubscribe)."""
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)


def ledger(community: object, kind: Kind) -> list[tuple[str, int, DeliveryStatus]]:
    with open_store(community.database) as store:  # type: ignore[attr-defined]
        return [
            (r.key.recipient, r.key.sequence, r.status)
            for r in store.deliveries.rows()
            if r.key.kind is kind
        ]


# --- when ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "due"),
    [
        (-11 * MINUTE, False),  # before start - 10 minutes: not yet
        (-10 * MINUTE - dt.timedelta(seconds=1), False),
        (-10 * MINUTE, True),  # from start - 10 minutes
        (-1 * MINUTE, True),
        (-dt.timedelta(seconds=1), True),
        (dt.timedelta(0), False),  # at the start: too late
        (1 * MINUTE, False),
    ],
)
def test_a_reminder_is_due_from_reminder_minutes_before_the_start_until_the_start(
    tmp_path: Path, offset: dt.timedelta, due: bool
) -> None:
    community = make(tmp_path, reminder_email=True)
    sent_round(community, meeting("m1@test", ADA, GRACE))
    report = send_due(community, now=START + offset)
    assert bool(report.reminders) is due
    mails = outbox_messages(community, "reminder")
    assert sorted(mails) == ([ADA, GRACE] if due else [])
    if due:
        assert report.report.exit_code == 0 and len(report.report.sent) == 2


def test_reminder_minutes_is_the_communitys_setting(tmp_path: Path) -> None:
    community = make(tmp_path, reminder_email=True, reminder_minutes=45)
    sent_round(community, meeting("m1@test", ADA, GRACE))
    assert send_due(community, now=START - 46 * MINUTE).reminders == ()
    assert send_due(community, now=START - 46 * MINUTE).next_due == START - 45 * MINUTE
    assert len(send_due(community, now=START - 44 * MINUTE).reminders) == 2


def test_a_caller_that_runs_every_quarter_hour_may_remind_early(tmp_path: Path) -> None:
    """Runs at :45 and :00 never fall in 13:50-14:00: the :45 run asks for what falls due
    before its next run (``early``), or waits until ``next_due``."""
    community = make(tmp_path, reminder_email=True)
    sent_round(community, meeting("m1@test", ADA, GRACE))
    quarter = dt.timedelta(minutes=15)
    assert send_due(community, now=START - 31 * MINUTE, early=quarter).reminders == ()
    plain = send_due(community, now=START - 15 * MINUTE)
    assert plain.reminders == () and plain.next_due == START - 10 * MINUTE
    early = send_due(community, now=START - 15 * MINUTE, early=quarter)
    assert len(early.reminders) == 2
    assert sorted(outbox_messages(community, "reminder")) == [ADA, GRACE]


def test_no_reminders_with_reminder_minutes_zero(tmp_path: Path) -> None:
    community = make(tmp_path, reminder_email=True, reminder_minutes=0)
    sent_round(community, meeting("m1@test", ADA, GRACE))
    assert send_due(community, now=START - 5 * MINUTE).reminders == ()
    assert outbox_messages(community, "reminder") == {}


def test_email_communities_get_reminder_emails_only_with_reminder_email(tmp_path: Path) -> None:
    community = make(tmp_path)  # reminder_email = false (the default)
    sent_round(community, meeting("m1@test", ADA, GRACE))
    report = send_due(community, now=START - 5 * MINUTE)
    assert report.reminders == () and report.skipped == ()
    assert outbox_messages(community, "reminder") == {}
    assert ledger(community, Kind.REMINDER) == []


def test_running_twice_sends_each_reminder_once(tmp_path: Path) -> None:
    community = make(tmp_path, reminder_email=True)
    sent_round(community, meeting("m1@test", ADA, GRACE))
    first = send_due(community, now=START - 9 * MINUTE)
    again = send_due(community, now=START - 9 * MINUTE)
    later = send_due(community, now=START - 2 * MINUTE)
    assert len(first.reminders) == 2
    assert again.reminders == later.reminders == ()
    assert again.report.sent == later.report.sent == []
    assert {k: len(v) for k, v in outbox_messages(community, "reminder").items()} == {
        ADA: 1,
        GRACE: 1,
    }
    assert sorted(ledger(community, Kind.REMINDER)) == [
        (ADA, 0, DeliveryStatus.SENT),
        (GRACE, 0, DeliveryStatus.SENT),
    ]


def test_each_attendee_is_reminded_in_their_own_zone_with_the_link(tmp_path: Path) -> None:
    community = make(tmp_path, reminder_email=True)
    sent_round(community, meeting("m1@test", ADA, GRACE))
    send_due(community, now=START - 10 * MINUTE)
    mails = outbox_messages(community, "reminder")
    (grace,) = mails[GRACE]
    assert grace["Subject"].startswith("Starting soon: ")
    assert "09:00" in grace["Subject"] and "EST" in grace["Subject"]
    body = text_of(grace)
    assert "When: Tuesday 1 December 2026, 09:00–09:30 EST (New York time)" in body
    assert "https://meet.jit.si/data-folk-coffee-" in body
    assert "Ada Lovelace" in body
    # Reply-To reaches both ("running late"); the footer has Grace's own page
    assert {a.addr_spec for a in grace["Reply-To"].addresses} == {ADA, GRACE}
    assert "https://coffee.example.org/me/" in body
    assert grace["List-Unsubscribe"].startswith("<https://coffee.example.org/unsubscribe/")


def test_a_cancelled_meeting_gets_no_reminder(tmp_path: Path) -> None:
    community = make(tmp_path, reminder_email=True)
    m = meeting("m1@test", ADA, GRACE)
    sent_round(community, m)
    change(community, cancelled(m))
    report = send_due(community, now=START - 5 * MINUTE)
    assert report.reminders == () and report.skipped == ()
    assert outbox_messages(community, "reminder") == {}


def test_an_unsent_round_gets_no_reminder(tmp_path: Path) -> None:
    community = make(tmp_path, reminder_email=True)
    with open_store(community.database) as store, store.transaction():
        store.rounds.record(Round(WEEK, 1, (meeting("m1@test", ADA, GRACE),), ()), at=START)
    assert send_due(community, now=START - 5 * MINUTE).reminders == ()


def test_a_moved_meeting_is_reminded_at_its_new_time(tmp_path: Path) -> None:
    community = make(tmp_path, reminder_email=True)
    m = meeting("m1@test", ADA, GRACE)
    sent_round(community, m)
    send_due(community, now=START - 10 * MINUTE)  # the first time's reminder went out
    later = START + dt.timedelta(days=1, hours=2)
    moved = meeting("m1@test", ADA, GRACE, start=later, sequence=1)
    change(community, replace(moved, status=MeetingStatus.MOVED))
    assert send_due(community, now=START - 5 * MINUTE).reminders == ()
    assert send_due(community, now=later - 11 * MINUTE).reminders == ()
    again = send_due(community, now=later - 10 * MINUTE)
    assert sorted(k.recipient for k in again.reminders) == [ADA, GRACE]
    assert {k.sequence for k in again.reminders} == {1}
    mails = outbox_messages(community, "reminder")
    assert [len(v) for v in mails.values()] == [2, 2]
    assert any("Wednesday 2 December 2026, 16:00" in text_of(m) for m in mails[ADA])


def test_a_reminder_moved_before_it_went_out_is_withdrawn(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recorded at 13:50 while the webhook was down; the meeting then moved: the old reminder
    never goes out, from this run or from the retries of `send`."""
    monkeypatch.setenv(WEBHOOK_ENV, httpserver.url_for(WEBHOOK_PATH))
    community = make(tmp_path, method="discord")
    m = meeting("m1@test", ADA, GRACE)
    sent_round(community, m)
    httpserver.expect_request(WEBHOOK_PATH).respond_with_data("down", status=503)
    report = send_due(community, now=START - 10 * MINUTE, how=Sending(sleep=lambda _: None))
    assert len(report.reminders) == 1 and report.report.pending
    moved = replace(m, start=START + dt.timedelta(days=1), sequence=1, status=MeetingStatus.MOVED)
    moved = replace(moved, end=moved.start + dt.timedelta(minutes=30))
    change(community, moved)
    httpserver.clear()
    httpserver.expect_request(WEBHOOK_PATH).respond_with_json({"id": "1"})
    after = send_due(community, now=START - 8 * MINUTE)
    assert [k.sequence for k in after.withdrawn] == [0]
    with open_store(community.database) as store:
        assert deliver_pending(store, community, WEEK, START - 7 * MINUTE, Sending()).sent == []
    assert len(httpserver.log) == 0
    assert ledger(community, Kind.REMINDER) == [("webhook", 0, DeliveryStatus.REPLACED)]


def test_a_reminder_after_the_start_is_skipped_and_said_once(tmp_path: Path) -> None:
    community = make(tmp_path, reminder_email=True)
    sent_round(community, meeting("m1@test", ADA, GRACE))
    send_due(community, now=START - 30 * MINUTE)  # nothing due yet
    late = send_due(community, now=START + 5 * MINUTE)  # no run in [13:50, 14:00)
    assert late.reminders == ()
    (skipped,) = late.skipped
    assert (skipped.uid, skipped.kind, skipped.reason) == ("m1@test", Kind.REMINDER, Skip.STARTED)
    assert sorted(skipped.recipients) == [ADA, GRACE]
    assert send_due(community, now=START + 20 * MINUTE).skipped == ()  # said once
    assert outbox_messages(community, "reminder") == {}


def test_a_first_run_after_the_start_says_what_it_skipped(tmp_path: Path) -> None:
    community = make(tmp_path, reminder_email=True)
    sent_round(community, meeting("m1@test", ADA, GRACE))
    (skipped,) = send_due(community, now=START + 1 * MINUTE).skipped
    assert skipped.reason is Skip.STARTED
    assert outbox_messages(community, "reminder") == {}


def test_a_decliner_is_not_reminded_and_a_pair_with_one_left_gets_nothing(tmp_path: Path) -> None:
    community = make(tmp_path, reminder_email=True)
    sent_round(community, meeting("m1@test", ADA, GRACE, ALAN), meeting("m2@test", ZOE, ADA))
    with open_store(community.database) as store, store.transaction():
        store.attendance.answer(
            "m1@test", ALAN, PartStat.DECLINED, sequence=0, source=AnswerSource.REPLY, at=START
        )
        store.attendance.answer(
            "m2@test", ZOE, PartStat.DECLINED, sequence=0, source=AnswerSource.LINK, at=START
        )
    report = send_due(community, now=START - 5 * MINUTE)
    assert sorted((k.meeting_uid, k.recipient) for k in report.reminders) == [
        ("m1@test", ADA),
        ("m1@test", GRACE),
    ]


# --- Discord ---------------------------------------------------------------------------------


@pytest.fixture
def webhook(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[HTTPServer]:
    monkeypatch.setenv(WEBHOOK_ENV, httpserver.url_for(WEBHOOK_PATH))
    httpserver.expect_request(
        WEBHOOK_PATH, method="POST", query_string="wait=true"
    ).respond_with_json({"id": "1"})
    yield httpserver
    for request, _ in httpserver.log:
        request.close()


def posts(server: HTTPServer) -> list[dict[str, object]]:
    out = []
    for request, _ in server.log:
        assert isinstance(request, Request)
        out.append(json.loads(request.form["payload_json"]))
    return out


@pytest.mark.slow
def test_discord_gets_one_reminder_that_mentions_both_with_the_link_and_a_countdown(
    tmp_path: Path, webhook: HTTPServer
) -> None:
    community = make(tmp_path, method="discord")  # reminder_email is not needed for Discord
    sent_round(community, meeting("m1@test", GRACE, ZOE))
    assert send_due(community, now=START - 11 * MINUTE).reminders == ()
    assert webhook.log == []
    report = send_due(community, now=START - 10 * MINUTE)
    assert [(k.recipient, k.kind) for k in report.reminders] == [("webhook", Kind.REMINDER)]
    assert report.report.exit_code == 0
    (post,) = posts(webhook)
    content = str(post["content"])
    assert "<@222222222222222222>" in content and "<@333333333333333333>" in content
    assert f"<t:{UNIX}:R>" in content
    assert "https://meet.jit.si/data-folk-coffee-" in content
    assert post["allowed_mentions"] == {
        "parse": [],
        "users": ["222222222222222222", "333333333333333333"],
    }
    assert not webhook.log[0][0].files  # no calendar attached: it is not an invitation
    send_due(community, now=START - 3 * MINUTE)
    assert len(webhook.log) == 1  # once


@pytest.mark.slow
def test_discord_reminder_names_a_member_without_an_id_inertly(
    tmp_path: Path, webhook: HTTPServer
) -> None:
    people = [
        ("@everyone **Bold** <@&1>", ADA, "Europe/London", None),
        ("Grace Hopper", GRACE, "America/New_York", "222222222222222222"),
    ]
    community = make(tmp_path, method="discord", people=people)
    sent_round(community, meeting("m1@test", ADA, GRACE))
    send_due(community, now=START - 5 * MINUTE)
    (post,) = posts(webhook)
    content = str(post["content"])
    assert "@everyone" not in content and "**" not in content and "<@&1>" not in content
    assert "@\u200beveryone" in content
    assert post["allowed_mentions"] == {"parse": [], "users": ["222222222222222222"]}


@pytest.mark.slow
def test_discord_reminder_not_delivered_before_the_start_is_withdrawn(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WEBHOOK_ENV, httpserver.url_for(WEBHOOK_PATH))
    community = make(tmp_path, method="discord")
    sent_round(community, meeting("m1@test", GRACE, ZOE))
    httpserver.expect_request(WEBHOOK_PATH).respond_with_data("down", status=503)
    quick = Sending(sleep=lambda _: None)
    first = send_due(community, now=START - 10 * MINUTE, how=quick)
    assert first.report.pending and len(httpserver.log) == 4  # four tries, then pending
    retried = send_due(community, now=START - 5 * MINUTE, how=quick)
    assert retried.reminders == () and retried.report.pending  # tried again: still down
    httpserver.clear()
    httpserver.expect_request(WEBHOOK_PATH).respond_with_json({"id": "1"})
    late = send_due(community, now=START + 1 * MINUTE)
    assert [k.kind for k in late.withdrawn] == [Kind.REMINDER]
    assert late.report.sent == [] and len(httpserver.log) == 0
    with open_store(community.database) as store:
        assert deliver_pending(store, community, WEEK, START + 2 * MINUTE, quick).sent == []
    assert len(httpserver.log) == 0


@pytest.mark.slow
def test_discord_reminder_that_failed_for_now_is_sent_by_the_next_run_in_time(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WEBHOOK_ENV, httpserver.url_for(WEBHOOK_PATH))
    community = make(tmp_path, method="discord")
    sent_round(community, meeting("m1@test", GRACE, ZOE))
    answers = [Response("down", status=503)] * 4 + [Response("{}", status=200)]
    httpserver.expect_request(WEBHOOK_PATH).respond_with_handler(lambda _: answers.pop(0))
    quick = Sending(sleep=lambda _: None)
    assert send_due(community, now=START - 10 * MINUTE, how=quick).report.pending
    again = send_due(community, now=START - 5 * MINUTE, how=quick)
    assert len(again.report.sent) == 1 and again.reminders == ()
    assert ledger(community, Kind.REMINDER) == [("webhook", 0, DeliveryStatus.SENT)]


@pytest.mark.parametrize(
    ("minutes_before", "early", "due"),
    [
        (20, 0, False),
        (11, 0, False),
        (10, 0, True),
        (1, 0, True),
        (0, 0, False),  # under way: a reminder helps nobody
        (20, 15, False),  # the next run, at 5 minutes before, is still in time
        (16, 15, False),  # the next run, 1 minute before, still is
        (15, 15, True),  # the next run would come at the start: now, 5 minutes early
        (10, 15, True),
        (0, 15, False),
    ],
)
def test_a_reminder_goes_at_the_last_run_before_the_meeting_never_late(
    minutes_before: int, early: int, due: bool
) -> None:
    """Cron runs every 15 minutes and meetings start on the half hour: with ``early`` (the
    runs' interval) the reminder goes at the last run that can still send it in time, as close
    to ``reminder_minutes`` as the runs allow."""
    from calroulette.config import parse_community
    from calroulette.matching import Meeting
    from calroulette.service.reminders import reminder_due

    data = {"community": {"name": "C", "organizer": "C <c@example.org>", "timezone": "UTC"}}
    community = parse_community(data, base_dir=Path())
    start = dt.datetime(2026, 12, 8, 14, tzinfo=dt.UTC)
    meeting = Meeting("u", ("a@x.org", "b@x.org"), start, start + dt.timedelta(minutes=30))
    now = start - dt.timedelta(minutes=minutes_before)
    assert reminder_due(meeting, community, now, dt.timedelta(minutes=early)) is due
    assert community.reminder_minutes == 10
