"""Secret calendar addresses never leak: every command, run against a community whose addresses
contain a marker, must not show the marker anywhere (stdout, stderr, the log file, tracebacks)
nor write it to any file (cache, database, outbox, HTML …).

The commands are enumerated from the typer app, so a new command is covered without editing this
file; its arguments are made up from their names (see ``VALUES``). ``serve`` runs until it is
stopped: it is run for real and driven through every member page by
:func:`test_the_member_pages_show_and_log_no_secret_address`, whose addresses (typed into the
sign-up form, the calendar form) hold the marker too.
"""

from __future__ import annotations

import datetime as dt
import email
import os
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner, Result

from calroulette.cli import app
from calroulette.config import load_community
from calroulette.feeds import FetchLimits
from calroulette.redact import SecretFilter

from .support.cli import commands
from .support.feeds import ICS_LF, cached_rows
from .support.web import (
    ADMIN_PASSWORD,
    SECRET_KEY,
    Clock,
    Site,
    Visitor,
    links_in,
    set_base_url,
)

MARKER = "zq7secretmarker9x"
runner = CliRunner()
# Every fetch, preview's too (it has no members.toml), fails fast: one retry, no back-off.
FAST = FetchLimits(read_timeout=1.0, deadline=2.0, retries=1, backoff_factor=0.0)


# Commands that run until stopped; each is covered by a test of its own below.
LONG_RUNNING = {("serve",): "test_the_member_pages_show_and_log_no_secret_address"}
COMMANDS = [(path, command) for path, command in commands() if path not in LONG_RUNNING]


def _values(tmp_path: Path, config: Path, calendar_url: str) -> dict[str, str]:
    """A realistic value for each parameter name a command may have (options)."""
    return {
        "config": str(config),
        "week": "2026-W49",
        "member": "ada@example.org",
        "members": "ada@example.org",
        "meeting": "ada@example.org",
        "email": "new@example.org",
        "calendar": calendar_url,
        "url": calendar_url,
        "timezone": "Europe/Berlin",
        "directory": str(tmp_path / "new-community"),
        "html_file": str(tmp_path / "overlap.html"),
        "html": str(tmp_path / "page.html"),
        "ics": str(tmp_path / "history.ics"),
        "output": str(tmp_path / "out"),
        "out": str(tmp_path / "out"),
        "seed": "7",
        "name": "Marker Test",
        "organizer": "Marker Test <marker@example.org>",
        "keyword": "free",
        "topics": "python",
        "until": "2027-01-10",
        "frequency": "weekly",
        "to": "2026-12-01T14:30Z",  # ada and bob are both free then
    }


# An argument names someone who exists (``members pause EMAIL``, ``members approve SIGNUP``);
# an option may add someone new.
ARGUMENT_VALUES = {"email": "bob@example.org", "signup": "newbie@example.org"}
# Commands about sign-ups from the web page: the community has one waiting for approval, whose
# calendar address holds the marker (the database keeps it until the sign-up is decided).
SIGNUP_COMMANDS = {("members", "pending"), ("members", "approve"), ("members", "reject")}
UNDECIDED = {("members", "pending")}  # after these the sign-up still waits


def _invocations(path: tuple[str, ...], command: Any, values: dict[str, str]) -> list[list[str]]:
    """Required parameters only; then every known one; then with --json; then with every flag."""
    required: list[str] = []
    known: list[str] = []
    flags: list[str] = []
    has_json = False
    for param in command.params:
        is_argument = param.param_type_name == "argument"
        if not is_argument and getattr(param, "is_flag", False):
            if "--json" in param.opts:
                has_json = True
            elif not getattr(param, "hidden", False) and param.opts[0] != "--help":
                flags.append(param.opts[0])
            continue
        name = param.name or ""
        value = (ARGUMENT_VALUES if is_argument else {}).get(name) or values.get(name)
        if value is None:
            if not param.required:
                continue
            value = "ada@example.org"
        words = [value] if is_argument else [param.opts[0], value]
        (required if param.required else known).extend(words)
    base = [*path, *required]
    variants = [base, [*base, *known]]
    if has_json:
        variants += [[*base, "--json"], [*base, *known, "--json"]]
    if flags:
        variants.append([*base, *flags])
    unique: list[list[str]] = []
    for variant in variants:
        if variant not in unique:
            unique.append(variant)
    return unique


@pytest.fixture
def community(tmp_path: Path, httpserver: HTTPServer) -> tuple[Path, str, str]:
    """members.toml whose addresses all contain MARKER: two good feeds and every kind of bad."""
    ok = f"/calendar/ical/ada.example.org/private-{MARKER}/basic.ics"
    httpserver.expect_request(ok).respond_with_data(ICS_LF, content_type="text/calendar")
    httpserver.expect_request(f"/bob/{MARKER}/feed.ics").respond_with_data(ICS_LF)
    httpserver.expect_request(f"/gone/{MARKER}/basic.ics").respond_with_data("", status=404)
    httpserver.expect_request(f"/down/{MARKER}/basic.ics").respond_with_data("", status=500)
    httpserver.expect_request(f"/login/{MARKER}/basic.ics").respond_with_data(
        "<!DOCTYPE html><html>Sign in</html>", content_type="text/html"
    )
    httpserver.expect_request(f"/moved/{MARKER}").respond_with_data(
        "", status=302, headers={"Location": f"/loop/{MARKER}-target/basic.ics"}
    )
    httpserver.expect_request(f"/loop/{MARKER}-target/basic.ics").respond_with_data(
        "", status=302, headers={"Location": f"/moved/{MARKER}"}
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    base = httpserver.url_for("")
    host = f"127.0.0.1:{httpserver.port}"
    calendars = {
        "ada": base + ok.lstrip("/"),
        "bob": f"{base}bob/{MARKER}/feed.ics?token={MARKER}",
        "cy": f"{base}gone/{MARKER}/basic.ics",
        "dee": f"{base}down/{MARKER}/basic.ics",
        "eve": f"{base}login/{MARKER}/basic.ics",
        "fay": f"{base}moved/{MARKER}",
        "gus": f"http://127.0.0.1:{closed_port}/{MARKER}/basic.ics",
        "hal": f"webcal://{host}/tls/{MARKER}/basic.ics",  # https to a plain-HTTP port
        "ivy": f"http://ivy:{MARKER}@{host}/gone/{MARKER}/basic.ics",
    }
    lines = [
        "[community]",
        'name = "Marker Coffee"',
        'organizer = "Marker Coffee <coffee@example.org>"',
        'timezone = "Europe/Berlin"',
        'cache_dir = "cache"',
        'database = "calroulette.sqlite"',
        "allow_private_feeds = true",
        "[delivery]",
        'method = "outbox"',
        'outbox = "outbox"',
    ]
    for name, url in calendars.items():
        lines += [
            "[[members]]",
            f'name = "{name.title()}"',
            f'email = "{name}@example.org"',
            f'calendar = "{url}"',
            'timezone = "Europe/Berlin"',
        ]
    config = tmp_path / "members.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config.chmod(0o600)
    return config, calendars["ada"], calendars["dee"]


def _leaks(text: str) -> bool:
    return MARKER in text.lower()


def _file_leaks(path: Path) -> bool:
    data = path.read_bytes()
    if MARKER.encode() in data.lower():
        return True
    if path.suffix == ".eml":  # bodies may be base64 or quoted-printable
        message = email.message_from_bytes(data)
        for part in message.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and MARKER.encode() in payload.lower():
                return True
    return False


def _shown_leaks(args: list[str], result: Result) -> list[str]:
    """Where ``calroulette args`` showed the marker: stdout, stderr, its traceback."""
    where = f"calroulette {' '.join(args)} (exit {result.exit_code})"
    found = []
    if _leaks(result.stdout):
        found.append(f"{where}: stdout shows the secret")
    if _leaks(result.stderr):
        found.append(f"{where}: stderr shows the secret")
    escaped = result.exc_info is not None and not isinstance(result.exception, SystemExit)
    if escaped and _leaks("".join(traceback.format_exception(*result.exc_info))):
        found.append(f"{where}: the traceback shows the secret")
    return found


def _mtimes(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def _written(folder: Path, before: dict[Path, int], config: Path) -> list[Path]:
    """The files under ``folder`` written since ``before`` (:func:`_mtimes`), but members.toml."""
    return [
        p
        for p in folder.rglob("*")
        if p.is_file() and p != config and before.get(p) != p.stat().st_mtime_ns
    ]


def _written_leaks(written: list[Path]) -> list[str]:
    """The files of ``written`` whose name or content holds the marker."""
    found = []
    for path in written:
        if _leaks(str(path)):
            found.append(f"a file name holds the secret: {path}")
        if _file_leaks(path):
            found.append(f"{path} holds the secret")
    return found


def _isolate(tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in tmp_path with a pinned clock, fast fetches and no folder of the real home."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CALROULETTE_NOW", "2026-11-24T12:00:00Z")
    monkeypatch.setenv("CALROULETTE_CONFIG", str(config))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(FetchLimits, "of", classmethod(lambda cls, community: FAST))


def _invoke(log_file: Path, args: list[str]) -> Result:
    return runner.invoke(app, ["-vv", "--log-file", str(log_file), *args])


def test_commands_are_enumerated_from_the_app() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"check", "slots"} <= names
    assert set(LONG_RUNNING) <= {path for path, _ in commands()}
    assert all(name in globals() for name in LONG_RUNNING.values())


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_no_command_shows_or_writes_a_secret_address(
    path: tuple[str, ...],
    command: Any,
    community: tuple[Path, str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever its arguments, a command shows the marker nowhere and writes it to no file."""
    config, working_url, failing_url = community
    _isolate(tmp_path, config, monkeypatch)
    if path in SIGNUP_COMMANDS:
        _pending_signup(config, working_url)
    log_file = tmp_path / "calroulette.log"
    before = _mtimes(tmp_path)
    invocations = _invocations(path, command, _values(tmp_path, config, working_url))
    invocations += [
        args
        for args in _invocations(path, command, _values(tmp_path, config, failing_url))
        if args not in invocations
    ]
    ran = []
    leaks = []
    # A planned round first, so that commands acting on one (send, cancel …) have it.
    for args in [["match", "--week", "2026-W49"], *invocations]:
        result = _invoke(log_file, args)
        ran.append(result.exit_code)
        leaks += _shown_leaks(args, result)
    # Each command must have got past its arguments at least once (exit 0 or 1, not a usage
    # error), or this test proves nothing about it: then teach VALUES its parameters.
    assert {0, 1} & set(ran[1:]), f"{' '.join(path)} never ran: exit codes {ran[1:]}"
    written = _written(tmp_path, before, config)
    if path in UNDECIDED:  # the sign-up still waits: the database holds its address, as it must
        written = [p for p in written if not p.name.startswith("calroulette.sqlite")]
    assert leaks + _written_leaks(written) == []


def _pending_signup(config: Path, calendar: str) -> None:
    """A sign-up from the web page, confirmed, waiting for the organizer's approval (members.toml
    has no [web] table: ``signup = "approve"``), made by the service as the page makes it."""
    from calroulette import service
    from calroulette.service.signupform import SignupForm
    from calroulette.store import open_store
    from calroulette.tokens import Purpose, sign

    now = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
    form = SignupForm("New Person", "newbie@example.org", calendar, "Europe/Berlin", "python")
    base_url = "https://coffee.example.org"
    service.signup(config, form, now=now, base_url=base_url, key=SECRET_KEY)
    with open_store(config.parent / "calroulette.sqlite") as store:
        (waiting,) = store.signups.list()
    token = sign(SECRET_KEY, Purpose.CONFIRM, waiting.id, now=now)
    confirmed = service.signup_confirm(config, token, now=now, key=SECRET_KEY)
    assert confirmed.state.value == "pending", confirmed


def test_the_marker_test_looks_where_a_leak_would_show(
    community: tuple[Path, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The servers and the marker are real: a command reaches them (a 404 is reported, two
    feeds are cached), and the files it writes, the -vv log among them, are looked at."""
    config, _, _ = community
    _isolate(tmp_path, config, monkeypatch)
    log_file = tmp_path / "calroulette.log"
    before = _mtimes(tmp_path)
    result = _invoke(log_file, ["check"])
    assert result.exit_code == 1
    assert "HTTP 404 from http://localhost:" in result.stdout
    assert MARKER in config.read_text()
    assert len(cached_rows(tmp_path / "cache")) == 2  # ada and bob
    log = log_file.read_text(encoding="utf-8")
    assert "urllib3" in log and '"GET ' in log, log  # request lines are logged, masked
    written = _written(tmp_path, before, config)
    assert {log_file, tmp_path / "cache" / "feeds.sqlite"} <= set(written)
    assert _shown_leaks(["check"], result) == []
    assert _written_leaks(written) == []


def test_a_log_line_the_secret_filter_no_longer_masks_is_noticed(
    community: tuple[Path, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A regression that lets log records through unmasked (urllib3 logs each request's path)
    is reported in the log file, by the check the command test makes."""
    config, _, _ = community
    _isolate(tmp_path, config, monkeypatch)
    monkeypatch.setattr(SecretFilter, "filter", lambda self, record: True)
    log_file = tmp_path / "calroulette.log"
    before = _mtimes(tmp_path)
    result = _invoke(log_file, ["check"])
    assert result.exit_code == 1
    assert f"{log_file} holds the secret" in _written_leaks(_written(tmp_path, before, config))


def test_an_error_message_that_shows_the_whole_address_is_noticed(
    community: tuple[Path, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A regression that names a failing feed by its address, not its redacted form, is
    reported on stdout, by the check the command test makes."""
    config, _, _ = community
    _isolate(tmp_path, config, monkeypatch)
    monkeypatch.setattr("calroulette.feeds.fetch.redact_url", lambda source: source)
    result = _invoke(tmp_path / "calroulette.log", ["check"])
    assert result.exit_code == 1
    assert f"/gone/{MARKER}/basic.ics" in result.stdout
    leaks = _shown_leaks(["check"], result)
    assert leaks == ["calroulette check (exit 1): stdout shows the secret"]


def test_a_traceback_that_quotes_the_address_is_noticed(
    community: tuple[Path, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug that escapes with the address in its message (as requests' errors hold it) is
    reported in the traceback, by the check the command test makes."""
    config, working_url, _ = community
    _isolate(tmp_path, config, monkeypatch)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"Max retries exceeded with url: {working_url}")

    monkeypatch.setattr("calroulette.service.health.check", broken)
    result = _invoke(tmp_path / "calroulette.log", ["check"])
    assert isinstance(result.exception, RuntimeError)
    assert "calroulette check (exit 1): the traceback shows the secret" in _shown_leaks(
        ["check"], result
    )


def test_an_email_body_that_holds_the_address_only_in_base64_is_noticed(tmp_path: Path) -> None:
    """An invitation whose body quotes the address is reported even when the body is base64,
    where the file's bytes do not hold the marker."""
    before = _mtimes(tmp_path)
    message = EmailMessage()
    message["Subject"] = "Coffee"
    url = f"https://calendar.example/private-{MARKER}/basic.ics"
    message.set_content(f"Your calendar: {url}", cte="base64")
    eml = tmp_path / "outbox" / "invite.eml"
    eml.parent.mkdir()
    eml.write_bytes(bytes(message))
    assert MARKER.encode() not in eml.read_bytes()
    written = _written(tmp_path, before, tmp_path / "members.toml")
    assert _written_leaks(written) == [f"{eml} holds the secret"]


# --- the member pages ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _serve(tmp_path: Path, config: Path, port: int, log_file: Path) -> Iterator[list[str]]:
    """`calroulette -vv --log-file … serve` for real, until the block ends; then what it
    wrote on stderr is in the list yielded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALROULETTE_")}
    env.update(
        CALROULETTE_SECRET_KEY=SECRET_KEY,
        CALROULETTE_ADMIN_PASSWORD=ADMIN_PASSWORD,
        HOME=str(tmp_path / "home"),
        XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
        PYTHONUNBUFFERED="1",
    )
    args = ["-vv", "--log-file", str(log_file), "serve", "--config", str(config)]
    process = subprocess.Popen(
        [sys.executable, "-m", "calroulette", *args, "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    pytest.fail("calroulette serve did not start: " + process.communicate()[1])
                time.sleep(0.1)
        yield stderr
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
        stderr += [out, err]


class _Recorder:
    """Every response the visitor got: its status, headers and body, looked at afterwards."""

    def __init__(self, visitor: Visitor) -> None:
        self.visitor = visitor
        self.seen: list[tuple[str, requests.Response]] = []

    def get(self, path: str) -> requests.Response:
        response = self.visitor.get(path)
        self.seen.append((f"GET {path}", response))
        return response

    def post(self, path: str, data: dict[str, str] | None = None) -> requests.Response:
        response = self.visitor.post(path, data)
        self.seen.append((f"POST {path}", response))
        return response

    def leaks(self) -> list[str]:
        found = []
        for what, response in self.seen:
            responses = [*response.history, response]
            for one in responses:
                headers = "\n".join(f"{k}: {v}" for k, v in one.headers.items())
                if _leaks(headers):
                    found.append(f"{what}: a response header shows the secret")
                if _leaks(one.text):
                    found.append(f"{what}: the page shows the secret")
        return found


def _messages(outbox: Path, to: str) -> list[EmailMessage]:
    found = []
    for path in sorted(outbox.rglob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        if to in str(message["To"]):
            found.append(message)
    return found


def _link_in(message: EmailMessage, part: str) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = [u for u in links_in(body.get_content()) if part in u]
    assert found, f"no {part} link in {message['Subject']!r}"
    return found[0]


@pytest.mark.slow
def test_the_member_pages_show_and_log_no_secret_address(
    community: tuple[Path, str, str], httpserver: HTTPServer, tmp_path: Path
) -> None:
    """`calroulette serve` run for real; a person signs up, previews (a good address and
    failing ones), confirms, opens their page, previews and saves a new address, changes
    settings, pauses, asks for a new link, unsubscribes; the organizer opens /admin. No page,
    header, log line (the -vv log file and stderr) or written file shows the marker."""
    config, _, _ = community
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[community]\n", "[community]\nfetch_retries = 0\n", 1))
    httpserver.expect_request(f"/new/{MARKER}/basic.ics").respond_with_data(
        ICS_LF, content_type="text/calendar"
    )
    base_feed = httpserver.url_for("")
    good = f"{base_feed}new/{MARKER}/basic.ics?key={MARKER}"
    failing = [
        f"{base_feed}gone/{MARKER}/basic.ics",  # 404
        f"{base_feed}login/{MARKER}/basic.ics",  # a sign-in page, not a calendar
        f"http://user:{MARKER}@127.0.0.1:{_free_port()}/{MARKER}/basic.ics",  # refused
        f"webcal://{MARKER}.invalid/basic.ics",  # no such host
        f"not an address {MARKER}",  # a typo is still the person's secret
    ]
    port = _free_port()
    set_base_url(config, f"http://127.0.0.1:{port}", "open")
    log_file = tmp_path / "serve.log"
    before = _mtimes(tmp_path)
    with _serve(tmp_path, config, port, log_file) as stderr:
        site = Site(f"http://127.0.0.1:{port}", config, Clock(dt.datetime.now(dt.UTC)), None)
        person = _Recorder(site.visitor())
        form = {
            "name": "New Person",
            "email": "newbie@example.org",
            "timezone": "Europe/Berlin",
            "topics": "python",
            "team": "",
            "frequency": "weekly",
        }
        person.get("/")
        person.get("/join")
        previewed = person.post("/join", {**form, "calendar": good, "action": "preview"})
        assert previewed.status_code == 200
        for address in failing:
            person.get("/join")
            refused = person.post("/join", {**form, "calendar": address, "action": "preview"})
            assert refused.status_code in (200, 400), address
        assert "404" in "".join(r.text for _, r in person.seen), "no error was shown"
        person.get("/join")
        assert person.post("/join", {**form, "calendar": good, "action": "join"}).ok
        outbox = config.parent / "outbox"
        confirm = _link_in(_messages(outbox, "newbie@example.org")[-1], "/join/confirm/")
        person.get(confirm)
        assert person.post(confirm).ok
        joined = load_community(config).member("newbie@example.org")
        assert joined is not None and joined.calendar == good
        manage = _link_in(_messages(outbox, "newbie@example.org")[-1], "/me/")
        path = manage.removeprefix(site.base_url)
        person.get(path)
        person.post(f"{path}/calendar", {"calendar": failing[0], "action": "preview"})
        person.get(path)
        person.post(f"{path}/calendar", {"calendar": good + "&v=2", "action": "preview"})
        person.get(path)
        person.post(f"{path}/calendar", {"calendar": good + "&v=2", "action": "save"})
        person.get(path)
        person.post(
            f"{path}/settings",
            {"name": "New P.", "timezone": "Europe/Paris", "frequency": "weekly", "topics": ""},
        )
        person.get(path)
        person.post(f"{path}/pause", {"until": ""})
        person.get("/link")
        person.post("/link", {"email": "newbie@example.org"})
        unsubscribe = manage.replace("/me/", "/unsubscribe/")  # wrong purpose: refused
        person.get(unsubscribe.removeprefix(site.base_url))
        organizer = _Recorder(site.visitor())
        organizer.get("/admin")
        organizer.post("/admin/login", {"password": ADMIN_PASSWORD})
        organizer.get("/admin")
    member = load_community(config).member("newbie@example.org")
    assert member is not None and member.calendar == good + "&v=2" and member.paused
    fetched = [request.path for request, _ in httpserver.log]
    assert f"/new/{MARKER}/basic.ics" in fetched and f"/gone/{MARKER}/basic.ics" in fetched
    logged = log_file.read_text(encoding="utf-8")
    assert "GET /me/… 200" in logged and "POST /join 200" in logged, logged[-2000:]
    leaks = person.leaks() + organizer.leaks()
    if _leaks("".join(stderr)):
        leaks.append("calroulette serve: stderr shows the secret")
    # The history database holds an undecided sign-up's address until it is decided (that is
    # its job); every other file written, the log file and the emails among them, must not.
    written = [
        p for p in _written(tmp_path, before, config) if not p.name.startswith("calroulette.sqlite")
    ]
    assert log_file in written and any(p.suffix == ".eml" for p in written)
    assert leaks + _written_leaks(written) == []
