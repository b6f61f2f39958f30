"""A sign-up confirmed on the web while the organizer runs ``calroulette members add``, and while
``check`` and ``run`` read members.toml over and over: both new members are there, every
comment is kept, and members.toml parses at every moment in between.

The overlap is made certain, not hoped for: the test holds members.toml's lock (as an editor
would) until both the web request and ``members add`` are seen waiting for it in /proc/locks.
"""

from __future__ import annotations

import datetime as dt
import email
import os
import re
import subprocess
import sys
import threading
import time
import tomllib
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer

from calroulette.config import load_community
from calroulette.config.roster import NewMember, Roster

from .support import ROOT, write_demo_config
from .support.feeds import ICS
from .support.web import SECRET_KEY, Site, links_in, serving

pytestmark = pytest.mark.slow

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
FEED = "/calendar/ical/{}.example.org/private-77aa88bb/basic.ics"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo community (its comments are what must survive), private feeds allowed: the
    new members' calendars are on a loopback server."""
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)
    config = write_demo_config(tmp_path)
    text = re.sub(r"(?ms)^\[web\][^\n]*\n.*?(?=^\[)", "", config.read_text(encoding="utf-8"))
    text = text.replace("[community]\n", "[community]\nallow_private_feeds = true\n", 1)
    config.write_text(text, encoding="utf-8")
    return config


@pytest.fixture
def feed(httpserver: HTTPServer) -> str:
    httpserver.expect_request(re.compile(r"/calendar/ical/.*")).respond_with_data(
        ICS, content_type="text/calendar"
    )
    return httpserver.url_for(FEED)


def _comments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if "#" in line]


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CALROULETTE_CONFIG", None)
    env.update(CALROULETTE_NOW=NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), HOME=str(tmp_path / "home"))
    return env


def _calroulette(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "calroulette", *args],
        env=_env(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _members_add(tmp_path: Path, config: Path, name: str) -> subprocess.Popen[str]:
    calendar = ROOT / "demo" / "calendars" / "ada.ics"
    return _calroulette(
        tmp_path,
        "members",
        "add",
        "--name",
        name.title(),
        "--email",
        f"{name}@example.org",
        "--timezone",
        "Europe/Paris",
        "--calendar",
        str(calendar),
        "--force",
        "--config",
        str(config),
    )


def _confirm_link(site: Site, feed_url: str, name: str) -> str:
    """Sign ``name`` up through the form; the link in their confirmation email."""
    visitor = site.visitor()
    visitor.get("/join")
    response = visitor.post(
        "/join",
        {
            "name": name.title(),
            "email": f"{name}@example.org",
            "calendar": feed_url,
            "timezone": "Europe/Lisbon",
            "topics": "",
            "team": "",
            "frequency": "weekly",
            "action": "join",
        },
    )
    assert response.status_code == 200, response.text
    for path in (site.config.parent / "outbox").rglob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=default)
        assert isinstance(message, EmailMessage)
        if f"{name}@example.org" in str(message["To"]):
            body = message.get_body(("plain",))
            assert body is not None
            links = [u for u in links_in(body.get_content()) if "/join/confirm/" in u]
            if links:
                return links[0]
    raise AssertionError(f"no confirmation email for {name}")


def _confirm(site: Site, link: str) -> requests.Response:
    visitor = site.visitor()
    assert visitor.get(link).status_code == 200
    return visitor.post(link)


class Readers:
    """While the storm lasts: members.toml loaded and parsed in a loop in this process, and
    ``calroulette check`` then ``run`` then ``check`` … in subprocesses."""

    def __init__(self, tmp_path: Path, config: Path) -> None:
        self.tmp_path = tmp_path
        self.config = config
        self.stop = threading.Event()
        self.loads = 0
        self.problems: list[str] = []
        self.commands: list[tuple[str, int, str]] = []
        self.threads = [
            threading.Thread(target=self._load, daemon=True),
            threading.Thread(target=self._commands, daemon=True),
        ]

    def __enter__(self) -> Readers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def _load(self) -> None:
        while not self.stop.is_set():
            try:
                text = self.config.read_text(encoding="utf-8")
                tomllib.loads(text)
                load_community(self.config)
                self.loads += 1
            except Exception as error:  # noqa: BLE001 - recorded, asserted by the test
                self.problems.append(repr(error))
            time.sleep(0.005)

    def _commands(self) -> None:
        names = ["check", "run", "check"]
        n = 0
        while not self.stop.is_set() or n < 2:
            name = names[n % len(names)]
            process = _calroulette(self.tmp_path, name, "--config", str(self.config))
            _, err = process.communicate(timeout=180)
            self.commands.append((name, process.returncode, err))
            n += 1


def _waiting(lock: Path) -> int:
    """How many processes or threads wait for ``lock`` (Linux's /proc/locks), or -1."""
    try:
        table = Path("/proc/locks").read_text()
    except OSError:
        return -1
    inode = lock.stat().st_ino
    return sum(1 for line in table.splitlines() if "->" in line and f":{inode} " in line)


def _held_until_both_wait(lock: Path, waiters: int, *alive: object) -> bool:
    """Wait (at most 60 s) until ``waiters`` are queued on ``lock``; False when /proc/locks
    cannot tell (then a few seconds' wait is the best there is)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        count = _waiting(lock)
        if count < 0:
            time.sleep(3)
            return False
        if count >= waiters:
            return True
        time.sleep(0.05)
    raise AssertionError(f"only {_waiting(lock)} of {waiters} edits ever waited for the lock")


def test_a_web_sign_up_and_members_add_wait_for_each_other_and_lose_nothing(
    tmp_path: Path, config: Path, feed: str
) -> None:
    original = config.read_text(encoding="utf-8")
    lock = config.with_name("members.toml.lock")
    with serving(config, now=NOW) as site, Readers(tmp_path, config) as readers:
        link = _confirm_link(site, feed.format("zed"), "zed")
        outcome: list[requests.Response] = []
        with Roster.locked(config) as roster:  # the organizer's own edit, in progress
            web = threading.Thread(target=lambda: outcome.append(_confirm(site, link)))
            web.start()
            cli = _members_add(tmp_path, config, "orla")
            assert _held_until_both_wait(lock, 2) or (web.is_alive() and cli.poll() is None)
            assert web.is_alive() and cli.poll() is None, "an edit did not wait for the lock"
            # the site still answers while one of its requests waits for the lock
            started = time.monotonic()
            assert requests.get(site.url("/"), timeout=30).status_code == 200
            assert time.monotonic() - started < 5, "the site froze while an edit waited"
            roster.add(
                NewMember("Hand Edit", "hand@example.org", feed.format("hand"), "Europe/Rome")
            )
            roster.save()
        web.join(timeout=120)
        _, err = cli.communicate(timeout=120)
        assert cli.returncode == 0, err
        assert outcome and outcome[0].status_code == 200, outcome
    members = {m.email for m in load_community(config).members}
    assert {"zed@example.org", "orla@example.org", "hand@example.org"} <= members
    assert len(members) == 8 + 3
    text = config.read_text(encoding="utf-8")
    for comment in _comments(original):
        assert comment in text, comment
    assert readers.problems == []
    assert readers.loads > 20
    _commands_read_it(readers)


def _commands_read_it(readers: Readers) -> None:
    assert len(readers.commands) >= 2
    for name, code, err in readers.commands:
        assert code in (0, 1, 75), (name, code, err)  # 2 would be an unreadable members.toml
        assert "invalid configuration" not in err and "Traceback" not in err, (name, err)


def test_a_storm_of_web_sign_ups_and_members_adds_loses_nothing(
    tmp_path: Path, config: Path, feed: str
) -> None:
    """No lock held by the test: four confirmations and two `members add` at once."""
    original = config.read_text(encoding="utf-8")
    web_names = ["wanda", "wes", "wil", "wyn"]
    cli_names = ["cato", "cleo"]
    with serving(config, now=NOW) as site, Readers(tmp_path, config) as readers:
        links = [_confirm_link(site, feed.format(name), name) for name in web_names]
        outcomes: list[requests.Response] = []
        threads = [
            threading.Thread(target=lambda link=link: outcomes.append(_confirm(site, link)))
            for link in links
        ]
        processes = [_members_add(tmp_path, config, name) for name in cli_names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        for process in processes:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
    assert sorted(r.status_code for r in outcomes) == [200] * 4
    members = {m.email for m in load_community(config).members}
    assert {f"{n}@example.org" for n in web_names + cli_names} <= members
    assert len(members) == 8 + 6
    text = config.read_text(encoding="utf-8")
    for comment in _comments(original):
        assert comment in text, comment
    assert readers.problems == []
    _commands_read_it(readers)
