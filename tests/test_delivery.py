"""Delivery through the outbox and the Discord webhook (a local HTTP server), exactly once."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import icalendar
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from calroulette import delivery
from calroulette.config import Community
from calroulette.delivery import Retry, ledger
from calroulette.delivery.dispatch import EXIT_PENDING
from calroulette.delivery.outbox import Outbox
from calroulette.matching import Meeting, Round, Unmatched
from calroulette.timeutil import IsoWeek

from .mailkit import make_community

UTC = dt.UTC
WEEK = IsoWeek(2026, 49)
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
START = dt.datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
ROUND = Round(
    WEEK,
    3,
    (
        Meeting(
            "uid-1@test",
            ("ada@example.org", "grace@example.org"),
            START,
            START + dt.timedelta(minutes=30),
        ),
        Meeting(
            "uid-2@test",
            ("alan@example.org", "zoe@example.org"),
            START + dt.timedelta(hours=2),
            START + dt.timedelta(hours=2, minutes=30),
        ),
    ),
    (),
)
WEBHOOK_ENV = "CALROULETTE_DISCORD_WEBHOOK"


def run(community: Community, round_: Round = ROUND, **kw: object) -> delivery.Report:
    conn = ledger.connect(community.database)
    try:
        return delivery.send_round(
            conn,
            community,
            round_,
            now=kw.pop("now", NOW),  # type: ignore[arg-type]
            retry=Retry(attempts=3, backoff=0.0),
            sleep=kw.pop("sleep", lambda s: None),  # type: ignore[arg-type]
        )
    finally:
        conn.close()


# --- outbox -------------------------------------------------------------------------------------


def test_outbox_writes_one_eml_per_recipient_and_the_ics(tmp_path: Path) -> None:
    community = make_community(tmp_path)  # method defaults to outbox
    report = run(community)
    assert report.exit_code == 0 and len(report.sent) == 4
    folder = tmp_path / "outbox" / "2026-W49"
    emls = sorted(p.name for p in folder.glob("*.eml"))
    assert emls == [
        "uid-1@test.ada@example.org.request-0.eml",
        "uid-1@test.grace@example.org.request-0.eml",
        "uid-2@test.alan@example.org.request-0.eml",
        "uid-2@test.zoe@example.org.request-0.eml",
    ]
    assert sorted(p.name for p in folder.glob("*.ics")) == [
        "uid-1@test.request-0.ics",
        "uid-2@test.request-0.ics",
    ]
    assert not list(folder.glob(".*.tmp"))
    msg = email.message_from_bytes((folder / emls[0]).read_bytes(), policy=email.policy.default)
    assert msg["To"] == "Ada Lovelace <ada@example.org>"
    cal = icalendar.Calendar.from_ical((folder / "uid-1@test.request-0.ics").read_bytes())
    assert str(cal.walk("VEVENT")[0]["UID"]) == "uid-1@test"


def test_outbox_rerun_writes_nothing_and_keeps_the_first_bytes(tmp_path: Path) -> None:
    community = make_community(tmp_path)
    run(community)
    folder = tmp_path / "outbox" / "2026-W49"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    later = run(community, now=NOW + dt.timedelta(days=1))  # a later Date if it re-rendered
    assert later.sent == [] and later.already == [] and later.exit_code == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_outbox_file_written_before_a_crash_counts_as_delivered(tmp_path: Path) -> None:
    """Crash between the rename and the ledger update: the file is the record, not rewritten."""
    community = make_community(tmp_path)
    conn = ledger.connect(community.database)
    outgoing = delivery.render_round(ROUND, community, sequences={}, now=NOW)
    ledger.record(conn, str(WEEK), outgoing, NOW)
    first = ledger.rows(conn)[0]
    box = Outbox(community.delivery.outbox)
    box.send(first)
    box.flush()  # written and flushed to disk; the process dies before mark_sent
    box.close()
    written = box.eml_path(first).stat().st_mtime_ns
    conn.close()
    report = run(community)
    assert [k.recipient for k in report.already] == ["ada@example.org"]
    assert len(report.sent) == 3
    assert box.eml_path(first).stat().st_mtime_ns == written


def test_outbox_removes_what_a_killed_write_left_and_repairs_a_wrong_ics(tmp_path: Path) -> None:
    """A temporary file an hour old is a write killed before its rename: the next run removes
    it (a younger one may be another writer's and stays). An .ics that is not what the meeting
    says is written again; one that is, is left alone."""
    community = make_community(tmp_path)
    folder = tmp_path / "outbox" / "2026-W49"
    folder.mkdir(parents=True)
    old = folder / ".uid-1@test.ada@example.org.request-0.eml.k1ll3d.tmp"
    young = folder / ".uid-2@test.zoe@example.org.request-0.eml.wr1t1ng.tmp"
    for stray, age in ((old, 3700), (young, 60)):
        stray.write_bytes(b"From: half a mess")
        then = time.time() - age  # the clock the file system keeps
        os.utime(stray, (then, then))
    outgoing = delivery.render_round(ROUND, community, sequences={}, now=NOW)
    right = next(o.ics for o in outgoing if o.ics is not None and b"uid-2@test" in o.ics)
    (folder / "uid-1@test.request-0.ics").write_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    (folder / "uid-2@test.request-0.ics").write_bytes(right)
    os.utime(folder / "uid-2@test.request-0.ics", (1, 1))

    report = run(community)

    assert report.exit_code == 0 and len(report.sent) == 4
    assert not old.exists() and young.exists()
    cal = icalendar.Calendar.from_ical((folder / "uid-1@test.request-0.ics").read_bytes())
    assert str(cal.walk("VEVENT")[0]["UID"]) == "uid-1@test"
    assert (folder / "uid-2@test.request-0.ics").stat().st_mtime == 1  # right: not rewritten


def test_pending_rows_are_recorded_in_one_transaction_before_sending(tmp_path: Path) -> None:
    community = make_community(tmp_path)
    conn = ledger.connect(community.database)
    outgoing = delivery.render_round(ROUND, community, sequences={}, now=NOW)
    assert ledger.record(conn, str(WEEK), outgoing, NOW) == 4
    assert ledger.record(conn, str(WEEK), outgoing, NOW) == 0  # idempotent
    assert {r.status for r in ledger.rows(conn)} == {ledger.Status.PENDING}


# --- Discord ------------------------------------------------------------------------------------


@pytest.fixture
def webhook(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """The webhook stand-in; multipart uploads it parsed are closed before the log is cleared."""
    yield httpserver
    for request, _ in httpserver.log:
        request.close()


def discord_community(
    tmp_path: Path, webhook: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Community:
    monkeypatch.setenv(WEBHOOK_ENV, webhook.url_for("/api/webhooks/123/secret-token"))
    return make_community(tmp_path, method="discord", rate_limit_per_minute=100_000)


def test_discord_posts_one_message_per_meeting_with_mentions_and_the_ics(
    tmp_path: Path, webhook: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    community = discord_community(tmp_path, webhook, monkeypatch)
    httpserver = webhook
    httpserver.expect_request(
        "/api/webhooks/123/secret-token", method="POST", query_string="wait=true"
    ).respond_with_json({"id": "1"})
    report = run(community)
    assert report.exit_code == 0 and len(report.sent) == 2
    assert len(httpserver.log) == 2
    request: Request = httpserver.log[1][0]
    assert request.mimetype == "multipart/form-data"
    payload = json.loads(request.form["payload_json"])
    unix = (dt.date(2026, 12, 1) - dt.date(1970, 1, 1)).days * 86400 + 16 * 3600
    assert f"<t:{unix}:F>" in payload["content"]
    assert "<@333333333333333333>" in payload["content"]  # Zoë has a Discord id
    assert "Alan Turing" in payload["content"]  # Alan has none: named, not pinged
    assert payload["allowed_mentions"]["users"] == ["333333333333333333"]
    upload = request.files["files[0]"]
    assert upload.filename == "invite.ics"
    cal = icalendar.Calendar.from_ical(upload.read())
    assert str(cal.walk("VEVENT")[0]["UID"]) == "uid-2@test"
    assert run(community).sent == []
    assert len(httpserver.log) == 2


def test_discord_429_waits_retry_after_then_posts(
    tmp_path: Path, webhook: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    community = discord_community(tmp_path, webhook, monkeypatch)
    httpserver = webhook
    answers = [
        Response(
            json.dumps({"message": "You are being rate limited.", "retry_after": 1.5}),
            status=429,
            content_type="application/json",
        ),
        Response("{}", status=200, content_type="application/json"),
        Response("{}", status=200, content_type="application/json"),
    ]
    httpserver.expect_request("/api/webhooks/123/secret-token").respond_with_handler(
        lambda request: answers.pop(0)
    )
    waits: list[float] = []
    report = run(community, sleep=waits.append)
    assert report.exit_code == 0 and len(report.sent) == 2
    assert 1.5 in waits
    assert len(httpserver.log) == 3


def test_discord_5xx_stays_pending_and_the_secret_url_is_never_reported(
    tmp_path: Path, webhook: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    community = discord_community(tmp_path, webhook, monkeypatch)
    httpserver = webhook
    httpserver.expect_request("/api/webhooks/123/secret-token").respond_with_data(
        "oops", status=502
    )
    report = run(community)
    assert report.exit_code == EXIT_PENDING
    assert len(report.pending) == 2
    assert all("secret-token" not in error for _, error in report.pending)
    assert len(httpserver.log) == 6  # 3 attempts for each message


def test_a_deleted_webhook_stops_the_run(
    tmp_path: Path, webhook: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    community = discord_community(tmp_path, webhook, monkeypatch)
    httpserver = webhook
    httpserver.expect_request("/api/webhooks/123/secret-token").respond_with_data(
        '{"message": "Unknown Webhook"}', status=404
    )
    report = run(community)
    assert report.stopped is not None and "404" in report.stopped
    assert len(report.pending) == 2 and len(httpserver.log) == 1
    assert report.exit_code == 1


def test_missing_webhook_variable_leaves_everything_pending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    community = make_community(tmp_path, method="discord")
    report = run(community, Round(WEEK, 1, ROUND.meetings, (Unmatched("x@example.org", "paused"),)))
    assert report.stopped is not None and WEBHOOK_ENV in report.stopped
    assert report.exit_code == 1  # retrying cannot fix it: exit 1, messages kept pending
