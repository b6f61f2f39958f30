"""The sign-up pages, served for real (uvicorn on loopback) with calendars on a real HTTP server
and emails in the outbox: /join's form and its preview of the person's week, "check your
email", the confirmation link (a button: GET changes nothing), and what each ``[web] signup``
mode does with it; the organizer's queue on the command line; and what must never happen (the
calendar address in a page, a header or a log line; a member told apart from a stranger; a
duplicate member; a fetch from a private address).
"""

from __future__ import annotations

import datetime as dt
import email
import logging
import re
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import pytest
import requests
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from calroulette import service
from calroulette.cli import app
from calroulette.config import load_community
from calroulette.matching import Reason
from calroulette.store import SignupState, open_store
from calroulette.timeutil import IsoWeek
from calroulette.tokens import Purpose, sign

from .support import write_demo_config
from .support.feeds import ICS
from .support.web import SECRET_KEY, Site, links_in, serving

pytestmark = pytest.mark.slow

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)  # a Tuesday; next week is 2026-W49
WEEK = IsoWeek(2026, 49)
MARKER = "private-k9q2marker7z"  # in every calendar address: must never be shown or logged
FEED = f"/calendar/ical/zed.example.org/{MARKER}/basic.ics"
XSS = "<script>alert(1)</script>"
NO_FREE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:b@t\r\n"
    "DTSTAMP:20261101T000000Z\r\nDTSTART:20261201T100000Z\r\nDTEND:20261201T110000Z\r\n"
    "SUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
runner = CliRunner()


# --- the community and its mail -------------------------------------------------------------------


def _demo(tmp_path: Path, *, private_feeds: bool = True, delivery: str | None = None) -> Path:
    """The demo members.toml (eight members, so a new one has partners), without its [web]
    table (``serving`` writes one); the test's feed server is on loopback."""
    config = write_demo_config(tmp_path)
    text = re.sub(r"(?ms)^\[web\][^\n]*\n.*?(?=^\[)", "", config.read_text(encoding="utf-8"))
    if private_feeds:
        text = text.replace("[community]\n", "[community]\nallow_private_feeds = true\n", 1)
    if delivery is not None:
        text = re.sub(r'method = "outbox"', f'method = "{delivery}"', text)
    config.write_text(text, encoding="utf-8")
    return config


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)


@pytest.fixture
def feed(httpserver: HTTPServer) -> str:
    """A weekly free Tuesday afternoon, 14:00-17:00 UTC (the same hours in Lisbon in December)."""
    httpserver.expect_request(FEED).respond_with_data(ICS, content_type="text/calendar")
    return httpserver.url_for(FEED)


@pytest.fixture
def site(tmp_path: Path, env: None) -> Iterator[Site]:
    with serving(_demo(tmp_path), now=NOW, signup="open") as served:
        yield served


def _outbox(config: Path, to: str) -> list[EmailMessage]:
    found = []
    paths = sorted((config.parent / "outbox").rglob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    for path in paths:
        message = email.message_from_bytes(path.read_bytes(), policy=default)
        assert isinstance(message, EmailMessage)
        if to in str(message["To"]).lower():
            found.append(message)
    return found


def _text(message: EmailMessage, kind: str = "plain") -> str:
    body = message.get_body((kind,))
    assert body is not None
    return str(body.get_content())


def _link(message: EmailMessage, part: str) -> str:
    links = [u for u in links_in(_text(message)) if part in u]
    assert links, (message["Subject"], _text(message))
    return links[0]


def _form(calendar: str, **changes: str) -> dict[str, str]:
    return {
        "name": "Zed Shaw",
        "email": "zed@example.org",
        "calendar": calendar,
        "timezone": "Europe/Lisbon",
        "topics": "python, statistics",
        "team": "",
        "frequency": "weekly",
        "action": "preview",
        **changes,
    }


class Seen:
    """Every response a test got: none may show the marker, in its body or its headers."""

    def __init__(self) -> None:
        self.responses: list[requests.Response] = []

    def __call__(self, response: requests.Response) -> requests.Response:
        self.responses.append(response)
        return response

    def leaks(self) -> list[str]:
        return [
            f"{r.request.method} {r.url}"
            for r in self.responses
            if MARKER in r.text or MARKER in str(r.headers)
        ]


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every log line of the process but the test feed server's own access log (werkzeug's,
    which names the path it served)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))


def _signups(config: Path) -> list[Any]:
    with open_store(config.parent / "calroulette.sqlite", readonly=True) as store:
        return store.signups.list()


# --- the whole way, signup = "open" --------------------------------------------------------------


def test_a_stranger_previews_joins_confirms_and_is_in_the_next_round(
    site: Site, feed: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen = Seen()
    visitor = site.visitor()
    empty = seen(visitor.get("/join"))
    assert empty.status_code == 200
    zones = re.search(
        r'<select id="timezone"[^>]*data-browser-zone[^>]*>(.*?)</select>', empty.text, re.S
    )
    assert zones, "no zone list for zone.js to pre-select in"
    assert re.findall(r'<option value="([^"]+)"', zones[1]) == sorted(available_timezones())
    assert '<option value="America/New_York" selected>' in zones[1]  # the community's zone
    assert 'data-chosen="1"' not in empty.text  # so the browser's zone may replace it

    previewed = seen(visitor.post("/join", _form(feed)))
    assert previewed.status_code == 200, previewed.text
    grid = re.search(r'<table class="week">.*?</table>', previewed.text, re.S)
    assert grid, previewed.text
    rows = {
        m[0]: m[1] for m in re.findall(r'<th scope="row">([\d:]+)</th>(.*?)</tr>', grid[0], re.S)
    }
    # days across from Monday: Tuesday is the second cell of each row
    tuesday = {t: re.findall(r"<td[^>]*>", cells)[1] for t, cells in rows.items()}
    assert tuesday["14:00"] == tuesday["16:30"] == '<td class="free">'
    assert tuesday["13:30"] == "<td>" if "13:30" in tuesday else True
    assert "Tuesday 1 December: 14:00–17:00 (3 hours)" in previewed.text
    assert 'value="Zed Shaw"' in previewed.text and 'value="python, statistics"' in previewed.text
    assert '<option value="Europe/Lisbon" selected>' in previewed.text
    assert 'data-chosen="1"' in previewed.text

    # the address is not kept by the page: Join without it asks for it again
    again = seen(visitor.post("/join", _form("", action="join")))
    assert again.status_code == 400 and "paste your calendar" in again.text
    assert _outbox(site.config, "zed@example.org") == []

    sent = seen(visitor.post("/join", _form(feed, action="join")))
    assert sent.status_code == 200 and "Check your email" in sent.text
    assert load_community(site.config).member("zed@example.org") is None
    [confirmation] = _outbox(site.config, "zed@example.org")
    assert "Confirm your sign-up" in str(confirmation["Subject"])
    link = _link(confirmation, "/join/confirm/")
    assert link.startswith(site.base_url)

    # opening the link changes nothing (a mail scanner may open it); the button confirms
    opened = seen(visitor.get(link))
    assert opened.status_code == 200 and ">Confirm</button>" in opened.text
    assert load_community(site.config).member("zed@example.org") is None
    [signup] = _signups(site.config)
    assert signup.state is SignupState.UNCONFIRMED and signup.calendar == feed

    confirmed = seen(visitor.post(link))
    assert confirmed.status_code == 200 and "You're in" in confirmed.text
    member = load_community(site.config).member("zed@example.org")
    assert member is not None
    assert (member.name, member.calendar, member.timezone.key) == (
        "Zed Shaw",
        feed,
        "Europe/Lisbon",
    )
    assert member.topics == frozenset({"python", "statistics"})
    [signup] = _signups(site.config)
    assert signup.state is SignupState.JOINED and signup.calendar == ""
    welcome = _outbox(site.config, "zed@example.org")[-1]
    assert "Welcome" in str(welcome["Subject"])
    manage = _link(welcome, "/me/")
    assert visitor.get(manage).status_code == 200

    # confirming twice is harmless (the page now has no button: the form of another page)
    assert "already in" in visitor.get(link).text
    visitor.get("/join")
    twice = seen(visitor.post(link))
    assert twice.status_code == 200 and "already in" in twice.text
    assert len(_outbox(site.config, "zed@example.org")) == 2
    assert site.config.read_text(encoding="utf-8").count("zed@example.org") == 1

    # and the next round counts them
    round_ = service.match(service.load(site.config), now=NOW, dry_run=True).round
    assert round_.week == WEEK
    if round_.meeting_of("zed@example.org") is None:
        left = round_.unmatched_of("zed@example.org")
        assert left is not None, "the new member is not in the round"
        assert left.reason not in (Reason.FEED_ERROR, Reason.NO_FREE_TIME, Reason.PAUSED)

    assert seen.leaks() == []
    assert MARKER not in _logged(caplog)
    for message in _outbox(site.config, "zed@example.org"):
        assert MARKER not in message.as_string()


# --- signup = "approve": the organizer's queue on the command line -----------------------------


def _sign_up(site: Site, calendar: str, **changes: str) -> str:
    """Join through the form; the confirmation link of the email."""
    visitor = site.visitor()
    visitor.get("/join")
    form = _form(calendar, action="join", **changes)
    response = visitor.post("/join", form)
    assert response.status_code == 200 and "Check your email" in response.text, response.text
    return _link(_outbox(site.config, form["email"].strip().lower())[-1], "/join/confirm/")


def _confirm(site: Site, link: str) -> requests.Response:
    visitor = site.visitor()
    assert visitor.get(link).status_code == 200
    return visitor.post(link)


def _cli(config: Path, *args: str) -> Any:
    return runner.invoke(app, [*args, "--config", str(config)], env={"CALROULETTE_NOW": str(NOW)})


def test_with_approval_a_confirmed_signup_waits_and_the_organizer_approves_or_rejects(
    tmp_path: Path, env: None, feed: str
) -> None:
    config = _demo(tmp_path)
    with serving(config, now=NOW, signup="approve") as site:
        zed = _confirm(site, _sign_up(site, feed, team="Data"))
        yan = _confirm(site, _sign_up(site, feed, email="yan@example.org", name="Yan Li"))
        assert zed.status_code == yan.status_code == 200
        assert "organizer" in zed.text and "approve" in zed.text
        assert load_community(config).member("zed@example.org") is None

        listed = _cli(config, "members", "pending")
        assert listed.exit_code == 0, listed.output
        assert "zed@example.org" in listed.stdout and "yan@example.org" in listed.stdout
        assert MARKER not in listed.stdout and "localhost" not in listed.stdout
        as_json = _cli(config, "members", "pending", "--json")
        pending = {p["email"]: p for p in __import__("json").loads(as_json.stdout)["pending"]}
        assert set(pending) == {"zed@example.org", "yan@example.org"}
        assert pending["zed@example.org"]["team"] == "Data"
        assert "calendar" not in pending["zed@example.org"] and MARKER not in as_json.stdout

        approved = _cli(config, "members", "approve", "zed@example.org")
        assert approved.exit_code == 0, approved.output
        assert "Approved Zed Shaw <zed@example.org>" in approved.stdout
        member = load_community(config).member("zed@example.org")
        assert member is not None and member.calendar == feed and member.team == "Data"
        welcome = _outbox(config, "zed@example.org")[-1]
        assert "Welcome" in str(welcome["Subject"]) and "/me/" in _text(welcome)
        # the link in the confirmation now says so
        visitor = site.visitor()
        assert (
            "already in"
            in visitor.get(_link(_outbox(config, "zed@example.org")[0], "/join/confirm/")).text
        )

        rejected = _cli(config, "members", "reject", pending["yan@example.org"]["id"])
        assert rejected.exit_code == 0, rejected.output
        assert load_community(config).member("yan@example.org") is None
        note = _outbox(config, "yan@example.org")[-1]
        assert "not added you" in _text(note)
        again = _cli(config, "members", "reject", "yan@example.org")
        assert again.exit_code == 2 and "rejected, not pending" in again.output
        assert "No sign-ups" in _cli(config, "members", "pending").stdout
    states = {s.email: s for s in _signups(config)}
    assert states["zed@example.org"].state is SignupState.JOINED
    assert states["yan@example.org"].state is SignupState.REJECTED
    assert states["yan@example.org"].calendar == states["zed@example.org"].calendar == ""


def test_approve_refuses_a_calendar_that_cannot_be_read_now_unless_forced(
    tmp_path: Path, env: None, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(FEED).respond_with_data(ICS, content_type="text/calendar")
    config = _demo(tmp_path)
    with serving(config, now=NOW, signup="approve") as site:
        _confirm(site, _sign_up(site, httpserver.url_for(FEED)))
    httpserver.clear()
    httpserver.expect_request(FEED).respond_with_data("gone", status=404)
    refused = _cli(config, "members", "approve", "zed@example.org")
    assert refused.exit_code == 2 and "HTTP 404" in refused.output and "--force" in refused.output
    assert MARKER not in refused.output
    assert load_community(config).member("zed@example.org") is None
    forced = _cli(config, "members", "approve", "zed@example.org", "--force")
    assert forced.exit_code == 0, forced.output
    assert "approved anyway" in forced.output
    assert load_community(config).member("zed@example.org") is not None


# --- signup = "closed", and a community that sends on Discord ------------------------------------


def test_a_closed_signup_shows_no_form_and_takes_no_signup(
    tmp_path: Path, env: None, feed: str
) -> None:
    config = _demo(tmp_path)
    with serving(config, now=NOW, signup="closed") as site:
        visitor = site.visitor()
        page = visitor.get("/join")
        assert page.status_code == 404 and "Sign-up is closed" in page.text
        assert 'name="calendar"' not in page.text
        visitor.get("/link")  # a page with a form: its CSRF field
        posted = visitor.post("/join", _form(feed, action="join"))
        assert posted.status_code == 404 and "closed" in posted.text
    assert _outbox(config, "zed@example.org") == []
    assert not (config.parent / "calroulette.sqlite").exists() or _signups(config) == []


def test_a_signup_made_before_it_closed_waits_for_the_organizer(
    tmp_path: Path, env: None, feed: str
) -> None:
    config = _demo(tmp_path)
    with serving(config, now=NOW, signup="open") as site:
        link = _sign_up(site, feed)
    with serving(config, now=NOW, signup="closed") as site:
        confirmed = _confirm(site, link.replace(link.split("/join/")[0], site.base_url))
        assert confirmed.status_code == 200 and "approve" in confirmed.text
    assert load_community(config).member("zed@example.org") is None
    assert [s.state for s in _signups(config)] == [SignupState.PENDING]


def test_a_community_on_discord_says_signup_is_not_available(tmp_path: Path, env: None) -> None:
    config = _demo(tmp_path, delivery="discord")
    with serving(config, now=NOW, signup="open") as site:
        page = site.visitor().get("/join")
    assert page.status_code == 404 and "Discord" in page.text and 'name="calendar"' not in page.text


# --- confirmation links ---------------------------------------------------------------------------


def test_forged_cross_purpose_and_expired_confirmation_links_are_refused(
    site: Site, feed: str
) -> None:
    link = _sign_up(site, feed)
    token = link.rsplit("/", 1)[1]
    [signup] = _signups(site.config)
    bad = {
        "forged": (sign("f" * 40, Purpose.CONFIRM, signup.id, now=NOW), 403),
        "manage": (sign(SECRET_KEY, Purpose.MANAGE, signup.id, now=NOW), 403),
        "unsubscribe": (sign(SECRET_KEY, Purpose.UNSUBSCRIBE, signup.id, now=NOW), 403),
        "no such sign-up": (sign(SECRET_KEY, Purpose.CONFIRM, "nope", now=NOW), 403),
        "tampered": (token[:-3] + ("xyz" if not token.endswith("xyz") else "abc"), 403),
    }
    visitor = site.visitor()
    for what, (forged, status) in bad.items():
        assert visitor.get(f"/join/confirm/{forged}").status_code == status, what
        visitor.get("/join")
        posted = visitor.post(f"/join/confirm/{forged}")
        assert posted.status_code == status, what
        assert forged not in posted.text and "Traceback" not in posted.text
    assert load_community(site.config).member("zed@example.org") is None
    site.clock.advance(days=2, minutes=1)
    expired = visitor.get(link)
    assert expired.status_code == 410 and "new link" in expired.text
    visitor.get("/join")
    assert visitor.post(link).status_code == 410
    assert load_community(site.config).member("zed@example.org") is None
    # the next sign-up sweeps the unconfirmed ones whose link expired; their calendar goes
    _sign_up(site, feed, email="yan@example.org")
    states = {s.email: s for s in _signups(site.config)}
    assert states["zed@example.org"].state is SignupState.EXPIRED
    assert states["zed@example.org"].calendar == ""
    assert states["yan@example.org"].state is SignupState.UNCONFIRMED


def test_a_confirmation_without_its_csrf_field_changes_nothing(site: Site, feed: str) -> None:
    link = _sign_up(site, feed)
    visitor = site.visitor()
    visitor.get(link)
    refused = visitor.post(link, csrf=False)
    assert refused.status_code == 403
    assert load_community(site.config).member("zed@example.org") is None
    visitor.get("/join")
    assert (
        visitor.post(
            "/join", _form(feed, action="join", email="x@example.org"), csrf=False
        ).status_code
        == 403
    )
    assert _outbox(site.config, "x@example.org") == []


def test_a_calendar_broken_since_the_signup_is_not_added_and_the_page_says_why(
    tmp_path: Path, env: None, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(FEED).respond_with_data(ICS, content_type="text/calendar")
    with serving(_demo(tmp_path), now=NOW, signup="open") as site:
        link = _sign_up(site, httpserver.url_for(FEED))
        httpserver.clear()
        httpserver.expect_request(FEED).respond_with_data(NO_FREE, content_type="text/calendar")
        page = _confirm(site, link)
        assert page.status_code == 200 and "could not add you yet" in page.text
        assert "No event titled “free”" in page.text and ">Confirm</button>" in page.text
        assert load_community(site.config).member("zed@example.org") is None
        httpserver.clear()
        httpserver.expect_request(FEED).respond_with_data(ICS, content_type="text/calendar")
        assert "You're in" in _confirm(site, link).text
    assert load_community(site.config).member("zed@example.org") is not None


# --- what the page must never tell or do ----------------------------------------------------------


def test_a_members_address_gets_the_same_page_an_email_with_their_link_and_no_duplicate(
    site: Site, feed: str
) -> None:
    before = site.config.read_text(encoding="utf-8")
    visitor = site.visitor()

    def join(address: str) -> str:
        visitor.get("/join")
        response = visitor.post("/join", _form(feed, action="join", email=address))
        assert response.status_code == 200
        return re.sub(r'name="csrf" value="[^"]+"', "", response.text).replace(address, "ADDRESS")

    assert join("ada@example.org") == join("newcomer@example.org")
    assert site.config.read_text(encoding="utf-8") == before
    [note] = _outbox(site.config, "ada@example.org")
    assert "already a member" in str(note["Subject"])
    assert "/join/confirm/" not in _text(note) and "/me/" in _text(note)
    assert [s.email for s in _signups(site.config)] == ["newcomer@example.org"]


def test_a_second_signup_replaces_an_unconfirmed_first_one(site: Site, feed: str) -> None:
    first = _sign_up(site, feed)
    second = _sign_up(site, feed, name="Zed A. Shaw")
    visitor = site.visitor()
    assert visitor.get(first).status_code == 410  # replaced: expired
    assert "You're in" in _confirm(site, second).text
    member = load_community(site.config).member("zed@example.org")
    assert member is not None and member.name == "Zed A. Shaw"


def test_markup_in_the_name_and_topics_is_text_in_every_page_and_email(
    site: Site, feed: str
) -> None:
    pages = []
    visitor = site.visitor()
    visitor.get("/join")
    form = _form(feed, name=f"{XSS} Zed", topics=f"{XSS}, python")
    pages.append(visitor.post("/join", form).text)
    pages.append(visitor.post("/join", {**form, "action": "join"}).text)
    link = _link(_outbox(site.config, "zed@example.org")[-1], "/join/confirm/")
    pages.append(visitor.get(link).text)
    pages.append(visitor.post(link).text)
    for html in pages:
        assert XSS not in html and "<script>alert" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f'value="{escaped} Zed"' in pages[0] and f"Hi {escaped} Zed" in pages[2]
    for message in _outbox(site.config, "zed@example.org"):
        html = _text(message, "html")
        assert "<script" not in html and f"Hi {escaped}," in html
        assert XSS not in str(message["Subject"]) + str(message["To"].addresses[0].addr_spec)


def test_a_calendar_without_free_events_is_shown_and_cannot_join(
    site: Site, httpserver: HTTPServer
) -> None:
    path = f"/nofree/{MARKER}/basic.ics"
    httpserver.expect_request(path).respond_with_data(NO_FREE, content_type="text/calendar")
    visitor = site.visitor()
    visitor.get("/join")
    previewed = visitor.post("/join", _form(httpserver.url_for(path)))
    assert previewed.status_code == 200 and "No event titled “free”" in previewed.text
    assert "busy-only" in previewed.text  # it has events, none titled free
    joined = visitor.post("/join", _form(httpserver.url_for(path), action="join"))
    assert joined.status_code == 400 and "No event titled" in joined.text
    assert _outbox(site.config, "zed@example.org") == []


@pytest.mark.parametrize(
    "calendar",
    ["/etc/passwd", "file:///etc/passwd", "ftp://files.example/private-x/cal.ics", "not a url"],
)
def test_only_a_web_address_is_read(site: Site, calendar: str) -> None:
    visitor = site.visitor()
    visitor.get("/join")
    response = visitor.post("/join", _form(calendar))
    assert response.status_code == 400 and "https:// or webcal://" in response.text
    assert "root:" not in response.text and calendar not in response.text


@pytest.mark.parametrize(
    ("address", "what"),
    [
        ("http://127.0.0.1:{port}" + FEED, "a loopback address"),
        ("http://10.0.0.1" + FEED, "a private network address"),
        ("http://169.254.169.254/latest/" + MARKER, "a cloud metadata address"),
    ],
)
def test_a_private_address_is_refused_before_any_connection(
    tmp_path: Path, env: None, httpserver: HTTPServer, address: str, what: str
) -> None:
    httpserver.expect_request(FEED).respond_with_data(ICS, content_type="text/calendar")
    with serving(_demo(tmp_path, private_feeds=False), now=NOW) as site:
        visitor = site.visitor()
        visitor.get("/join")
        response = visitor.post("/join", _form(address.format(port=httpserver.port)))
        assert response.status_code == 200
        assert what in response.text and "public internet addresses only" in response.text
        assert MARKER not in response.text
        visitor.get("/join")
        joined = visitor.post("/join", _form(address.format(port=httpserver.port), action="join"))
        assert joined.status_code == 400 and what in joined.text
    assert httpserver.log == []  # refused before connecting
    assert _outbox(site.config, "zed@example.org") == []


def test_previews_and_signups_are_rate_limited(tmp_path: Path, env: None, feed: str) -> None:
    from calroulette.web.security import LIMITS, Limit, RateLimiter

    limits = {**LIMITS, "preview": Limit(1, dt.timedelta(hours=1))}
    limits["signup-email"] = Limit(1, dt.timedelta(hours=1))
    with serving(_demo(tmp_path), now=NOW, limiter=RateLimiter(limits)) as site:
        visitor = site.visitor()
        visitor.get("/join")
        assert visitor.post("/join", _form(feed)).status_code == 200
        visitor.get("/join")
        assert visitor.post("/join", _form(feed)).status_code == 429
        visitor.get("/join")
        assert visitor.post("/join", _form(feed, action="join")).status_code == 200
        visitor.get("/join")
        assert (
            visitor.post("/join", _form(feed, action="join", email="Zed@Example.org")).status_code
            == 429
        )
    assert len(_outbox(site.config, "zed@example.org")) == 1
