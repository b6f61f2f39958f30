"""Delivery through the outbox and the Discord webhook (a local HTTP server), exactly once: a
round recorded in the history database, sent with ``service.send`` as `calroulette send` does."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import icalendar
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from calroulette import service
from calroulette.config import Community
from calroulette.delivery import EXIT_PENDING, Report, Retry, Sending, Transport, render_round
from calroulette.delivery.outbox import Outbox
from calroulette.matching import Meeting, Round, RoundStatus, reasons
from calroulette.service.sending import Outcome
from calroulette.store import DeliveryRow, DeliveryStatus, open_store
from calroulette.timeutil import IsoWeek

from .support.mail import make_community

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


def record(community: Community, round_: Round = ROUND) -> None:
    """Record ``round_`` as planned in the history database, as `calroulette match` does."""
    with open_store(community.database) as store, store.transaction():
        assert store.rounds.record(round_, at=NOW)


def send(
    community: Community,
    *,
    now: dt.datetime = NOW,
    sleep: Callable[[float], None] = lambda s: None,
    transport: Transport | None = None,
) -> Outcome:
    """`calroulette send --week 2026-W49`, with three quick tries per message."""
    how = Sending(transport=transport, retry=Retry(attempts=3, backoff=0.0), sleep=sleep)
    return service.send(community, WEEK, now=now, how=how)


def run(community: Community, *, sleep: Callable[[float], None] = lambda s: None) -> Report:
    """Record the round, then send it."""
    record(community)
    return send(community, sleep=sleep).report


def ledger(community: Community) -> list[DeliveryRow]:
    with open_store(community.database) as store:
        return store.deliveries.rows(week=WEEK)


class Killed(BaseException):
    """The process died here: nothing in calroulette catches it."""


class DiesAfterFirstFlush:
    """The outbox, one message a batch, killed right after its first message is on disk and
    before the ledger marks it sent."""

    name = "outbox"
    rate_limited = False
    batch = 1

    def __init__(self, root: Path) -> None:
        self.box = Outbox(root)

    def already_delivered(self, row: DeliveryRow) -> bool:
        return self.box.already_delivered(row)

    def send(self, row: DeliveryRow) -> None:
        self.box.send(row)

    def flush(self) -> None:
        self.box.flush()
        raise Killed

    def close(self) -> None:
        self.box.close()


class DiesAtFirstSend(DiesAfterFirstFlush):
    """Killed before anything reached the outbox."""

    def send(self, row: DeliveryRow) -> None:
        raise Killed


# --- outbox -------------------------------------------------------------------------------------


def test_outbox_writes_one_eml_per_recipient_and_the_ics(tmp_path: Path) -> None:
    community = make_community(tmp_path)  # method defaults to outbox
    record(community)
    outcome = send(community)
    assert outcome.recorded == 4
    assert outcome.report.exit_code == 0 and len(outcome.report.sent) == 4
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
    assert {r.status for r in ledger(community)} == {DeliveryStatus.SENT}


def test_outbox_rerun_writes_nothing_and_keeps_the_first_bytes(tmp_path: Path) -> None:
    """A second send of a sent round, a day later (a later Date if anything were rendered
    again), records nothing and leaves the files and the ledger as the first one left them."""
    community = make_community(tmp_path)
    run(community)
    folder = tmp_path / "outbox" / "2026-W49"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    recorded = [(r.key, r.payload) for r in ledger(community)]
    later = send(community, now=NOW + dt.timedelta(days=1))
    assert later.recorded == 0 and "nothing new to send" in later.note
    assert later.report.sent == [] and later.report.already == []
    assert later.report.exit_code == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [(r.key, r.payload) for r in ledger(community)] == recorded


def test_outbox_file_written_before_a_crash_counts_as_delivered(tmp_path: Path) -> None:
    """Killed between the file's rename and the ledger update: the file is the record, and the
    next send neither writes it again nor counts it as lost."""
    community = make_community(tmp_path)
    record(community)
    with pytest.raises(Killed):
        send(community, transport=DiesAfterFirstFlush(community.delivery.outbox))
    first = ledger(community)[0]
    assert {r.status for r in ledger(community)} == {DeliveryStatus.PENDING}
    path = Outbox(community.delivery.outbox).eml_path(first)
    written = path.stat().st_mtime_ns
    assert len(list(path.parent.glob("*.eml"))) == 1

    report = send(community).report

    assert [k.recipient for k in report.already] == ["ada@example.org"]
    assert len(report.sent) == 3 and report.exit_code == 0
    assert path.stat().st_mtime_ns == written
    assert {r.status for r in ledger(community)} == {DeliveryStatus.SENT}


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
    outgoing = render_round(ROUND, community, now=NOW)
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
    """Recording is idempotent (a row already known is left alone), and `send` commits every
    row, pending, together with the round's new status before the transport sees one."""
    community = make_community(tmp_path)
    outgoing = render_round(ROUND, community, now=NOW)
    with open_store(tmp_path / "ledger-only.sqlite") as store:
        with store.transaction():
            assert store.deliveries.record(WEEK, outgoing, NOW) == 4
        with store.transaction():
            assert store.deliveries.record(WEEK, outgoing, NOW) == 0
        assert {r.status for r in store.deliveries.rows()} == {DeliveryStatus.PENDING}

    record(community)
    with pytest.raises(Killed):
        send(community, transport=DiesAtFirstSend(community.delivery.outbox))
    with open_store(community.database) as store:
        assert store.rounds.status(WEEK) is RoundStatus.SENT
        rows = store.deliveries.rows()
    assert [r.key for r in rows] == [o.key for o in outgoing]
    assert {r.status for r in rows} == {DeliveryStatus.PENDING}
    assert not (tmp_path / "outbox" / "2026-W49").exists()


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
    assert send(community).report.sent == []
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
    assert {r.status for r in ledger(community)} == {DeliveryStatus.PENDING}


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
    record(community, Round(WEEK, 1, ROUND.meetings, (reasons.paused("x@example.org", None),)))
    report = send(community).report
    assert report.stopped is not None and WEBHOOK_ENV in report.stopped
    assert report.exit_code == 1  # retrying cannot fix it: exit 1, messages kept pending
    assert len(report.pending) == 2
    assert {r.status for r in ledger(community)} == {DeliveryStatus.PENDING}
