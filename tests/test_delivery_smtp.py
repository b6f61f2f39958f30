"""SMTP delivery against a real aiosmtpd server on loopback: STARTTLS, AUTH, failures, once; a
round recorded in the history database, sent with ``service.send`` as `calroulette send` does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import icalendar
import pytest

from calroulette import service
from calroulette.config import Community
from calroulette.delivery import (
    EXIT_PENDING,
    RateLimit,
    Report,
    Retry,
    Sending,
    Transport,
    open_transport,
)
from calroulette.delivery.smtp import SmtpTransport
from calroulette.intervals import Interval
from calroulette.matching import Meeting, Round, reasons
from calroulette.store import DeliveryRow, open_store
from calroulette.timeutil import IsoWeek

from .support.mail import (
    PASSWORD,
    USER,
    Mailbox,
    client_context,
    free_port,
    make_cert,
    make_community,
    smtp_server,
)

UTC = dt.UTC
WEEK = IsoWeek(2026, 49)
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
START = dt.datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
FAST = Retry(attempts=3, backoff=0.0)
ROUND = Round(
    WEEK,
    7,
    (
        Meeting(
            "uid-ada-grace@test",
            ("ada@example.org", "grace@example.org"),
            START,
            START + dt.timedelta(minutes=30),
            (
                Interval(
                    dt.datetime(2026, 12, 2, 15, tzinfo=UTC),
                    dt.datetime(2026, 12, 2, 15, 30, tzinfo=UTC),
                ),
            ),
        ),
    ),
    (reasons.all_paired("zoe@example.org"),),
)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALROULETTE_SMTP_PASSWORD", PASSWORD)


def smtp_community(tmp_path: Path, port: int, security: str = "starttls") -> Community:
    return make_community(
        tmp_path,
        method="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security=security,
        smtp_username=USER,
        rate_limit_per_minute=100_000,
    )


def record(community: Community, round_: Round = ROUND) -> None:
    """Record ``round_`` as planned in the history database, as `calroulette match` does."""
    with open_store(community.database) as store, store.transaction():
        assert store.rounds.record(round_, at=NOW)


def send(
    community: Community,
    cert: Path | None,
    *,
    retry: Retry = FAST,
    sleep: Callable[[float], None] = lambda s: None,
    transport: Transport | None = None,
    now: dt.datetime = NOW,
) -> Report:
    """`calroulette send --week 2026-W49` through the SMTP transport of ``[delivery]``, trusting
    ``cert`` (None: the default context, the system's trust store)."""
    if transport is None and cert is not None:
        transport = open_transport(community, ssl_context=client_context(cert))
    how = Sending(transport=transport, retry=retry, sleep=sleep)
    return service.send(community, WEEK, now=now, how=how).report


def rows(community: Community) -> list[DeliveryRow]:
    with open_store(community.database) as store:
        return store.deliveries.rows(week=WEEK)


def statuses(community: Community) -> dict[str, str]:
    return {r.key.recipient: str(r.status) for r in rows(community)}


def test_starttls_auth_delivers_one_parsable_invitation_per_recipient(
    tmp_path: Path, cert: tuple[Path, Path]
) -> None:
    with smtp_server(*cert) as (port, box):
        community = smtp_community(tmp_path, port)
        record(community)
        report = send(community, cert[0])
        assert report.exit_code == 0
        assert len(report.sent) == 3
        assert [r.rcpt_tos for r in box.received] == [
            ["ada@example.org"],
            ["grace@example.org"],
            ["zoe@example.org"],
        ]
        assert all(r.tls and r.user == USER for r in box.received)
        assert all(r.mail_from == "coffee@example.org" for r in box.received)

        by_rcpt = {r.rcpt_tos[0]: r.message() for r in box.received}
        expected_local = {
            "ada@example.org": ("Tuesday 1 December 2026, 14:00–14:30 GMT", "Grace: 09:00"),
            "grace@example.org": ("Tuesday 1 December 2026, 09:00–09:30 EST", "Ada: 14:00"),
        }
        for rcpt, (when, partner) in expected_local.items():
            msg = by_rcpt[rcpt]
            assert msg["To"].addresses[0].addr_spec == rcpt
            assert msg["From"] == "Data Folk Coffee <coffee@example.org>"
            text = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
            assert when in text.get_content()
            assert partner in text.get_content()
            part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
            assert part.get_param("method") == "REQUEST"
            cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
            (event,) = cal.walk("VEVENT")
            assert str(event["UID"]) == "uid-ada-grace@test"
            assert event["SEQUENCE"] == 0
            assert event.decoded("DTSTART") == START
            assert str(event["ORGANIZER"]) == "mailto:coffee@example.org"
            attendees = sorted(str(a) for a in event["ATTENDEE"])
            assert attendees == ["mailto:ada@example.org", "mailto:grace@example.org"]
        note = by_rcpt["zoe@example.org"]
        text = next(p for p in note.walk() if p.get_content_type() == "text/plain")
        assert "they were paired with someone else" in " ".join(text.get_content().split())

        # running it again sends nothing
        again = send(community, cert[0])
        assert again.sent == [] and again.exit_code == 0
        assert len(box.received) == 3
    assert set(statuses(community).values()) == {"sent"}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_on_its_own_port(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    with smtp_server(*cert, implicit_tls=True) as (port, box):
        community = smtp_community(tmp_path, port, security="tls")
        record(community)
        assert send(community, cert[0]).exit_code == 0
        assert len(box.received) == 3 and all(r.tls for r in box.received)


def test_an_untrusted_certificate_is_refused_by_the_default_context(
    tmp_path: Path, cert: tuple[Path, Path]
) -> None:
    """Without an injected context the system trust store applies: a self-signed server fails."""
    with smtp_server(*cert) as (port, box):
        community = smtp_community(tmp_path, port)
        record(community)
        report = send(community, None)
        assert report.exit_code == 1  # needs the organizer, not a retry
        assert report.stopped is not None and "TLS" in report.stopped
        assert box.received == []
        assert set(statuses(community).values()) == {"pending"}


def test_a_wrong_password_stops_the_run_and_keeps_everything_pending(
    tmp_path: Path, cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALROULETTE_SMTP_PASSWORD", "wrong")
    with smtp_server(*cert) as (port, box):
        community = smtp_community(tmp_path, port)
        record(community)
        report = send(community, cert[0])
        assert report.stopped is not None and "refused the login" in report.stopped
        assert "wrong" not in report.stopped
        assert len(report.pending) == 3 and report.exit_code == 1
        assert box.received == []


def test_451_is_retried_then_accepted(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    waits: list[float] = []
    with smtp_server(*cert, mailbox=Mailbox(tempfail_data=2)) as (port, box):
        community = smtp_community(tmp_path, port)
        record(community)
        report = send(community, cert[0], retry=Retry(attempts=3, backoff=0.5), sleep=waits.append)
        assert report.exit_code == 0 and len(report.sent) == 3
        assert len(box.received) == 3
        assert waits == [0.5, 1.0]  # backoff doubles
    first = rows(community)[0]
    assert first.attempts == 3 and first.last_error is None


def test_persistent_451_stays_pending_and_goes_out_on_a_later_run(
    tmp_path: Path, cert: tuple[Path, Path]
) -> None:
    """What a later run sends is what the first one recorded, byte for byte (its Date and
    Message-ID too), not a message rendered again."""
    with smtp_server(*cert, mailbox=Mailbox(tempfail_data=100)) as (port, box):
        community = smtp_community(tmp_path, port)
        record(community)
        report = send(community, cert[0])
        assert report.exit_code == EXIT_PENDING
        assert len(report.pending) == 3
        assert "temporary failure 451" in report.pending[0][1]
        box.tempfail_data = 0
        later = send(community, cert[0], now=NOW + dt.timedelta(hours=2))
        assert later.exit_code == 0 and len(later.sent) == 3
        assert len(box.received) == 3
    recorded = {r.key.recipient: r for r in rows(community)}
    for received in box.received:
        row = recorded[received.rcpt_tos[0]]
        assert received.data == row.payload
        assert received.message()["Message-ID"] == row.message_id
        assert received.message()["Date"] == "Tue, 24 Nov 2026 12:00:00 +0000"


def test_a_550_recipient_is_recorded_as_failed_and_never_retried(
    tmp_path: Path, cert: tuple[Path, Path]
) -> None:
    with smtp_server(*cert, mailbox=Mailbox(reject={"grace@example.org"})) as (port, box):
        community = smtp_community(tmp_path, port)
        record(community)
        report = send(community, cert[0])
        assert [k.recipient for k, _ in report.failed] == ["grace@example.org"]
        assert "rejected with 550" in report.failed[0][1]
        assert report.exit_code == 1
        assert sorted(r.rcpt_tos[0] for r in box.received) == ["ada@example.org", "zoe@example.org"]
        again = send(community, cert[0])
        assert again.sent == [] and again.failed == [] and again.exit_code == 0
        assert len(box.received) == 2
    assert statuses(community)["grace@example.org"] == "failed"


def test_a_refused_connection_is_retried_with_backoff_then_left_pending(
    tmp_path: Path, cert: tuple[Path, Path]
) -> None:
    community = smtp_community(tmp_path, free_port())
    record(community)
    waits: list[float] = []
    report = send(community, cert[0], retry=Retry(attempts=3, backoff=1.0), sleep=waits.append)
    assert waits == [1.0, 2.0]  # one message tried 3 times, then the run stops
    assert report.stopped is not None and "connection refused" in report.stopped
    assert len(report.pending) == 3 and report.exit_code == EXIT_PENDING


def test_rate_limit_spaces_messages_evenly() -> None:
    clock = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    limit = RateLimit(6, clock=lambda: clock[0], sleep=sleep)  # one every 10 s
    for _ in range(3):
        limit.wait()
    assert waits == [10.0, 10.0]
    clock[0] += 25  # idle longer than the interval: no wait
    limit.wait()
    assert waits == [10.0, 10.0]


def test_a_server_that_never_answers_times_out_and_stays_pending(tmp_path: Path) -> None:
    """A listener that accepts the connection but never sends its greeting."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        community = smtp_community(tmp_path, silent.getsockname()[1])
        transport = SmtpTransport(
            community.delivery, envelope_from="coffee@example.org", password=PASSWORD, timeout=0.2
        )
        record(community)
        waits: list[float] = []
        report = send(
            community,
            None,
            transport=transport,
            retry=Retry(attempts=2, backoff=0.1),
            sleep=waits.append,
        )
    assert report.stopped is not None and "timed out" in report.stopped
    assert waits == [0.1]
    assert report.exit_code == EXIT_PENDING and len(report.pending) == 3


def test_international_addresses_use_idna_domains_and_smtputf8(
    tmp_path: Path, cert: tuple[Path, Path]
) -> None:
    people = [
        ("Ada Lovelace", "ada@bücher.example", "Europe/London", None),
        ("Zoë Ødegård", "zoë@exämple.org", "Asia/Kolkata", None),
    ]
    meeting = Meeting(
        "intl@test",
        ("ada@bücher.example", "zoë@exämple.org"),
        START,
        START + dt.timedelta(minutes=30),
    )
    with smtp_server(*cert) as (port, box):
        community = make_community(
            tmp_path,
            people,
            method="smtp",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_username=USER,
            rate_limit_per_minute=100_000,
        )
        record(community, Round(WEEK, 1, (meeting,), ()))
        report = send(community, cert[0])
        assert report.exit_code == 0, report
        assert sorted(r.rcpt_tos[0] for r in box.received) == [
            "ada@xn--bcher-kva.example",  # bücher → xn--bcher-kva: the textbook IDNA example
            "zoë@xn--exmple-cua.org",
        ]
        assert all("SMTPUTF8" in r.mail_options for r in box.received)  # Zoë is in every Reply-To
        zoe = next(r for r in box.received if r.rcpt_tos[0].startswith("zo")).message()
        assert zoe["To"].addresses[0].addr_spec == "zoë@xn--exmple-cua.org"
        assert zoe["To"].addresses[0].display_name == "Zoë Ødegård"
