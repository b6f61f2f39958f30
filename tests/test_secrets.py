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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from calroulette.cli import app
from calroulette.feeds import FetchLimits

from .test_feeds import ICS_LF
from .test_feeds_cache import cached_rows

MARKER = "zq7secretmarker9x"
runner = CliRunner()
FAST = FetchLimits(read_timeout=1.0, deadline=2.0, retries=1, backoff_factor=0.0)


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    # Duck-typed: typer vendors its own copy of click, so click's classes do not match.
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


COMMANDS = list(_commands(typer.main.get_command(app)))


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


def test_commands_are_enumerated_from_the_app() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"check", "slots"} <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_no_command_shows_or_writes_a_secret_address(
    path: tuple[str, ...],
    command: Any,
    community: tuple[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, working_url, failing_url = community
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CALROULETTE_NOW", "2026-11-24T12:00:00Z")
    monkeypatch.setenv("CALROULETTE_CONFIG", str(config))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr("calroulette.feeds.fetch.DEFAULT_LIMITS", FAST)
    log_file = tmp_path / "calroulette.log"
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    invocations = _invocations(path, command, _values(tmp_path, config, working_url))
    invocations += [
        args
        for args in _invocations(path, command, _values(tmp_path, config, failing_url))
        if args not in invocations
    ]
    ran = []
    # A planned round first, so that commands acting on one (send, cancel …) have it.
    for args in [["match", "--week", "2026-W49"], *invocations]:
        result = runner.invoke(app, ["-vv", "--log-file", str(log_file), *args])
        ran.append(result.exit_code)
        where = f"calroulette {' '.join(args)} (exit {result.exit_code})"
        assert not _leaks(result.stdout), f"{where}: stdout shows the secret"
        assert not _leaks(result.stderr), f"{where}: stderr shows the secret"
        if result.exc_info is not None and not isinstance(result.exception, SystemExit):
            tb = "".join(traceback.format_exception(*result.exc_info))
            assert not _leaks(tb), f"{where}: the traceback shows the secret"
    # Each command must have got past its arguments at least once (exit 0 or 1, not a usage
    # error), or this test proves nothing about it: then teach VALUES its parameters.
    assert {0, 1} & set(ran[1:]), f"{' '.join(path)} never ran: exit codes {ran[1:]}"
    written = [
        p
        for p in tmp_path.rglob("*")
        if p.is_file() and p != config and before.get(p) != p.stat().st_mtime_ns
    ]
    for path_written in written:
        assert not _leaks(str(path_written)), f"a file name holds the secret: {path_written}"
        assert not _file_leaks(path_written), f"{path_written} holds the secret"


def test_the_marker_test_would_notice_a_leak(
    community: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The servers and the marker are real: fetching shows up in the cache (so files are looked
    at), and the log at -vv is not empty (so the log is looked at)."""
    config, _, _ = community
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CALROULETTE_NOW", "2026-11-24T12:00:00Z")
    monkeypatch.setattr("calroulette.feeds.fetch.DEFAULT_LIMITS", FAST)
    log_file = tmp_path / "calroulette.log"
    result = runner.invoke(app, ["-vv", "--log-file", str(log_file), "check", "-c", str(config)])
    assert result.exit_code == 1
    assert "HTTP 404 from http://localhost:" in result.stdout
    assert MARKER in config.read_text()
    assert len(cached_rows(tmp_path / "cache")) == 2  # ada and bob
    log = log_file.read_text(encoding="utf-8")
    assert "urllib3" in log and '"GET ' in log, log  # request lines are logged, masked
    assert not _leaks(log)
