"""When sending goes wrong, the organizer recovers with one command, and the statuses never
claim more than was delivered. Against a real SMTP server on loopback (aiosmtpd, STARTTLS,
AUTH), through the real commands and service functions.

- a week refused entirely is "partly sent" (exit 1) on every run until `send --retry-failed`,
  which sends each message once, with the Message-ID recorded the first time;
- a message refused for now is tried again by a later run, not before its back-off;
- an email corrected in members.toml reaches the meeting: the corrected member and the partner
  get an updated invitation (SEQUENCE+1) naming the right address, nothing twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import icalendar
import pytest
import tomlkit
from typer.testing import CliRunner

from calroulette import service
from calroulette.cli import app
from calroulette.config import Community
from calroulette.delivery import Retry, Sending
from calroulette.matching import Meeting, Round
from calroulette.store import DeliveryStatus, RoundState, open_store
from calroulette.timeutil import UTC, IsoWeek

from .support.mail import PASSWORD, USER, Mailbox, make_cert, smtp_server

WEEK = IsoWeek(2026, 49)
NOW = dt.datetime(2026, 11, 24, 12, tzinfo=UTC)
runner = CliRunner()


def write_config(tmp_path: Path, port: int, people: dict[str, str]) -> Path:
    """members.toml for ``people`` (email → calendar file name), sending through ``port``."""
    doc = {
        "community": {
            "name": "Recovery Coffee",
            "organizer": "Recovery Coffee <coffee@example.org>",
            "timezone": "Europe/London",
            "database": "history.sqlite",
            "cache_dir": "cache",
        },
        "delivery": {
            "method": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "starttls",
            "smtp_username": USER,
            "rate_limit_per_minute": 100_000,
        },
        "members": [
            {
                "name": email.split("@")[0].title(),
                "email": email,
                "calendar": calendar,
                "timezone": "Europe/London",
            }
            for email, calendar in people.items()
        ],
    }
    path = tmp_path / "members.toml"
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return path


def record(tmp_path: Path, *pairs: tuple[str, str]) -> Round:
    """A planned round with one meeting per pair on Tuesday, as `calroulette match` leaves it."""
    start = dt.datetime(2026, 12, 1, 10, tzinfo=UTC)
    meetings = tuple(
        Meeting(
            f"m{i}-0123456789abcdef@calroulette",
            tuple(sorted(p)),
            start,
            start + dt.timedelta(minutes=30),
        )
        for i, p in enumerate(pairs)
    )
    round_ = Round(WEEK, 1, meetings, ())
    with open_store(tmp_path / "history.sqlite") as store, store.transaction():
        store.rounds.record(round_, at=NOW)
    return round_


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    cert, key = make_cert(tmp_path)
    monkeypatch.setenv("CALROULETTE_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the production context, trusting the test cert
    monkeypatch.setenv("CALROULETTE_NOW", "2026-11-24T12:00:00Z")
    with smtp_server(cert, key) as (port, box):
        yield port, box


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def calendar_of(data: bytes) -> icalendar.cal.Component:
    import email
    import email.policy

    msg = email.message_from_bytes(data, policy=email.policy.default)
    part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    return icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]


def attendees(event: icalendar.cal.Component) -> list[str]:
    return sorted(str(a).removeprefix("mailto:") for a in event["ATTENDEE"])


def load(config: Path) -> Community:
    return service.load(config)


# --- a week refused entirely -----------------------------------------------------------------


def test_a_refused_week_is_partly_sent_until_retry_failed_sends_each_message_once(
    tmp_path: Path, server: tuple[int, Mailbox]
) -> None:
    port, box = server
    people = {f"p{i}@example.org": f"p{i}.ics" for i in range(4)}
    config = write_config(tmp_path, port, people)
    record(tmp_path, ("p0@example.org", "p1@example.org"), ("p2@example.org", "p3@example.org"))
    box.refuse = "554 5.7.1 relaying denied for this sender"

    code, out, err = cli("send", "-c", str(config), "--week", str(WEEK))
    assert code == 1
    assert "2026-W49: sent 0 of 4 via 127.0.0.1:" in out and "4 failed" in out
    failed = [line for line in err.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 4
    assert all("rejected with 554: 5.7.1 relaying denied for this sender" in f for f in failed)
    assert all("calroulette send --retry-failed" in f for f in failed)

    # The server is fixed; a plain run does not pretend all is well, and sends nothing again.
    box.refuse = None
    code, out, err = cli("send", "-c", str(config), "--week", str(WEEK))
    assert code == 1 and "sent 0 of 4" in out and "4 failed" in out
    assert box.received == []

    code, out, err = cli("send", "--retry-failed", "-c", str(config), "--week", str(WEEK), "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["retried"] == 4
    assert payload["state"]["state"] == "sent" and payload["state"]["sent"] == 4
    assert sorted(r.rcpt_tos[0] for r in box.received) == sorted(people)
    with open_store(tmp_path / "history.sqlite") as store:
        rows = store.deliveries.rows(week=WEEK)
    assert {r.status for r in rows} == {DeliveryStatus.SENT}
    sent_ids = Counter(calendar_msgid(r.data) for r in box.received)
    assert sent_ids == Counter(r.message_id for r in rows)  # the recorded bytes, once each

    code, out, _ = cli("send", "--retry-failed", "-c", str(config), "--week", str(WEEK))
    assert code == 0 and "sent 4 of 4" in out
    assert len(box.received) == 4


def calendar_msgid(data: bytes) -> str:
    import email
    import email.policy

    return str(email.message_from_bytes(data, policy=email.policy.default)["Message-ID"])


def test_a_refused_week_reads_partly_sent_in_the_ledgers_summary(
    tmp_path: Path, server: tuple[int, Mailbox]
) -> None:
    """The round's state comes from its messages: `sent` only when every one went out."""
    port, box = server
    config = write_config(tmp_path, port, {"a@example.org": "a.ics", "b@example.org": "b.ics"})
    record(tmp_path, ("a@example.org", "b@example.org"))
    box.reject = {"b@example.org"}
    outcome = service.send(load(config), WEEK, now=NOW, how=Sending(retry=Retry(attempts=1)))
    assert outcome.exit_code == 1
    assert outcome.state is not None and outcome.round is not None
    assert outcome.state.state(outcome.round.status) is RoundState.PARTLY_SENT
    assert (outcome.state.sent, outcome.state.failed) == (1, 1)
    ((key, error),) = outcome.state.failures
    assert key.recipient == "b@example.org"
    assert "rejected with 550: 5.1.1 <b@example.org>: no such user" in error


def test_history_and_why_say_who_did_not_get_their_invitation_and_why(
    tmp_path: Path, server: tuple[int, Mailbox]
) -> None:
    """The places the organizer looks agree with the ledger: `history` shows the week partly
    sent, with the refused recipient and the server's words; `why` says it for the member."""
    port, box = server
    config = write_config(tmp_path, port, {"a@example.org": "a.ics", "b@example.org": "b.ics"})
    record(tmp_path, ("a@example.org", "b@example.org"))
    box.reject = {"b@example.org"}
    assert cli("send", "-c", str(config), "--week", str(WEEK))[0] == 1

    code, out, _ = cli("history", "-c", str(config))
    assert code == 0
    assert "partly sent" in out and "2026-W49: sent 1 of 2, 1 failed" in out
    assert "failed: b@example.org: b@example.org: smtp recipient: rejected with 550" in out
    (round_,) = json.loads(cli("history", "--json", "-c", str(config))[1])["rounds"]
    assert round_["delivery"]["state"] == "partly-sent"
    assert [f["recipient"] for f in round_["delivery"]["failures"]] == ["b@example.org"]
    code, out, _ = cli("why", "b@example.org", "-c", str(config), "--week", str(WEEK))
    assert "2026-W49 (partly sent)" in out and "Their invitation failed:" in out
    code, out, _ = cli("why", "a@example.org", "-c", str(config), "--week", str(WEEK))
    assert "Their invitation was sent." in out

    box.reject = set()
    assert cli("send", "--retry-failed", "-c", str(config), "--week", str(WEEK))[0] == 0
    code, out, _ = cli("history", "-c", str(config))
    assert "partly sent" not in out and "failed:" not in out and " sent " in out


# --- a failure for now ------------------------------------------------------------------------


def test_a_temporary_failure_is_tried_again_by_a_later_run_after_its_back_off(
    tmp_path: Path, server: tuple[int, Mailbox]
) -> None:
    port, box = server
    config = write_config(tmp_path, port, {"a@example.org": "a.ics", "b@example.org": "b.ics"})
    record(tmp_path, ("a@example.org", "b@example.org"))
    how = Sending(retry=Retry(attempts=2, backoff=0.0), sleep=lambda _: None)
    box.tempfail_data = 4  # both attempts of both messages: 451

    first = service.send(load(config), WEEK, now=NOW, how=how)
    assert first.exit_code == 75 and box.received == []
    assert first.state is not None and first.state.pending == 2
    retry_at = {at for _, _, at in first.state.waiting}
    assert retry_at == {NOW + dt.timedelta(minutes=5)}

    # An hour-ly cron run one minute later leaves them alone: their back-off is not over.
    soon = service.send(load(config), WEEK, now=NOW + dt.timedelta(minutes=1), how=how)
    assert soon.exit_code == 75 and box.received == []
    assert len(soon.report.deferred) == 2 and not soon.report.sent

    later = service.send(load(config), WEEK, now=NOW + dt.timedelta(minutes=6), how=how)
    assert later.exit_code == 0
    assert sorted(r.rcpt_tos[0] for r in box.received) == ["a@example.org", "b@example.org"]


def test_each_failed_run_doubles_the_wait_before_the_next_try() -> None:
    retry = Retry(attempts=4)
    from calroulette.delivery import SendError

    error = SendError("451", transient=True)
    waits = [
        (retry.next_run(NOW, 4 * runs, error) - NOW).total_seconds() / 60 for runs in (1, 2, 3)
    ]
    assert waits == [5, 10, 20]
    assert retry.next_run(NOW, 400, error) - NOW == dt.timedelta(hours=6)
    asked = SendError("429", transient=True, retry_after=3600)
    assert retry.next_run(NOW, 4, asked) - NOW == dt.timedelta(hours=1)


# --- an email corrected in members.toml -------------------------------------------------------


def test_a_corrected_email_gets_the_invitation_and_the_partner_an_update(
    tmp_path: Path, server: tuple[int, Mailbox]
) -> None:
    port, box = server
    config = write_config(
        tmp_path, port, {"ada@example.org": "ada.ics", "bob@exampel.org": "bob.ics"}
    )
    (meeting,) = record(tmp_path, ("ada@example.org", "bob@exampel.org")).meetings
    box.reject = {"bob@exampel.org"}
    first = service.send(load(config), WEEK, now=NOW, how=Sending(retry=Retry(attempts=1)))
    assert first.exit_code == 1
    assert [r.rcpt_tos for r in box.received] == [["ada@example.org"]]

    # The organizer fixes the domain in members.toml; the calendar address stays the same.
    text = config.read_text(encoding="utf-8").replace("bob@exampel.org", "bob@example.org")
    config.write_text(text, encoding="utf-8")
    fixed = service.send(load(config), WEEK, now=NOW + dt.timedelta(minutes=1))
    assert fixed.exit_code == 0
    assert [(c.old, c.new) for c in fixed.corrections] == [("bob@exampel.org", "bob@example.org")]
    later = box.received[1:]
    assert sorted(r.rcpt_tos[0] for r in later) == ["ada@example.org", "bob@example.org"]
    for received in later:
        event = calendar_of(received.data)
        assert str(event["UID"]) == meeting.uid and int(event["SEQUENCE"]) == 1
        assert attendees(event) == ["ada@example.org", "bob@example.org"]

    with open_store(tmp_path / "history.sqlite") as store:
        rows = store.deliveries.rows(week=WEEK)
        stored = store.rounds.load(WEEK)
    statuses = {(r.key.recipient, r.key.sequence): r.status for r in rows}
    assert statuses == {
        ("ada@example.org", 0): DeliveryStatus.SENT,
        ("bob@exampel.org", 0): DeliveryStatus.REPLACED,
        ("ada@example.org", 1): DeliveryStatus.SENT,
        ("bob@example.org", 1): DeliveryStatus.SENT,
    }
    assert stored is not None and stored.meetings[0].members == (
        "ada@example.org",
        "bob@example.org",
    )

    # Nothing twice: another run finds nothing to correct and nothing to send.
    again = service.send(load(config), WEEK, now=NOW + dt.timedelta(minutes=2))
    assert again.corrections == () and again.exit_code == 0 and len(box.received) == 3
    code, out, _ = cli("why", "bob@example.org", "-c", str(config), "--week", str(WEEK))
    assert code == 0 and "Bob meets Ada" in out


def test_an_old_address_that_did_get_the_invitation_is_sent_a_cancellation(
    tmp_path: Path, server: tuple[int, Mailbox]
) -> None:
    """The old address took the invitation (someone else's mailbox, perhaps): it is told the
    meeting is off for it, and the right address is invited."""
    port, box = server
    config = write_config(
        tmp_path, port, {"ada@example.org": "ada.ics", "bob@old.example": "bob.ics"}
    )
    record(tmp_path, ("ada@example.org", "bob@old.example"))
    assert service.send(load(config), WEEK, now=NOW).exit_code == 0
    text = config.read_text(encoding="utf-8").replace("bob@old.example", "bob@new.example")
    config.write_text(text, encoding="utf-8")
    assert service.send(load(config), WEEK, now=NOW + dt.timedelta(minutes=1)).exit_code == 0
    by_rcpt = {(r.rcpt_tos[0], str(calendar_of(r.data)["SEQUENCE"])): r for r in box.received[2:]}
    assert sorted(by_rcpt) == [
        ("ada@example.org", "1"),
        ("bob@new.example", "1"),
        ("bob@old.example", "1"),
    ]
    import email

    cancel = email.message_from_bytes(by_rcpt[("bob@old.example", "1")].data)
    assert (
        'method="CANCEL"' in str(cancel.get_payload(0))
        or b"METHOD:CANCEL" in by_rcpt[("bob@old.example", "1")].data
    )


def test_a_member_who_only_left_is_not_taken_for_a_correction(
    tmp_path: Path, server: tuple[int, Mailbox]
) -> None:
    """Removing a member and adding another with a different calendar is not a correction."""
    port, box = server
    config = write_config(
        tmp_path, port, {"ada@example.org": "ada.ics", "bob@example.org": "bob.ics"}
    )
    record(tmp_path, ("ada@example.org", "bob@example.org"))
    assert service.send(load(config), WEEK, now=NOW).exit_code == 0
    text = config.read_text(encoding="utf-8").replace("bob@example.org", "cy@example.org")
    text = text.replace('"bob.ics"', '"cy.ics"')
    config.write_text(text, encoding="utf-8")
    outcome = service.send(load(config), WEEK, now=NOW + dt.timedelta(minutes=1))
    assert outcome.corrections == () and len(box.received) == 2
