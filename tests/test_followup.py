""" "Did you meet?": due from 09:00 on the day after the meeting in each recipient's zone (the
latest of them for a Discord post), for seven days; one email per attendee with two one-click
links, or one Discord post with each attendee's own links; and the links work against the member
pages served for real, recording the answer and letting it be changed.

The meeting: Ada (London) and Grace (New York) on Tuesday 1 December 2026, 14:00–14:30Z.
Ada's 09:00 the next day is 09:00Z on the 2nd; Grace's is 14:00Z.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer

from calroulette.config import load_community
from calroulette.invites import Kind
from calroulette.service.reminders import FOLLOWUP_DAYS, Skip, followup_at, send_due
from calroulette.store import Met, open_store

from .support.mail import text_of
from .support.remind import (
    ADA,
    ALAN,
    GRACE,
    START,
    WEBHOOK_ENV,
    WEBHOOK_PATH,
    ZOE,
    cancelled,
    change,
    make,
    meeting,
    outbox_messages,
    sent_round,
    serving_met,
    write_config,
)
from .support.web import SECRET_KEY, links_in

UTC = dt.UTC
ADA_DUE = dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
GRACE_DUE = dt.datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)


def recipients(report: object, kind: Kind = Kind.FOLLOWUP) -> list[str]:
    keys = report.followups if kind is Kind.FOLLOWUP else report.reminders  # type: ignore[attr-defined]
    return sorted(k.recipient for k in keys)


# --- when ------------------------------------------------------------------------------------


def test_a_followup_is_due_from_nine_the_day_after_in_each_recipients_zone(
    tmp_path: Path,
) -> None:
    community = make(tmp_path)
    sent_round(community, meeting("m1@test", ADA, GRACE))
    assert recipients(send_due(community, now=START + dt.timedelta(hours=2))) == []
    early = send_due(community, now=ADA_DUE - SECOND)
    assert recipients(early) == [] and early.next_due == ADA_DUE
    ada = send_due(community, now=ADA_DUE)
    assert recipients(ada) == [ADA] and ada.next_due == GRACE_DUE
    assert recipients(send_due(community, now=GRACE_DUE - SECOND)) == []
    assert recipients(send_due(community, now=GRACE_DUE)) == [GRACE]
    assert recipients(send_due(community, now=GRACE_DUE + dt.timedelta(hours=3))) == []
    assert {k: len(v) for k, v in outbox_messages(community, "followup").items()} == {
        ADA: 1,
        GRACE: 1,
    }


def test_the_day_after_is_the_recipients_own_day() -> None:
    """23:30Z on Tuesday is already Wednesday 05:00 in Kolkata: Zoë is asked on Thursday at
    09:00 IST; a Londoner on Wednesday at 09:00; a late meeting is never asked about within
    the hour."""
    late = meeting("m@test", ADA, ZOE, start=dt.datetime(2026, 12, 1, 23, 30, tzinfo=UTC))
    kolkata, london = ZoneInfo("Asia/Kolkata"), ZoneInfo("Europe/London")
    assert followup_at(late, [kolkata]) == dt.datetime(2026, 12, 3, 3, 30, tzinfo=UTC)
    assert followup_at(late, [london]) == dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert followup_at(late, [london, kolkata]) == dt.datetime(2026, 12, 3, 3, 30, tzinfo=UTC)


def test_a_followup_is_skipped_after_seven_days_and_said_once(tmp_path: Path) -> None:
    community = make(tmp_path)
    sent_round(community, meeting("m1@test", ADA, GRACE))
    send_due(community, now=ADA_DUE - dt.timedelta(hours=1))  # the last look before the stop
    closes = dt.timedelta(days=FOLLOWUP_DAYS)
    back = send_due(community, now=ADA_DUE + closes + SECOND)  # Ada's time is over
    assert recipients(back) == [GRACE]  # Grace's is not, by five hours
    (skipped,) = back.skipped
    assert (skipped.kind, skipped.reason, skipped.recipients) == (Kind.FOLLOWUP, Skip.LATE, (ADA,))
    after = send_due(community, now=GRACE_DUE + closes + dt.timedelta(hours=1))
    assert after.followups == () and after.skipped == ()  # Grace's went out; nothing said again
    assert sorted(outbox_messages(community, "followup")) == [GRACE]


def test_no_followup_for_a_cancelled_meeting_or_with_followup_off(tmp_path: Path) -> None:
    community = make(tmp_path)
    m = meeting("m1@test", ADA, GRACE)
    sent_round(community, m, meeting("m2@test", ZOE, ALAN))
    change(community, cancelled(m))
    assert sorted(k.meeting_uid for k in send_due(community, now=GRACE_DUE).followups) == [
        "m2@test",
        "m2@test",
    ]
    off = make(tmp_path / "off", followup=False)
    sent_round(off, meeting("m1@test", ADA, GRACE))
    assert send_due(off, now=GRACE_DUE).followups == ()


def test_without_links_no_followup_goes_and_the_report_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CALROULETTE_SECRET_KEY")
    community = make(tmp_path)
    sent_round(community, meeting("m1@test", ADA, GRACE))
    report = send_due(community, now=GRACE_DUE)
    assert report.followups == ()
    assert "[web] base_url" in report.note and "CALROULETTE_SECRET_KEY" in report.note
    assert outbox_messages(community, "followup") == {}


def test_running_twice_asks_once(tmp_path: Path) -> None:
    community = make(tmp_path)
    sent_round(community, meeting("m1@test", ADA, GRACE))
    assert recipients(send_due(community, now=GRACE_DUE)) == [ADA, GRACE]
    assert send_due(community, now=GRACE_DUE).followups == ()
    assert send_due(community, now=GRACE_DUE + dt.timedelta(days=2)).followups == ()
    assert [len(v) for v in outbox_messages(community, "followup").values()] == [1, 1]


def test_the_followup_email_has_two_links_and_escapes_names(tmp_path: Path) -> None:
    people = [
        ("Ada <b>Lovelace</b> https://evil.example/x", ADA, "Europe/London", None),
        ("Grace Hopper", GRACE, "America/New_York", None),
    ]
    community = make(tmp_path, people=people)
    sent_round(community, meeting("m1@test", ADA, GRACE))
    send_due(community, now=GRACE_DUE)
    (grace,) = outbox_messages(community, "followup")[GRACE]
    assert grace["Subject"] == "Did you meet Ada? Data Folk Coffee"
    text = text_of(grace)
    yes = re.search(r"Yes, we met: (\S+)", text)
    no = re.search(r"No, we did not meet: (\S+)", text)
    assert yes and no
    assert yes.group(1).startswith("https://coffee.example.org/met/")
    assert yes.group(1).endswith("/yes") and no.group(1).endswith("/no")
    assert yes.group(1)[: -len("/yes")] == no.group(1)[: -len("/no")]  # one token, two answers
    html = text_of(grace, "html")
    assert "<b>" not in html and "&lt;b&gt;Lovelace&lt;/b&gt;" in html
    assert 'href="https://evil.example' not in html
    assert f'href="{yes.group(1)}"' in html and f'href="{no.group(1)}"' in html
    assert "https://coffee.example.org/me/" in text  # the footer, as in every email


# --- the links, served -----------------------------------------------------------------------


@pytest.mark.slow
def test_the_links_record_the_answer_and_the_page_changes_it(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with serving_met(config, now=GRACE_DUE) as site:
        community = load_community(config)  # base_url: the served site's
        sent_round(community, meeting("m1@test", ADA, GRACE))
        send_due(community, now=GRACE_DUE)
        (ada,) = outbox_messages(community, "followup")[ADA]
        yes, no = (u for u in links_in(text_of(ada)) if "/met/" in u)
        visitor = site.visitor()
        page = visitor.get(no)  # one click
        assert page.status_code == 200
        assert "did not meet" in visitor.page and "Grace" in visitor.page
        with open_store(community.database) as store:
            assert store.attendance.of("m1@test")[ADA].met is Met.NO
            assert store.attendance.not_held() == {"m1@test"}
        changed = visitor.post(yes)  # the page's button, with its CSRF field
        assert changed.status_code == 200 and "you met Grace" in visitor.page
        with open_store(community.database) as store:
            assert store.attendance.of("m1@test")[ADA].met is Met.YES
            assert store.attendance.not_held() == set()


@pytest.mark.slow
def test_discord_followup_mentions_both_with_each_ones_links(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WEBHOOK_ENV, httpserver.url_for(WEBHOOK_PATH))
    httpserver.expect_request(WEBHOOK_PATH, method="POST").respond_with_json({"id": "1"})
    community = make(tmp_path, method="discord")
    sent_round(community, meeting("m1@test", GRACE, ZOE))
    # Zoë (Kolkata) is asked at her 09:00 on the 2nd, Grace (New York) at hers: the post waits
    # for the later one
    assert send_due(community, now=dt.datetime(2026, 12, 2, 3, 30, tzinfo=UTC)).followups == ()
    report = send_due(community, now=GRACE_DUE)
    assert [(k.recipient, k.kind) for k in report.followups] == [("webhook", Kind.FOLLOWUP)]
    ((request, _),) = httpserver.log
    post = json.loads(request.form["payload_json"])
    content = post["content"]
    assert "<@222222222222222222>" in content and "<@333333333333333333>" in content
    lines = content.splitlines()
    grace = next(line for line in lines if line.startswith("Grace:"))
    zoe = next(line for line in lines if line.startswith("Zoë:"))
    grace_links = re.findall(r"<(https://[^>]+)>", grace)
    zoe_links = re.findall(r"<(https://[^>]+)>", zoe)
    assert [u.rsplit("/", 1)[1] for u in grace_links] == ["yes", "no"]
    assert grace_links != zoe_links
    assert post["allowed_mentions"] == {
        "parse": [],
        "users": ["222222222222222222", "333333333333333333"],
    }
    assert send_due(community, now=GRACE_DUE + dt.timedelta(hours=1)).followups == ()
    assert len(httpserver.log) == 1
    request.close()
