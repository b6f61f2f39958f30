"""The organizer's page (``/admin``), served by uvicorn on loopback: the password (compared in
constant time, rate-limited, behind the CSRF check), the session cookie and its flags, and the
overview: the rounds of this week and next, each message's status, what the last round read of
each calendar (``check`` on demand), and the sign-ups to approve or reject."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from calroulette import service
from calroulette.store import Signup, SignupState, open_store
from calroulette.timeutil import IsoWeek
from calroulette.web.security import LIMITS, Limit, RateLimiter

from .support import ROOT, write_demo_config
from .support.web import ADMIN_PASSWORD, SECRET_KEY, Site, Visitor, serving

pytestmark = pytest.mark.slow

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)  # a Tuesday: this week 2026-W48, next W49
WEEK = IsoWeek(2026, 49)
XSS = "<script>alert(1)</script>"
SECRET_FEED = "https://calendar.example.org/calendar/ical/zed/private-7d6c5b4a3f2e/basic.ics"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)
    return demo_without_web(tmp_path)


def demo_without_web(tmp_path: Path) -> Path:
    """The demo members.toml without its [web] table: ``serving`` writes one."""
    config = write_demo_config(tmp_path)
    text = re.sub(r"(?ms)^\[web\][^\n]*\n.*?(?=^\[)", "", config.read_text(encoding="utf-8"))
    config.write_text(text, encoding="utf-8")
    return config


@pytest.fixture
def site(config: Path) -> Iterator[Site]:
    with serving(config, now=NOW, signup="approve") as served:
        yield served


def logged_in(site: Site) -> Visitor:
    visitor = site.visitor()
    assert visitor.get("/admin").status_code == 200
    response = visitor.post("/admin/login", {"password": ADMIN_PASSWORD})
    assert response.status_code == 200 and "Log out" in response.text
    return visitor


def add_signup(config: Path, signup_id: str, name: str, calendar: str, email: str) -> None:
    """A confirmed sign-up waiting for the organizer, as the join page leaves it."""
    community = service.load(config)
    with open_store(community.database) as store, store.transaction():
        store.signups.add(
            Signup(
                id=signup_id,
                email=email,
                name=name,
                calendar=calendar,
                timezone="Europe/Paris",
                topics=("python",),
                team=None,
                frequency="weekly",
                state=SignupState.PENDING,
                created_at=NOW - dt.timedelta(hours=2),
                confirmed_at=NOW - dt.timedelta(hours=1),
            )
        )


# --- getting in --------------------------------------------------------------------------------


def test_without_a_password_the_page_is_switched_off(config: Path) -> None:
    with serving(config, now=NOW, admin_password=None) as site:
        visitor = site.visitor()
        response = visitor.get("/admin")
        assert response.status_code == 404
        assert "switched off" in response.text
        assert visitor.post("/admin/login", {"password": ""}, csrf=False).status_code == 404


def test_the_wrong_password_is_refused_and_sets_no_cookie(site: Site) -> None:
    visitor = site.visitor()
    page = visitor.get("/admin")
    assert page.status_code == 200 and 'type="password"' in page.text
    response = visitor.post("/admin/login", {"password": ADMIN_PASSWORD + "!"})
    assert response.status_code == 403
    assert "not the password" in response.text
    assert "calroulette_admin" not in visitor.session.cookies
    assert visitor.get("/admin").text.count('type="password"') == 1


def test_logging_in_without_the_form_token_is_refused(site: Site) -> None:
    visitor = site.visitor()
    visitor.get("/admin")
    response = visitor.post("/admin/login", {"password": ADMIN_PASSWORD}, csrf=False)
    assert response.status_code == 403
    assert "calroulette_admin" not in visitor.session.cookies


def test_password_guesses_are_rate_limited_per_client(config: Path) -> None:
    limits = dict(LIMITS, **{"admin-login": Limit(3, dt.timedelta(minutes=15))})
    with serving(config, now=NOW, limiter=RateLimiter(limits)) as site:
        visitor = site.visitor()
        visitor.get("/admin")
        for _ in range(3):
            assert visitor.post("/admin/login", {"password": "guess"}).status_code == 403
        visitor.get("/admin")
        refused = visitor.post("/admin/login", {"password": ADMIN_PASSWORD})
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == str(15 * 60)
        assert "calroulette_admin" not in visitor.session.cookies
        site.clock.advance(minutes=16)
        visitor.get("/admin")
        assert visitor.post("/admin/login", {"password": ADMIN_PASSWORD}).status_code == 200


def test_the_session_cookie_is_httponly_strict_and_only_for_admin(site: Site) -> None:
    visitor = site.visitor()
    visitor.get("/admin")
    response = visitor.post("/admin/login", {"password": ADMIN_PASSWORD}, allow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("calroulette_admin=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/admin", "max-age=43200"} <= flags
    assert "secure" not in flags  # served over http on loopback
    assert ADMIN_PASSWORD not in cookie
    visitor = site.visitor()
    visitor.get("/admin")  # its form cookie set over http, so that it is sent back
    site.app.state.https = True  # the same app behind https: the cookie is Secure
    response = visitor.post("/admin/login", {"password": ADMIN_PASSWORD}, allow_redirects=False)
    assert "secure" in {p.strip().lower() for p in response.headers["set-cookie"].split(";")}


def test_a_session_ends_after_twelve_hours_and_at_logout(site: Site) -> None:
    visitor = logged_in(site)
    site.clock.advance(hours=11)
    assert "Log out" in visitor.get("/admin").text
    site.clock.advance(hours=2)
    assert 'type="password"' in visitor.get("/admin").text
    visitor = logged_in(site)
    response = visitor.post("/admin/logout")
    assert response.status_code == 200 and 'type="password"' in response.text
    assert "logged out" in response.text
    assert 'type="password"' in visitor.get("/admin").text


def test_a_forged_cookie_is_no_session(site: Site) -> None:
    visitor = site.visitor()
    visitor.session.cookies.set("calroulette_admin", "eyJzIjoiYWRtaW4ifQ.forged", path="/admin")
    assert 'type="password"' in visitor.get("/admin").text


# --- the overview --------------------------------------------------------------------------------


def test_the_overview_shows_the_rounds_messages_calendars_and_signups(
    config: Path, site: Site
) -> None:
    """Next week's round sent (every message listed by name and status), this week's none;
    the calendars as that round read them; a pending sign-up, its name escaped and its
    calendar address never shown."""
    community = service.load(config)
    service.match(community, WEEK, now=NOW)
    service.send(community, WEEK, now=NOW)
    add_signup(config, "s-1", f"Zed {XSS}", SECRET_FEED, "zed@example.org")
    page = logged_in(site).get("/admin").text
    assert "This week: 2026-W48" in page and "No round planned yet." in page
    assert "Next week: 2026-W49" in page and "Round sent:" in page
    state = service.admin_overview(config, now=NOW).next_week
    assert state.deliveries.total > 0 and state.deliveries.sent == state.deliveries.total
    assert f"{state.deliveries.sent} of {state.deliveries.total} sent" in page
    assert "Grace Hopper" in page and "invitation" in page
    assert "As the round of 2026-W49 read them" in page
    assert "read, with free time" in page
    assert "Zed &lt;script&gt;alert(1)&lt;/script&gt;" in page and XSS not in page
    assert "zed@example.org" in page
    assert "private-7d6c5b4a3f2e" not in page and SECRET_FEED not in page
    assert "https://calendar.example.org/…/basic.ics" in page
    assert "/admin/signups/s-1/approve" in page and "/admin/signups/s-1/reject" in page
    for member in community.members:  # nobody's calendar address either
        assert member.calendar not in page


def test_approve_and_reject_decide_a_signup(config: Path, site: Site) -> None:
    calendar = str(ROOT / "demo" / "calendars" / "ada.ics")
    add_signup(config, "s-ok", "Zoe Ok", calendar, "zoe@example.org")
    add_signup(config, "s-no", "Yan No", calendar, "yan@example.org")
    visitor = logged_in(site)
    response = visitor.post("/admin/signups/s-ok/approve")
    assert response.status_code == 200 and "approved" in response.text
    assert service.load(config).member("zoe@example.org") is not None
    response = visitor.post("/admin/signups/s-no/reject")
    assert response.status_code == 200 and "rejected" in response.text
    assert service.load(config).member("yan@example.org") is None
    community = service.load(config)
    with open_store(community.database, readonly=True) as store:
        assert store.signups.list(SignupState.PENDING) == []
    assert "Nobody is waiting." in visitor.get("/admin").text


def test_deciding_needs_a_session_and_the_form_token(config: Path, site: Site) -> None:
    add_signup(config, "s-1", "Zed", str(ROOT / "demo" / "calendars" / "ada.ics"), "z@x.org")
    stranger = site.visitor()
    stranger.get("/admin")
    assert stranger.post("/admin/signups/s-1/approve").status_code == 403
    visitor = logged_in(site)
    assert visitor.post("/admin/signups/s-1/approve", csrf=False).status_code == 403
    assert service.load(config).member("z@x.org") is None


def test_check_now_reads_every_calendar_on_demand(config: Path, site: Site) -> None:
    visitor = logged_in(site)
    page = visitor.get("/admin").text
    assert "No round has read them yet" in page
    response = visitor.post("/admin/check")
    assert response.status_code == 200
    assert "Read just now for 2026-W49" in response.text
    for member in service.load(config).members:
        assert member.email in response.text
        assert member.calendar not in response.text
