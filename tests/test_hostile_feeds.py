"""Hostile feeds cost only their own member: a server that trickles its headers or redirects to
nonsense, calendars whose reading never ends (an event every second, a time zone changing every
minute, rules no date matches) and calendars that crashed the parser, all in one community with
healthy members, through the real `check` and `run`. And the address guard: a member's address,
or a redirect from their server, cannot make this machine fetch from itself, a private network
or a cloud metadata service unless the organizer allows it.

The work is bounded by the community's own settings, shrunk (``fetch_timeout = 2``: the
deadline of one feed, and the CPU time reading one may take), never by wall-clock asserts."""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calroulette.availability import FreeTimeReader
from calroulette.availability.reader import ReadLimits
from calroulette.cli import app
from calroulette.errors import FeedError
from calroulette.feeds import ErrorKind, Feed, FetchError, FetchLimits, fetch_feeds

from .support.calendars import FREE_TUESDAYS
from .support.feeds import (
    FAST,
    ICS,
    NOW,
    WEEK,
    RawServer,
    community_of,
    error_of,
    secret_path,
    serve_ics,
)

runner = CliRunner()


def _calendar(*events: str, zones: str = "") -> bytes:
    """A VCALENDAR with a free Tuesday (like FREE_TUESDAYS) and ``events``."""
    free = (
        "BEGIN:VEVENT\nUID:free-tuesdays@test\nDTSTAMP:20261101T000000Z\n"
        "DTSTART:20261103T090000Z\nDTEND:20261103T103000Z\nRRULE:FREQ=WEEKLY\n"
        "SUMMARY:Free for coffee\nEND:VEVENT\n"
    )
    text = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//hostile//EN\n" + zones + free
    text += "".join(events) + "END:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


def _busy(uid: str, *lines: str, summary: str = "Busy") -> str:
    return (
        f"BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20261101T000000Z\n"
        + "".join(f"{line}\n" for line in lines)
        + f"SUMMARY:{summary}\nEND:VEVENT\n"
    )


# One busy event every second, with no end: 190 s and 3.7 GB before the bound.
SECONDLY = _calendar(
    _busy(
        "secondly@test", "DTSTART:20261101T000000Z", "DTEND:20261101T000001Z", "RRULE:FREQ=SECONDLY"
    )
)
# A time zone whose parts repeat every minute, used by a busy event.
MINUTELY_ZONE = _calendar(
    _busy(
        "zoned@test",
        "DTSTART;TZID=Custom/Minutely:20261201T120000",
        "DTEND;TZID=Custom/Minutely:20261201T130000",
    ),
    zones=(
        "BEGIN:VTIMEZONE\nTZID:Custom/Minutely\n"
        "BEGIN:STANDARD\nDTSTART:19700101T000000\nRRULE:FREQ=MINUTELY\n"
        "TZOFFSETFROM:+0100\nTZOFFSETTO:+0000\nTZNAME:A\nEND:STANDARD\n"
        "BEGIN:DAYLIGHT\nDTSTART:19700101T000030\nRRULE:FREQ=MINUTELY\n"
        "TZOFFSETFROM:+0000\nTZOFFSETTO:+0100\nTZNAME:B\nEND:DAYLIGHT\n"
        "END:VTIMEZONE\n"
    ),
)
# Twenty rules no date matches (30 February): each searched to the end of the calendar.
IMPOSSIBLE = _calendar(
    *(
        _busy(
            f"never-{i}@test",
            "DTSTART:20261101T080000Z",
            "DTEND:20261101T090000Z",
            "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        )
        for i in range(20)
    )
)
# The parse crashes issue 15 lists.
TWO_STARTS = _calendar(
    _busy(
        "two-starts@test",
        "DTSTART:20261201T120000Z",
        "DTSTART:20261201T130000Z",
        "DTEND:20261201T140000Z",
    )
)
TWO_ENDS = _calendar(
    _busy(
        "two-ends@test",
        "DTSTART:20261201T120000Z",
        "DTEND:20261201T130000Z",
        "DTEND:20261201T140000Z",
    )
)
TIME_ONLY_COPY = _calendar(
    _busy("copied@test", "DTSTART:20261201T140000Z", "DTEND:20261201T150000Z"),
    _busy("copied@test", "DTSTART;VALUE=TIME:140000", summary="Busy (copy)"),
)
BACKWARDS_PERIOD = _calendar(
    _busy("series@test", "DTSTART:20261124T100000Z", "DTEND:20261124T110000Z"),
    _busy(
        "series@test",
        "DTSTART:20261125T100000Z",
        "DTEND:20261125T110000Z",
        "RDATE;VALUE=PERIOD:20261201T160000Z/20261201T150000Z",
        summary="Busy (moved)",
    ),
)
FILES = {
    "sec": SECONDLY,
    "zone": MINUTELY_ZONE,
    "never": IMPOSSIBLE,
    "starts": TWO_STARTS,
    "ends": TWO_ENDS,
    "copy": TIME_ONLY_COPY,
    "period": BACKWARDS_PERIOD,
}


def header_trickle(handler: BaseHTTPRequestHandler) -> None:
    """The status line and headers one byte at a time, every 0.2 s: never idle for as long as
    a read timeout, so only a deadline over the whole response stops it."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nX-Padding: " + b"x" * 500
    for byte in head:
        if handler.stop.wait(0.2):  # type: ignore[attr-defined]
            return
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()


def invalid_location(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(302)
    handler.send_header("Location", "http://[::1")
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def _config(tmp_path: Path, calendars: dict[str, str]) -> Path:
    lines = [
        "[community]",
        'name = "Hostile Coffee"',
        'organizer = "Hostile Coffee <coffee@example.org>"',
        'timezone = "UTC"',
        f'cache_dir = "{tmp_path / "cache"}"',
        f'database = "{tmp_path / "history.sqlite"}"',
        "min_notice_hours = 0",
        "fetch_timeout = 2  # one feed's deadline, and the CPU time reading one may take",
        "fetch_retries = 0",
        "allow_private_feeds = true  # the test servers are on loopback",
        "[delivery]",
        'method = "outbox"',
        f'outbox = "{tmp_path / "outbox"}"',
    ]
    for name, calendar in calendars.items():
        lines += [
            "[[members]]",
            f'name = "{name.title()}"',
            f'email = "{name}@example.org"',
            f'calendar = "{calendar}"',
            'timezone = "UTC"',
        ]
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "members.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def _files(folder: Path, bodies: dict[str, bytes]) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in bodies.items():
        (folder / f"{name}.ics").write_bytes(body)
    return {name: str(folder / f"{name}.ics") for name in bodies}


def _check(config: Path) -> dict[str, dict[str, object]]:
    result = runner.invoke(app, ["check", "--json", "-c", str(config), "--week", str(WEEK)])
    assert result.exit_code in (0, 1), result.output
    rows = json.loads(result.stdout)["members"]
    return {row["member"]: row for row in rows}


@pytest.mark.slow
def test_hostile_feeds_cost_only_their_own_member_in_check_and_run(
    tmp_path: Path, raw_server: Callable[..., RawServer], now_env: str
) -> None:
    server = raw_server({"/trickle.ics": header_trickle, "/moved.ics": invalid_location})
    healthy = _files(tmp_path / "healthy", {"ada": FREE_TUESDAYS, "bob": FREE_TUESDAYS})
    hostile = {
        **_files(tmp_path / "hostile", FILES),
        "slow": server.url("/trickle.ics"),
        "moved": server.url("/moved.ics"),
    }
    alone = _check(_config(tmp_path / "alone", healthy))
    config = _config(tmp_path / "together", {**healthy, **hostile})

    rows = _check(config)
    assert set(rows) == {f"{name}@example.org" for name in {**healthy, **hostile}}
    for email in ("ada@example.org", "bob@example.org"):
        unchanged = {k: v for k, v in alone[email].items() if k != "feed_age_hours"}
        assert {k: v for k, v in rows[email].items() if k != "feed_age_hours"} == unchanged
        assert rows[email]["status"] == "ok"
    assert "took longer than 2 s" in str(rows["slow@example.org"]["message"])
    assert rows["slow@example.org"]["kind"] == "timeout"
    assert "redirected to something that is not an address" in str(
        rows["moved@example.org"]["message"]
    )
    for name in ("sec", "zone", "never"):
        message = str(rows[f"{name}@example.org"]["message"])
        assert rows[f"{name}@example.org"]["status"] == "error", message
        assert "took more than 2 s of computing" in message or "of memory" in message, message
    for name in ("starts", "ends", "copy", "period"):  # read, or refused: never a crash
        assert rows[f"{name}@example.org"]["status"] in ("ok", "warn", "error")
    for row in rows.values():
        assert "\n" not in f"{row['message']} {row['fix']}"

    result = runner.invoke(app, ["run", "-c", str(config), "--week", str(WEEK)])
    assert result.exit_code == 0, result.output
    assert "Ada" in result.stdout and "Bob" in result.stdout
    meetings = runner.invoke(app, ["match", "--json", "-c", str(config), "--week", str(WEEK)])
    planned = json.loads(meetings.stdout)
    pairs = [sorted(m["members"]) for m in planned["meetings"]]
    assert ["ada@example.org", "bob@example.org"] in pairs
    left_out = {u["member"] for u in planned["unmatched"]}
    for name in ("slow", "moved", "sec", "zone", "never"):
        assert f"{name}@example.org" in left_out


# --- the bounds, one at a time -------------------------------------------------------------------


def _read_one(tmp_path: Path, body: bytes, limits: ReadLimits) -> dict[str, object]:
    bodies: dict[str, bytes | FeedError] = {
        "ada@example.org": FREE_TUESDAYS,
        "eve@example.org": body,
    }
    community = community_of(tmp_path, {"ada": "ada.ics", "eve": "eve.ics"})
    with FreeTimeReader(community, WEEK, limits=limits) as reader:
        return dict(reader.compute(bodies))


@pytest.mark.slow
def test_an_event_every_second_stops_at_the_cpu_bound_and_the_others_are_read(
    tmp_path: Path,
) -> None:
    results = _read_one(tmp_path, SECONDLY, ReadLimits(cpu_seconds=1.0))
    error = results["eve@example.org"]
    assert isinstance(error, FeedError)
    assert error.member == "eve@example.org"
    assert "took more than 1 s of computing" in error.message
    assert not isinstance(results["ada@example.org"], FeedError)


@pytest.mark.slow
def test_an_event_every_second_stops_at_the_memory_bound(tmp_path: Path) -> None:
    """With a worker of 400 MB and all the CPU time it wants, memory runs out first."""
    limits = ReadLimits(cpu_seconds=600.0, memory_bytes=400 * 1024**2)
    results = _read_one(tmp_path, SECONDLY, limits)
    error = results["eve@example.org"]
    assert isinstance(error, FeedError)
    # Said by the reader ("needed more than 400 MB of memory"), by the expansion naming the
    # event (MemoryError), or by the reader when the worker died of it.
    assert "memory" in error.message.lower() or "stopped the worker process" in error.message
    assert not isinstance(results["ada@example.org"], FeedError)


def test_a_parser_crash_is_that_members_error(tmp_path: Path) -> None:
    """Whatever reading one feed raises, it is that member's error and never the run's."""
    results = _read_one(tmp_path, TWO_STARTS, ReadLimits())
    assert not isinstance(results["ada@example.org"], FeedError)
    outcome = results["eve@example.org"]
    assert not isinstance(outcome, FeedError) or outcome.member == "eve@example.org"


# --- one deadline per feed -------------------------------------------------------------------


@pytest.mark.slow
def test_headers_trickled_a_byte_at_a_time_stop_at_the_feeds_deadline(
    tmp_path: Path, raw_server: Callable[..., RawServer]
) -> None:
    """The read timeout (0.5 s) never expires: a byte comes every 0.2 s. The deadline does."""
    server = raw_server({"/slow.ics": header_trickle})
    error = error_of(
        fetch_feeds(_one(tmp_path, server.url("/slow.ics")), now=NOW, limits=FAST)[
            "ada@example.org"
        ]
    )
    assert error.kind is ErrorKind.TIMEOUT
    assert error.what.startswith("took longer than 1 s to download from http://127.0.0.1:")


def test_a_redirect_to_something_that_is_not_an_address_is_one_line(
    tmp_path: Path, raw_server: Callable[..., RawServer]
) -> None:
    server = raw_server({"/moved.ics": invalid_location})
    error = error_of(
        fetch_feeds(_one(tmp_path, server.url("/moved.ics")), now=NOW, limits=FAST)[
            "ada@example.org"
        ]
    )
    assert error.kind is ErrorKind.REDIRECTS
    assert "[::1" not in str(error)


def _one(tmp_path: Path, url: str, **settings: object) -> object:
    return community_of(tmp_path, {"ada": url}, **settings)


# --- the address guard ---------------------------------------------------------------------------


def _fetch(tmp_path: Path, url: str, *, allow: bool) -> Feed | FetchError:
    community = community_of(tmp_path, {"ada": url}, allow_private_feeds=allow)
    return fetch_feeds(community, now=NOW, limits=FetchLimits(retries=0, deadline=2.0))[
        "ada@example.org"
    ]


REFUSED = {
    "http://127.0.0.1:{port}/": "a loopback address",
    "http://localhost:{port}/": "a loopback address",  # a name resolving to loopback
    "http://[::1]:{port}/": "a loopback address",
    "http://10.1.2.3:{port}/": "a private network address",
    "http://169.254.169.254/": "a cloud metadata address",
    "http://[fd00:ec2::254]/": "a cloud metadata address",
    "http://[::ffff:127.0.0.1]:{port}/": "a loopback address",
    "http://0.0.0.0:{port}/": "an unspecified address",
}


@pytest.mark.parametrize(("address", "what"), list(REFUSED.items()))
def test_private_addresses_are_refused_without_connecting(
    tmp_path: Path, raw_server: Callable[..., RawServer], address: str, what: str
) -> None:
    server = raw_server({f"{secret_path('ada')}": serve_ics})
    port = server.server.server_port
    url = address.format(port=port) + secret_path("ada").lstrip("/")
    error = error_of(_fetch(tmp_path, url, allow=False))
    assert error.kind is ErrorKind.CONNECTION
    assert error.what.endswith(f" is {what}: not fetched")
    assert "allow_private_feeds = true" in error.fix


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_private_addresses_are_fetched_when_the_organizer_allows_them(
    tmp_path: Path, raw_server: Callable[..., RawServer], host: str
) -> None:
    server = raw_server({f"{secret_path('ada')}": serve_ics})
    url = f"http://{host}:{server.server.server_port}{secret_path('ada')}"
    feed = _fetch(tmp_path, url, allow=True)
    assert isinstance(feed, Feed) and feed.body == ICS


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
        ("http://127.0.0.1:{port}/private-9f8e7d6c5b/cal.ics", "a loopback address"),
        ("http://10.0.0.7/private-9f8e7d6c5b/cal.ics", "a private network address"),
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("http://[::1]:{port}/private-9f8e7d6c5b/cal.ics", "a loopback address"),
    ],
)
def test_a_redirect_to_a_private_address_is_refused_and_shown_redacted(
    tmp_path: Path,
    raw_server: Callable[..., RawServer],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    what: str,
) -> None:
    """The member's server is reached through the organizer's proxy (on loopback here: the
    proxy is the organizer's choice), and requests keeps a request's proxy for its redirects:
    the redirect's target is resolved and refused before the proxy is asked for it. The line
    names the redirect's host, never its secret path."""
    member_url = "http://calendar.example/ical/private-0a1b2c3d4e/basic.ics"
    proxy = raw_server({member_url: _redirector(target.format(port=9))})
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "all_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", proxy.url(""))
    error = error_of(_fetch(tmp_path, member_url, allow=False))
    assert error.what.startswith("http://calendar.example/…/basic.ics redirected to http://")
    assert error.what.endswith(f", {what}: not fetched")
    assert "private-9f8e7d6c5b" not in str(error) and "meta-data" not in str(error)


def test_a_redirect_to_loopback_is_followed_when_the_organizer_allows_it(
    tmp_path: Path, raw_server: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    member_url = "http://calendar.example/ical/private-0a1b2c3d4e/basic.ics"
    target = "http://127.0.0.1:9/private-9f8e7d6c5b/cal.ics"  # asked of the proxy, like the first
    proxy = raw_server({member_url: _redirector(target), target: serve_ics})
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "all_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", proxy.url(""))
    feed = _fetch(tmp_path, member_url, allow=True)
    assert isinstance(feed, Feed) and feed.body == ICS


def test_a_member_whose_server_is_refused_reads_as_unreadable_and_nothing_more(
    tmp_path: Path,
) -> None:
    """What reaches the member's note is a feed error like any other: the guard never lets a
    request out, so nothing that answered can be told apart."""
    error = error_of(_fetch(tmp_path, "http://169.254.169.254/latest/meta-data/", allow=False))
    assert isinstance(error, FeedError)
    assert error.kind is ErrorKind.CONNECTION
    assert "meta-data" not in str(error)
