"""The member pages served for real: uvicorn on a loopback port, in a thread, with a clock and a
rate limiter the test controls; and a :class:`Visitor` (a requests session) that fills in forms
as a browser would, CSRF field included."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from html import unescape
from pathlib import Path
from typing import Any

import requests
import uvicorn

from calroulette.config import load_community
from calroulette.service.web import WebSettings
from calroulette.web.app import create_app
from calroulette.web.security import RateLimiter

SECRET_KEY = "test-signing-key-" + "x" * 32
ADMIN_PASSWORD = "correct horse battery staple"


class Clock:
    """A clock the test moves: ``clock.now`` is what the app sees."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class Site:
    base_url: str
    config: Path
    clock: Clock
    app: Any
    log: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def visitor(self) -> Visitor:
        return Visitor(self)


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def set_base_url(config: Path, base_url: str, signup: str = "open") -> None:
    """Give members.toml a ``[web]`` table (replacing one it has) pointing at ``base_url``."""
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^\[web\][^\n]*\n.*?(?=^\[|\Z)", "", text)
    text = f'[web]\nbase_url = "{base_url}"\nsignup = "{signup}"\n\n' + text
    # TOML: a table must come after the top-level keys; members.toml has none, so first is fine
    config.write_text(text, encoding="utf-8")


@contextmanager
def serving(
    config: Path,
    *,
    now: dt.datetime | None = None,
    signup: str = "open",
    admin_password: str | None = ADMIN_PASSWORD,
    sending: Any = None,
    limiter: RateLimiter | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> Iterator[Site]:
    """Serve ``config`` on a free loopback port until the block ends. members.toml gets a
    ``[web]`` table with that address as ``base_url`` (links in emails point at this server)."""
    sock = free_socket()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    set_base_url(config, base_url, signup)
    the_clock = Clock(now or dt.datetime.now(dt.UTC))
    settings = WebSettings(config, load_community(config), SECRET_KEY, admin_password, base_url)
    app = create_app(
        settings, clock=clock or the_clock, sending=sending, limiter=limiter or RateLimiter()
    )
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield Site(base_url, config, the_clock, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Visitor:
    """One browser: its own cookies; forms are sent with the CSRF field of the page they were
    on, as a browser sends them."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.session = requests.Session()
        self.page = ""

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        response = self.session.get(self._url(path), timeout=60, **kwargs)
        self.page = response.text
        return response

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> requests.Response:
        """POST ``data`` with the CSRF field from the last page fetched (``csrf=False``: none)."""
        fields = dict(data or {})
        if csrf:
            found = _CSRF.search(self.page)
            assert found, "the last page has no form with a CSRF field"
            fields.setdefault("csrf", unescape(found.group(1)))
        response = self.session.post(self._url(path), data=fields, timeout=60, **kwargs)
        self.page = response.text
        return response

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.site.url(path)


def links_in(text: str) -> list[str]:
    """Every http(s) address in ``text`` (an email body)."""
    return re.findall(r"https?://[^\s<>\"')]+", text)


def signed_link(config: Path, who: str, purpose: Any, *, key: str, now: dt.datetime) -> str:
    """A token for ``who`` and ``purpose`` as calroulette signs it: with the member's current
    link version from the history database beside ``config``."""
    from calroulette.store import open_store
    from calroulette.tokens import sign

    database = config.parent / "calroulette.sqlite"
    version = 0
    if database.exists():
        with open_store(database, readonly=True) as store:
            version = store.links.version(who)
    return str(sign(key, purpose, who, now=now, version=version))


def planned_and_sent(config: Path, now: dt.datetime) -> None:
    """Next week's round planned and sent, as `match` and `send` do."""
    from calroulette import service

    community = service.load(config)
    service.match(community, now=now)
    service.send(community, now=now)


def outbox(config: Path) -> dict[str, EmailMessage]:
    """Every email in the outbox beside ``config``, by file name."""
    return {
        p.name: email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted((config.parent / "outbox").rglob("*.eml"))
    }


def plain_text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())
