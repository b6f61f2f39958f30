"""Secret calendar addresses never leak: every command, run against a community whose addresses
contain a marker, must not show the marker anywhere (stdout, stderr, the log file, tracebacks)
nor write it to any file (cache, database, outbox, HTML …).

The commands are enumerated from the typer app, so a new command is covered without editing this
file; its arguments are made up from their names (see ``VALUES``).
"""

from __future__ import annotations

import email
import socket
import traceback
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner, Result

from calroulette.cli import app
from calroulette.feeds import FetchLimits
from calroulette.redact import SecretFilter

from .support.cli import commands
from .support.feeds import ICS_LF, cached_rows

MARKER = "zq7secretmarker9x"
runner = CliRunner()
# Every fetch, preview's too (it has no members.toml), fails fast: one retry, no back-off.
FAST = FetchLimits(read_timeout=1.0, deadline=2.0, retries=1, backoff_factor=0.0)


COMMANDS = commands()


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


# An argument names someone who exists (``members pause EMAIL``); an option may add someone new.
ARGUMENT_VALUES = {"email": "bob@example.org"}


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
    assert leaks + _written_leaks(_written(tmp_path, before, config)) == []


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
