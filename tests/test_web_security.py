"""The member pages are public and fetch addresses strangers type: every point of the issue's
security list, against the app served by uvicorn on loopback.

- CSRF: every form route (enumerated from the app, so a new one is covered) refuses a POST
  without the field, with another visitor's field, or from another site; only RFC 8058's
  one-click unsubscribe takes none.
- Headers on every page; cookies HttpOnly, SameSite=Strict, and Secure on an https site.
- Bodies over 32 KiB refused; forged, expired, replaced and cross-purpose tokens refused.
- Rate limits per client and per email, with Retry-After.
- The preview's fetch goes through the address guard: loopback, private, link-local and
  metadata addresses, a name resolving to loopback, and a redirect to each, are refused with a
  message on the page.
- A name or topics that are markup are shown as text on every page and in every email.
"""

from __future__ import annotations

import datetime as dt
import email
import re
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import uvicorn
from pytest_httpserver import HTTPServer

from calroulette.config import load_community
from calroulette.service.web import WebSettings
from calroulette.store import open_store
from calroulette.tokens import Purpose, sign
from calroulette.web.app import create_app
from calroulette.web.security import CSP, LIMITS, Limit, RateLimiter

from .support import write_demo_config
from .support.feeds import ICS, RawServer
from .support.web import ADMIN_PASSWORD, SECRET_KEY, Site, free_socket, links_in, serving

pytestmark = pytest.mark.slow

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)  # a Tuesday; next week is 2026-W49
FEED = "/calendar/ical/zed.example.org/private-5e3c1d2a/basic.ics"
XSS = "<script>alert(1)</script>"
CSRF_REFUSED = "did not come from this site"
ORIGIN_REFUSED = "sent from another site"


# --- the community --------------------------------------------------------------------------------


def _demo(tmp_path: Path, *, private_feeds: bool) -> Path:
    """The demo members.toml without its [web] table (``serving`` writes one), and with
    ``allow_private_feeds`` as asked (the test's feed server is on loopback)."""
    config = write_demo_config(tmp_path)
    text = re.sub(r"(?ms)^\[web\][^\n]*\n.*?(?=^\[)", "", config.read_text(encoding="utf-8"))
    if private_feeds:
        text = text.replace("[community]\n", "[community]\nallow_private_feeds = true\n", 1)
    config.write_text(text, encoding="utf-8")
    return config


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The signing key and the organizer's password, as `serve` finds them (the emails the
    service sends sign their links with the key from the environment)."""
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("CALROULETTE_ADMIN_PASSWORD", ADMIN_PASSWORD)


@pytest.fixture
def feed(httpserver: HTTPServer) -> str:
    """A calendar with a weekly free Tuesday afternoon, on a real HTTP server."""
    httpserver.expect_request(FEED).respond_with_data(ICS, content_type="text/calendar")
    return httpserver.url_for(FEED)


@pytest.fixture
def site(tmp_path: Path, env: None) -> Iterator[Site]:
    with serving(_demo(tmp_path, private_feeds=True), now=NOW) as site:
        yield site


def _token(purpose: Purpose, subject: str, *, key: str = SECRET_KEY, **kwargs: Any) -> str:
    return sign(key, purpose, subject, now=kwargs.pop("now", NOW), **kwargs)


def _outbox(config: Path, to: str) -> list[EmailMessage]:
    """The emails written for ``to`` (the demo community's delivery is "outbox"), oldest first."""
    found = []
    for path in sorted(
        (config.parent / "outbox").rglob("*.eml"), key=lambda p: p.stat().st_mtime_ns
    ):
        message = email.message_from_bytes(path.read_bytes(), policy=default)
        assert isinstance(message, EmailMessage)
        if to in str(message["To"]).lower():
            found.append(message)
    return found


def _bodies(message: EmailMessage) -> dict[str, str]:
    """Each text part of ``message`` by its type (the last of a type wins)."""
    out = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            out[part.get_content_type()] = part.get_content()
    return out


def _join_form(feed: str, **changes: str) -> dict[str, str]:
    return {
        "name": "Zed Shaw",
        "email": "zed@example.org",
        "calendar": feed,
        "timezone": "Europe/Lisbon",
        "topics": "",
        "team": "",
        "frequency": "weekly",
        "action": "preview",
        **changes,
    }


def _sign_up(site: Site, feed: str, **changes: str) -> str:
    """Sign up through the form; the confirmation link from the email."""
    visitor = site.visitor()
    assert visitor.get("/join").status_code == 200
    form = _join_form(feed, action="join", **changes)
    response = visitor.post("/join", form)
    assert response.status_code == 200, response.text
    messages = _outbox(site.config, form["email"])
    assert messages, "no confirmation email in the outbox"
    links = [
        u for u in links_in(_bodies(messages[-1]).get("text/plain", "")) if "/join/confirm/" in u
    ]
    assert links, _bodies(messages[-1])
    return links[0]


def _members(config: Path) -> dict[str, Any]:
    return {m.email: m for m in load_community(config).members}


# --- CSRF on every form ---------------------------------------------------------------------------


def _post_routes(site: Site) -> list[str]:
    paths = []
    for route in site.app.routes:
        methods = getattr(route, "methods", None) or set()
        if "POST" in methods:
            paths.append(route.path)
    return paths


# Who each /me/ route acts for: each its own member, so one route's work does not undo
# another's (the demo's members).
ACTING = {
    "/me/{token}/pause": "ada@example.org",
    "/me/{token}/skip": "grace@example.org",
    "/me/{token}/resume": "alan@example.org",
    "/me/{token}/settings": "katherine@example.org",
    "/me/{token}/calendar": "edsger@example.org",
    "/me/{token}/leave": "margaret@example.org",
    "/unsubscribe/{token}": "linus@example.org",
    "/unsubscribe/{token}/confirm": "radia@example.org",
}
# The order routes are tried in (login before what needs it, logout last); others after.
ORDER = ["/admin/login", "/admin/signups/{signup}/approve", "/admin/signups/{signup}/reject"]
LAST = ["/admin/logout"]


def _form_for(path: str, site: Site, feed: str, confirm: str) -> tuple[str, dict[str, str]]:
    """The address and a well-filled form for POST route ``path`` (a new route makes the test
    fail here: teach it the route's fields)."""
    if path in ACTING:
        purpose = Purpose.UNSUBSCRIBE if path.startswith("/unsubscribe/") else Purpose.MANAGE
        address = path.replace("{token}", _token(purpose, ACTING[path]))
    elif path == "/join/confirm/{token}":
        address = confirm
    elif path.startswith("/cant/"):  # a meeting that does not exist: refused after the check
        address = path.replace("{token}", _token(Purpose.CANT, "ada@example.org nope@x"))
    elif path == "/met/{token}/{answer}":
        address = f"/met/{_token(Purpose.MET, 'ada@example.org nope@x')}/yes"
    else:
        address = path.replace("{signup}", "1")
    fields = {
        "/join": _join_form(feed),
        "/join/confirm/{token}": {},
        "/link": {"email": "ada@example.org"},
        "/me/{token}/pause": {"until": "2027-01-10"},
        "/me/{token}/skip": {},
        "/me/{token}/resume": {},
        "/me/{token}/settings": {
            "name": "Katherine J.",
            "timezone": "America/Chicago",
            "frequency": "weekly",
            "topics": "",
            "unsubscribe": "pause",
        },
        "/me/{token}/calendar": {"calendar": feed, "action": "preview"},
        "/me/{token}/leave": {"confirm": "yes"},
        "/unsubscribe/{token}": {"List-Unsubscribe": "One-Click"},
        "/unsubscribe/{token}/confirm": {},
        "/admin/login": {"password": ADMIN_PASSWORD},
        "/admin/logout": {},
        "/admin/check": {},
        "/admin/signups/{signup}/approve": {},
        "/admin/signups/{signup}/reject": {},
        "/cant/{token}/move": {"start": "2027-01-05T15:00:00Z"},
        "/cant/{token}/cancel": {},
        "/met/{token}/{answer}": {},
    }
    assert path in fields, f"POST {path}: a form route this test does not know; add its fields"
    return address, fields[path]


def test_every_form_refuses_a_post_without_its_csrf_field_or_from_another_site(
    site: Site, feed: str
) -> None:
    confirm = _sign_up(site, feed, email="csrf@example.org")
    routes = _post_routes(site)
    assert {"/join", "/link", "/me/{token}/leave", "/admin/login"} <= set(routes), routes
    ordered = (
        [p for p in ORDER if p in routes]
        + [p for p in routes if p not in ORDER and p not in LAST]
        + [p for p in LAST if p in routes]
    )
    before = site.config.read_text(encoding="utf-8")
    # another visitor's page: its field is good, for its own cookie only
    stranger = site.visitor()
    stranger.get("/join")
    foreign = re.search(r'name="csrf" value="([^"]+)"', stranger.page)
    assert foreign
    visitor = site.visitor()
    exempt = []
    for path in ordered:
        address, fields = _form_for(path, site, feed, confirm)
        visitor.get("/join")
        without = visitor.post(address, fields, csrf=False)
        if path == "/unsubscribe/{token}" and without.status_code == 200:
            exempt.append(path)  # RFC 8058: the token authorises, no cookie is sent
            before = site.config.read_text(encoding="utf-8")
            continue
        assert without.status_code == 403, (path, without.status_code)
        assert CSRF_REFUSED in without.text, path
        visitor.get("/join")
        crossed = visitor.post(address, {**fields, "csrf": foreign.group(1)})
        assert crossed.status_code == 403 and CSRF_REFUSED in crossed.text, path
        visitor.get("/join")
        elsewhere = visitor.post(address, fields, headers={"Origin": "https://evil.example"})
        assert elsewhere.status_code == 403 and ORIGIN_REFUSED in elsewhere.text, path
        # none of the refused ones did anything
        assert site.config.read_text(encoding="utf-8") == before, path
        # the control: the same form, filled in on this site, gets past the check
        visitor.get("/join")
        done = visitor.post(address, fields)
        assert done.status_code != 403 or CSRF_REFUSED not in done.text, path
        assert done.status_code < 500, (path, done.status_code)
        before = site.config.read_text(encoding="utf-8")
    assert exempt == ["/unsubscribe/{token}"]


def test_the_one_click_post_needs_no_cookie_but_a_good_token(site: Site) -> None:
    token = _token(Purpose.UNSUBSCRIBE, "ada@example.org")
    body = {"List-Unsubscribe": "One-Click"}
    forged = requests.post(
        site.url(f"/unsubscribe/{_token(Purpose.UNSUBSCRIBE, 'ada@example.org', key='z' * 40)}"),
        data=body,
        timeout=30,
    )
    assert forged.status_code == 403
    ada = _members(site.config)["ada@example.org"]
    assert not ada.paused and ada.paused_until is None
    done = requests.post(site.url(f"/unsubscribe/{token}"), data=body, timeout=30)
    assert done.status_code == 200
    ada = _members(site.config).get("ada@example.org")
    assert ada is None or ada.paused or ada.paused_until is not None  # paused (the default)


# --- headers, cookies, bodies ---------------------------------------------------------------------


def _pages(site: Site, confirm: str) -> list[str]:
    manage = _token(Purpose.MANAGE, "ada@example.org")
    unsubscribe = _token(Purpose.UNSUBSCRIBE, "ada@example.org")
    return [
        "/",
        "/join",
        "/link",
        "/admin",
        f"/me/{manage}",
        f"/unsubscribe/{unsubscribe}",
        confirm.removeprefix(site.base_url),
        "/static/style.css",
        "/static/zone.js",
        "/no/such/page",
        f"/me/{unsubscribe}",  # refused: a token of another purpose
    ]


def test_every_page_has_the_strict_headers(site: Site, feed: str) -> None:
    confirm = _sign_up(site, feed)
    for path in _pages(site, confirm):
        response = requests.get(site.url(path), timeout=30)
        headers = response.headers
        assert response.status_code in (200, 403, 404), (path, response.status_code)
        assert headers["content-security-policy"] == CSP, path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["referrer-policy"] == "no-referrer", path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["cache-control"] == "no-store", path
        assert "strict-transport-security" not in headers  # http: only an https site says it


def test_a_request_for_another_host_name_is_refused(site: Site) -> None:
    """A name pointed at this server by someone else (DNS rebinding) gets no page."""
    response = requests.get(site.url("/join"), headers={"Host": "evil.example"}, timeout=30)
    assert response.status_code == 400
    assert "set-cookie" not in response.headers
    assert requests.get(site.url("/join"), timeout=30).status_code == 200


def test_the_content_security_policy_allows_nothing_from_elsewhere() -> None:
    rules = dict(rule.strip().split(" ", 1) for rule in CSP.split(";"))
    assert rules["default-src"] == "'none'"
    assert rules["frame-ancestors"] == "'none'"
    assert rules["base-uri"] == "'none'"
    assert rules["form-action"] == "'self'"
    for name, sources in rules.items():
        assert set(sources.split()) <= {"'self'", "'none'"}, (name, sources)
    assert "unsafe" not in CSP and "data:" not in CSP and "*" not in CSP


def test_pages_use_no_inline_script_style_or_third_party_address(site: Site, feed: str) -> None:
    confirm = _sign_up(site, feed)
    for path in _pages(site, confirm):
        response = requests.get(site.url(path), timeout=30)
        if not response.headers["content-type"].startswith("text/html"):
            continue
        html = response.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", html), path
        assert " style=" not in html and "<style" not in html, path
        assert not re.search(r"\son[a-z]+=", html), path  # onclick= … are inline scripts
        for address in re.findall(r'(?:src|href|action)="([^"]*)"', html):
            assert not address.startswith(("http:", "https:", "//")), (path, address)


def test_the_csrf_cookie_is_httponly_strict_and_not_secure_on_http(site: Site) -> None:
    response = requests.get(site.url("/link"), timeout=30)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("calroulette_csrf=")
    parts = {p.strip().lower() for p in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/"} <= parts
    assert "secure" not in parts  # a browser would not send it back over http


def test_on_an_https_site_the_cookie_is_secure_and_hsts_is_sent(tmp_path: Path, env: None) -> None:
    """create_app with an https base_url, driven by uvicorn and requests (a proxy would have
    ended TLS before it): the Set-Cookie header says Secure."""
    config = _demo(tmp_path, private_feeds=False)
    text = config.read_text(encoding="utf-8")
    config.write_text('[web]\nbase_url = "https://coffee.example.org"\nsignup = "open"\n\n' + text)
    settings = WebSettings(
        config, load_community(config), SECRET_KEY, None, "https://coffee.example.org"
    )
    sock = free_socket()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, clock=lambda: NOW), log_level="warning", lifespan="off")
    )
    server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.02)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        response = requests.get(base + "/link", timeout=30)
        # a POST from the https site itself is not refused for its origin
        cookie = response.headers["set-cookie"]
        same = requests.post(
            base + "/link",
            data={"csrf": "x"},
            headers={"Origin": "https://coffee.example.org"},
            timeout=30,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    parts = {p.strip().lower() for p in cookie.split(";")}
    assert {"httponly", "samesite=strict", "secure"} <= parts
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert same.status_code == 403 and ORIGIN_REFUSED not in same.text  # the field, not the site


def test_a_body_over_32_kib_is_refused(site: Site, feed: str) -> None:
    visitor = site.visitor()
    visitor.get("/join")
    big = visitor.post("/join", _join_form(feed, topics="x" * (33 * 1024)))
    assert big.status_code == 413
    visitor.get("/join")
    fits = visitor.post("/join", _join_form(feed, topics="x" * (20 * 1024)))
    assert fits.status_code != 413


def test_a_body_over_32_kib_without_a_length_is_refused_too(site: Site, feed: str) -> None:
    """Chunked, the body has no Content-Length to refuse it by: it is still bounded."""
    visitor = site.visitor()
    visitor.get("/join")
    csrf = re.search(r'name="csrf" value="([^"]+)"', visitor.page)
    assert csrf
    fields = {**_join_form(feed), "csrf": csrf.group(1)}
    body = "&".join(f"{k}={quote(v)}" for k, v in fields.items())

    def chunks() -> Iterator[bytes]:
        yield body.encode()
        for _ in range(40):
            yield b"&topics=" + b"y" * 2048

    response = visitor.session.post(
        site.url("/join"),
        data=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert response.status_code in (400, 411, 413), response.status_code


# --- tokens ---------------------------------------------------------------------------------------


def _bad_tokens(purpose: Purpose, subject: str) -> dict[str, tuple[str, int]]:
    """Tokens that must not work for ``purpose``, and the status each gets."""
    other = Purpose.MANAGE if purpose is not Purpose.MANAGE else Purpose.UNSUBSCRIBE
    age = purpose.max_age + dt.timedelta(minutes=1)
    good = _token(purpose, subject)
    return {
        "forged": (_token(purpose, subject, key="f" * 40), 403),
        "other purpose": (_token(other, subject), 403),
        "admin cookie": (_token(Purpose.ADMIN, subject), 403),
        "tampered": (good[:-2] + ("AA" if not good.endswith("AA") else "BB"), 403),
        "garbage": ("not-a-token", 403),
        "expired": (_token(purpose, subject, now=NOW - age), 410),
        "future": (_token(purpose, subject, now=NOW + dt.timedelta(hours=1)), 403),
    }


@pytest.mark.parametrize(
    ("purpose", "path"),
    [
        (Purpose.MANAGE, "/me/{}"),
        (Purpose.UNSUBSCRIBE, "/unsubscribe/{}"),
        (Purpose.CONFIRM, "/join/confirm/{}"),
    ],
)
def test_forged_expired_and_cross_purpose_tokens_are_refused(
    site: Site, feed: str, purpose: Purpose, path: str
) -> None:
    if purpose is Purpose.CONFIRM:
        good = _sign_up(site, feed).rsplit("/", 1)[1]
        with open_store(site.config.parent / "calroulette.sqlite") as store:
            subject = str(store.signups.list()[0].id)
    else:
        subject, good = "ada@example.org", _token(purpose, "ada@example.org")
    visitor = site.visitor()
    assert visitor.get(path.format(good)).status_code == 200
    for what, (token, status) in _bad_tokens(purpose, subject).items():
        response = visitor.get(path.format(token))
        assert response.status_code == status, (what, response.status_code)
        if status == 410:  # what to do instead: ask for a new link, or sign up again
            advice = "sign up again" if purpose is Purpose.CONFIRM else "/link"
            assert advice in response.text.lower(), what
        assert "Traceback" not in response.text and token not in response.text, what


def test_a_replaced_link_is_refused_and_the_new_one_works(site: Site) -> None:
    """Asking for a new link (/link) revokes the old one, manage and unsubscribe alike."""
    old_manage = _token(Purpose.MANAGE, "ada@example.org")
    old_unsubscribe = _token(Purpose.UNSUBSCRIBE, "ada@example.org")
    visitor = site.visitor()
    assert visitor.get(f"/me/{old_manage}").status_code == 200
    visitor.get("/link")
    assert visitor.post("/link", {"email": "ada@example.org"}).status_code == 200
    links = links_in(_bodies(_outbox(site.config, "ada@example.org")[-1]).get("text/plain", ""))
    fresh = [u for u in links if "/me/" in u]
    assert fresh, links
    assert visitor.get(f"/me/{old_manage}").status_code == 410
    assert visitor.get(f"/unsubscribe/{old_unsubscribe}").status_code == 410
    one_click = requests.post(
        site.url(f"/unsubscribe/{old_unsubscribe}"),
        data={"List-Unsubscribe": "One-Click"},
        timeout=30,
    )
    assert one_click.status_code == 410
    assert visitor.get(fresh[0]).status_code == 200
    assert "ada@example.org" in _members(site.config)


def test_the_link_page_says_the_same_for_a_member_and_a_stranger(site: Site) -> None:
    visitor = site.visitor()
    visitor.get("/link")
    member = visitor.post("/link", {"email": "ada@example.org"})
    visitor.get("/link")
    stranger = visitor.post("/link", {"email": "nobody@example.org"})
    assert member.status_code == stranger.status_code == 200

    def words(html: str) -> str:
        return re.sub(r'name="csrf" value="[^"]+"', "", html)

    assert words(member.text) == words(stranger.text)
    assert _outbox(site.config, "nobody@example.org") == []
    assert len(_outbox(site.config, "ada@example.org")) == 1


# --- rate limits ----------------------------------------------------------------------------------


def _small_limits(**counts: int) -> RateLimiter:
    limits = {name: Limit(100, limit.per) for name, limit in LIMITS.items()}
    for name, count in counts.items():
        limits[name.replace("_", "-")] = Limit(count, dt.timedelta(hours=1))
    return RateLimiter(limits)


def _limited(response: requests.Response) -> bool:
    return response.status_code == 429 and response.headers.get("retry-after") == "3600"


def test_previews_are_limited_per_client(tmp_path: Path, env: None, feed: str) -> None:
    config = _demo(tmp_path, private_feeds=True)
    with serving(config, now=NOW, limiter=_small_limits(preview=2)) as site:
        visitor = site.visitor()
        codes = []
        for _ in range(3):
            visitor.get("/join")
            codes.append(visitor.post("/join", _join_form(feed)))
        assert [r.status_code for r in codes[:2]] == [200, 200]
        assert _limited(codes[2]), codes[2].status_code
        assert "Too many tries" in codes[2].text
        # the limit is the client's: another browser on the same address is limited too
        other = site.visitor()
        other.get("/join")
        assert _limited(other.post("/join", _join_form(feed, email="other@example.org")))
        site.clock.advance(hours=1, seconds=1)
        other.get("/join")
        assert other.post("/join", _join_form(feed)).status_code == 200


def test_sign_ups_are_limited_per_email_and_per_client(
    tmp_path: Path, env: None, feed: str
) -> None:
    config = _demo(tmp_path, private_feeds=True)
    with serving(config, now=NOW, limiter=_small_limits(signup=3, signup_email=1)) as site:
        visitor = site.visitor()

        def join(address: str) -> requests.Response:
            visitor.get("/join")
            return visitor.post("/join", _join_form(feed, email=address, action="join"))

        assert join("zed@example.org").status_code == 200
        assert _limited(join("ZED@example.org "))  # the same address, written otherwise
        assert join("yan@example.org").status_code == 200
        assert _limited(join("xia@example.org"))  # the client's third sign-up: over
        assert len(_outbox(config, "zed@example.org")) == 1
        assert _outbox(config, "xia@example.org") == []


def test_link_requests_are_limited_per_email_and_per_client(tmp_path: Path, env: None) -> None:
    config = _demo(tmp_path, private_feeds=False)
    with serving(config, now=NOW, limiter=_small_limits(link=3, link_email=1)) as site:
        visitor = site.visitor()

        def ask(address: str) -> requests.Response:
            visitor.get("/link")
            return visitor.post("/link", {"email": address})

        assert ask("ada@example.org").status_code == 200
        assert _limited(ask("ada@example.org"))
        assert ask("grace@example.org").status_code == 200
        assert _limited(ask("alan@example.org"))
        assert len(_outbox(config, "ada@example.org")) == 1
        assert _outbox(config, "alan@example.org") == []


def test_admin_logins_are_limited(tmp_path: Path, env: None) -> None:
    config = _demo(tmp_path, private_feeds=False)
    with serving(config, now=NOW, limiter=_small_limits(admin_login=2)) as site:
        visitor = site.visitor()
        codes = []
        for _ in range(3):
            visitor.get("/admin")
            codes.append(visitor.post("/admin/login", {"password": "wrong"}))
        assert [r.status_code for r in codes[:2]] != [429, 429]
        assert _limited(codes[2])
        visitor.get("/admin")
        assert _limited(visitor.post("/admin/login", {"password": ADMIN_PASSWORD}))


# --- the address guard ----------------------------------------------------------------------------


@pytest.fixture
def guarded(tmp_path: Path, env: None) -> Iterator[Site]:
    """The demo community as it ships: private feeds not allowed."""
    with serving(_demo(tmp_path, private_feeds=False), now=NOW) as site:
        yield site


def _preview(site: Site, calendar: str) -> requests.Response:
    visitor = site.visitor()
    visitor.get("/join")
    return visitor.post("/join", _join_form(calendar))


REFUSED = {
    "http://127.0.0.1:{port}" + FEED: "a loopback address",
    "http://localhost:{port}" + FEED: "a loopback address",  # a name resolving to loopback
    "http://[::1]:{port}" + FEED: "a loopback address",
    "http://10.0.0.1" + FEED: "a private network address",
    "http://169.254.169.254/latest/meta-data": "a cloud metadata address",
}


@pytest.mark.parametrize(("address", "what"), list(REFUSED.items()))
def test_a_preview_of_a_private_address_is_refused_without_connecting(
    guarded: Site, httpserver: HTTPServer, address: str, what: str
) -> None:
    httpserver.expect_request(FEED).respond_with_data(ICS, content_type="text/calendar")
    url = address.format(port=httpserver.port)
    response = _preview(guarded, url)
    assert response.status_code == 200
    assert what in response.text, response.text[-3000:]
    assert "private-5e3c1d2a" not in response.text and "meta-data" not in response.text
    assert httpserver.log == []  # the guard refused before connecting


def _redirector(target: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", target)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return handle


@pytest.mark.parametrize(
    ("target", "what"),
    [
        ("http://127.0.0.1:9/private-9f8e7d6c5b/cal.ics", "a loopback address"),
        ("http://10.0.0.1/private-9f8e7d6c5b/cal.ics", "a private network address"),
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("http://[::1]:9/private-9f8e7d6c5b/cal.ics", "a loopback address"),
    ],
)
def test_a_preview_redirected_to_a_private_address_is_refused(
    guarded: Site,
    raw_server: Callable[..., RawServer],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    what: str,
) -> None:
    """A public-looking address whose server redirects inward. The member's server is reached
    through a proxy (on loopback: the organizer's choice, as in test_hostile_feeds), so no
    public address is needed; the redirect's target is checked before the proxy is asked."""
    member_url = "http://calendar.example/ical/private-0a1b2c3d4e/basic.ics"
    proxy = raw_server({member_url: _redirector(target)})
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", proxy.url(""))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # the test's own requests to the site
    response = _preview(guarded, member_url)
    assert response.status_code == 200
    assert what in response.text, response.text[-3000:]
    assert "redirected to" in response.text
    for secret in ("private-0a1b2c3d4e", "private-9f8e7d6c5b", "meta-data"):
        assert secret not in response.text


def test_a_preview_of_a_private_address_is_fetched_when_the_organizer_allows_it(
    site: Site, feed: str
) -> None:
    """The control: the same loopback server, allowed, gives a week grid."""
    response = _preview(site, feed)
    assert response.status_code == 200
    assert "loopback address" not in response.text
    assert "private-5e3c1d2a" not in response.text


# --- markup in names and topics -------------------------------------------------------------------


def test_a_name_that_is_markup_is_shown_as_text_everywhere(
    tmp_path: Path, env: None, feed: str
) -> None:
    """Preview, confirmation, the organizer's list of sign-ups, the member's page, and every
    email's HTML part show ``<script>`` as text."""
    config = _demo(tmp_path, private_feeds=True)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    shown: dict[str, str] = {}
    with serving(config, now=NOW, signup="approve") as site:
        visitor = site.visitor()
        visitor.get("/join")
        form = _join_form(feed, name=XSS, topics=f"{XSS}, python", email="xss@example.org")
        shown["preview"] = visitor.post("/join", form).text
        shown["joined"] = visitor.post("/join", {**form, "action": "join"}).text
        message = _outbox(config, "xss@example.org")[-1]
        confirm = [u for u in links_in(_bodies(message)["text/plain"]) if "/join/confirm/" in u]
        shown["confirm"] = visitor.get(confirm[0]).text
        shown["confirmed"] = visitor.post(confirm[0]).text
        admin = site.visitor()
        admin.get("/admin")
        admin.post("/admin/login", {"password": ADMIN_PASSWORD})
        shown["admin"] = admin.get("/admin").text
        ids = re.findall(r'action="/admin/signups/([^/"]+)/approve"', shown["admin"])
        assert ids, "the organizer's page lists no pending sign-up to approve"
        admin.post(f"/admin/signups/{ids[0]}/approve")
        assert "xss@example.org" in _members(config)
        manage = _token(Purpose.MANAGE, "xss@example.org")
        shown["manage"] = visitor.get(f"/me/{manage}").text
    for page, html in shown.items():
        assert XSS not in html, page
        assert "<script>alert" not in html, page
    for page in ("preview", "confirm", "admin", "manage"):
        assert escaped in shown[page] or escaped.replace("&lt;", "&#60;") in shown[page], page
    messages = _outbox(config, "xss@example.org")
    assert len(messages) >= 2  # the confirmation and the welcome
    for message in messages:
        assert XSS not in str(message["Subject"])
        part = _bodies(message).get("text/html")
        if part is not None:
            assert XSS not in part and "<script" not in part
