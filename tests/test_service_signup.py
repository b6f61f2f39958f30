"""The sign-up operations below the web page: the form checked as members.toml checks a member,
the answers a sign-up gets (a confirmation; a member's link; a note that it still waits), and the
account emails' way through the deliveries ledger: recorded, sent at once, retried by the next
`run` when they could not go, and never counted as part of a week's round."""

from __future__ import annotations

import datetime as dt
import email
import fcntl
import re
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from calroulette import service
from calroulette.config import Community, load_community
from calroulette.delivery import Sending
from calroulette.delivery.sender import BUSY, deliver_now
from calroulette.invites import Kind, Outgoing
from calroulette.invites.account import account_key, link_email
from calroulette.service.notices import NoEmail, notice_week, send_notice
from calroulette.service.signupform import SignupForm, SignupInvalid, SignupUnavailable
from calroulette.store import DeliveryStatus, SignupState, open_store
from calroulette.timeutil import IsoWeek

from .support import write_demo_config
from .support.feeds import ICS
from .support.web import set_base_url

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)  # Tuesday of 2026-W48 in New York
KEY = "service-test-key-" + "k" * 32
FEED = "/calendar/ical/zed.example.org/private-3d2c1b0a/basic.ics"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo community with [web] open and a base URL; feeds on loopback allowed."""
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", KEY)
    path = write_demo_config(tmp_path)
    text = path.read_text(encoding="utf-8")
    text = text.replace("[community]\n", "[community]\nallow_private_feeds = true\n", 1)
    path.write_text(text, encoding="utf-8")
    set_base_url(path, "https://coffee.example.org", "open")  # replaces the demo's [web]
    return path


def _form(calendar: str = "https://calendar.example/private-1/basic.ics", **kw: str) -> SignupForm:
    values = {
        "name": "Zed Shaw",
        "email": "zed@example.org",
        "calendar": calendar,
        "timezone": "Europe/Lisbon",
        "topics": "python",
        "team": "",
        "frequency": "weekly",
        **kw,
    }
    return SignupForm(**values)


def _emails(config: Path, to: str) -> list[EmailMessage]:
    out = []
    for path in sorted((config.parent / "outbox").rglob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default)
        assert isinstance(message, EmailMessage)
        if str(message["To"]).lower().endswith(f"<{to}>") or str(message["To"]) == to:
            out.append(message)
    return out


def _plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


# --- the form -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "Europe/Lisbn"}, "timezone"),
        ({"frequency": "daily"}, "frequency"),
        ({"name": ""}, "name"),
        ({"name": "Eve\nBcc: x@y.org"}, "name"),
        ({"name": "=?utf-8?q?Zo=C3=AB?="}, "name"),
        ({"team": "a\x00b"}, "team"),
        ({"topics": ",".join(f"t{i}" for i in range(11))}, "topics"),
        ({"topics": "x" * 301}, "topics"),
        ({"calendar": ""}, "calendar"),
        ({"calendar": "/etc/passwd"}, "calendar"),
        ({"calendar": "file:///etc/passwd"}, "calendar"),
        ({"calendar": "calendar.google.com/calendar/ical/x/private-1/basic.ics"}, "calendar"),
        ({"calendar": "https://calendar.example/private 1/basic.ics"}, "calendar"),
        ({"calendar": "https://calendar.example/" + "x" * 2000}, "calendar"),
    ],
)
def test_a_form_that_members_toml_would_refuse_is_refused_field_by_field(
    config: Path, changes: dict[str, str], field: str
) -> None:
    before = config.read_text(encoding="utf-8")
    with pytest.raises(SignupInvalid) as refused:
        service.signup(config, _form(**changes), now=NOW)
    assert field in refused.value.problems, refused.value.problems
    for problem in refused.value.problems.values():
        assert "private-1" not in problem and "passwd" not in problem
    assert config.read_text(encoding="utf-8") == before
    assert not (config.parent / "outbox").exists()


def test_a_preview_never_reads_a_file(config: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.ics"
    secret.write_bytes(ICS)
    for calendar in (str(secret), f"file://{secret}"):
        with pytest.raises(SignupInvalid) as refused:
            service.signup_preview(load_community(config), _form(calendar), now=NOW)
        assert set(refused.value.problems) == {"calendar"}


def test_signup_refuses_when_closed_or_on_discord(config: Path) -> None:
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('signup = "open"', 'signup = "closed"'), encoding="utf-8")
    with pytest.raises(SignupUnavailable, match="closed"):
        service.signup(config, _form(), now=NOW)
    config.write_text(text.replace('method = "outbox"', 'method = "discord"'), encoding="utf-8")
    with pytest.raises(SignupUnavailable, match="Discord"):
        service.signup(config, _form(), now=NOW)


# --- the answers a sign-up gets (a calendar on a real server) ------------------------------------


@pytest.mark.slow
def test_each_signup_gets_the_email_its_address_calls_for(
    config: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(FEED).respond_with_data(ICS, content_type="text/calendar")
    calendar = httpserver.url_for(FEED)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('signup = "open"', 'signup = "approve"'), encoding="utf-8")

    first = service.signup(config, _form(calendar), now=NOW)
    assert first.email == "zed@example.org" and first.approve
    [confirm] = _emails(config, "zed@example.org")
    link = re.search(r"https://coffee\.example\.org/join/confirm/(\S+)", _plain(confirm))
    assert link
    done = service.signup_confirm(config, link[1], now=NOW + dt.timedelta(hours=1))
    assert done.state.value == "pending"
    # signing up again while waiting: a note, no new sign-up
    service.signup(config, _form(calendar), now=NOW + dt.timedelta(hours=2))
    waiting = _emails(config, "zed@example.org")[-1]
    assert "waiting for approval" in str(waiting["Subject"])
    # a member's address: the link to their page, nothing recorded
    service.signup(config, _form(calendar, email="ADA@example.org"), now=NOW)
    [note] = _emails(config, "ada@example.org")
    assert "already a member" in str(note["Subject"])
    assert "https://coffee.example.org/me/" in _plain(note)
    with open_store(config.parent / "calroulette.sqlite", readonly=True) as store:
        signups = store.signups.list()
    assert [(s.email, s.state) for s in signups] == [("zed@example.org", SignupState.PENDING)]
    pending = service.members_pending(config)
    assert [p.calendar for p in pending] == [f"http://localhost:{httpserver.port}/…/basic.ics"]


# --- account emails through the ledger ------------------------------------------------------------


def _note(config: Path, ident: str = "1") -> tuple[Community, Outgoing]:
    community = service.load(config)
    outgoing = link_email(
        community,
        name="Ada Lovelace",
        email="ada@example.org",
        manage_link="https://coffee.example.org/me/t0ken",
        key=account_key("link", ident, "ada@example.org"),
        now=NOW,
    )
    return community, outgoing


def test_an_account_email_is_recorded_in_this_week_and_sent_at_once(config: Path) -> None:
    community, outgoing = _note(config)
    assert send_notice(community, outgoing, now=NOW)
    week = notice_week(community, NOW)
    assert week == IsoWeek(2026, 48)
    [path] = (config.parent / "outbox" / str(week)).glob("*.eml")
    assert path.read_bytes() == outgoing.payload
    with open_store(config.parent / "calroulette.sqlite", readonly=True) as store:
        # a round's readers never see it: the week's summary, `why`'s rows
        assert store.deliveries.summary(week).total == 0
        assert store.deliveries.rows(week=week) == []
        assert store.deliveries.rows(recipient="ada@example.org") == []
        [row] = store.deliveries.rows(week=week, accounts=True)
    assert row.key.kind is Kind.ACCOUNT and row.status is DeliveryStatus.SENT


def test_an_account_email_that_cannot_go_waits_for_the_next_run(config: Path) -> None:
    community, outgoing = _note(config)
    (config.parent / "outbox").write_text("a file where the outbox folder should be")
    assert not send_notice(community, outgoing, now=NOW)
    week = notice_week(community, NOW)
    with open_store(config.parent / "calroulette.sqlite", readonly=True) as store:
        [row] = store.deliveries.rows(week=week, accounts=True)
    assert row.status is DeliveryStatus.PENDING and row.last_error
    (config.parent / "outbox").unlink()
    outcome = service.run(service.load(config), now=NOW + dt.timedelta(minutes=10))
    assert outgoing.key in outcome.report.sent
    assert (config.parent / "outbox" / str(week)).is_dir()
    with open_store(config.parent / "calroulette.sqlite", readonly=True) as store:
        [row] = store.deliveries.rows(week=week, accounts=True)
        assert row.status is DeliveryStatus.SENT
        # next week's round is counted without it
        assert store.deliveries.summary(outcome.week).total == len(
            store.deliveries.rows(week=outcome.week)
        )


def test_an_account_email_never_waits_long_for_a_send_under_way(config: Path) -> None:
    """While another process sends (it holds the sender's lock), the email stays pending and
    the caller goes on; that sender never sees it twice."""
    community, outgoing = _note(config)
    database = config.parent / "calroulette.sqlite"
    with open_store(database) as store:
        with store.transaction():
            store.deliveries.record(notice_week(community, NOW), [outgoing], NOW)
        with Path(f"{database}.send-lock").open("a+b") as held:
            fcntl.flock(held.fileno(), fcntl.LOCK_EX)
            report = deliver_now(store, community, [outgoing.key], NOW, Sending(), wait=0.2)
            fcntl.flock(held.fileno(), fcntl.LOCK_UN)
        assert report.pending == [(outgoing.key, BUSY)] and not report.sent
        report = deliver_now(store, community, [outgoing.key], NOW, Sending(), wait=0.2)
        assert report.sent == [outgoing.key]


def test_deliver_now_sends_only_the_keys_asked_for(config: Path) -> None:
    community, mine = _note(config, "mine")
    _, other = _note(config, "other")
    database = config.parent / "calroulette.sqlite"
    with open_store(database) as store:
        with store.transaction():
            store.deliveries.record(notice_week(community, NOW), [mine, other], NOW)
        report = deliver_now(store, community, [mine.key], NOW, Sending())
        assert report.sent == [mine.key]
        statuses = {r.key: r.status for r in store.deliveries.rows(accounts=True)}
    assert statuses == {mine.key: DeliveryStatus.SENT, other.key: DeliveryStatus.PENDING}


def test_a_community_on_discord_sends_no_account_email(config: Path) -> None:
    text = config.read_text(encoding="utf-8").replace('method = "outbox"', 'method = "discord"')
    config.write_text(text, encoding="utf-8")
    community, outgoing = _note(config)
    with pytest.raises(NoEmail, match="discord"):
        send_notice(community, outgoing, now=NOW)
    assert not (config.parent / "calroulette.sqlite").exists()


def test_no_database_no_pending_signups(config: Path) -> None:
    assert service.members_pending(config) == []
    assert not (config.parent / "calroulette.sqlite").exists()
