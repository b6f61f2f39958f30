"""Fetching against real HTTP servers on loopback: every failure mode gives one clear line for
that member, and never touches the others."""

from __future__ import annotations

import dataclasses
import gzip
import socket
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from calroulette.feeds import ErrorKind, Feed, FeedStatus, FetchError, FetchLimits, fetch_feeds

from .support.feeds import (
    FAST,
    ICS,
    ICS_LF,
    NOW,
    TUESDAY_FREE,
    RawServer,
    community_of,
    endless,
    error_of,
    fetch_one,
    free_of,
    secret_path,
    silent,
    trickle,
)

# --- status codes --------------------------------------------------------------------------------


def test_404_is_one_line_with_the_redacted_address_and_no_retry(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(secret_path("ada")).respond_with_data("nope", status=404)
    error = error_of(fetch_one(tmp_path, httpserver.url_for(secret_path("ada"))))
    port = httpserver.port
    assert error.kind is ErrorKind.HTTP and error.http_status == 404
    assert str(error) == (
        f"ada@example.org: calendar: HTTP 404 from http://localhost:{port}/…/basic.ics "
        "(use the secret iCal address; it may have been reset, so copy it again)"
    )
    assert len(httpserver.log) == 1  # a 4xx is not retried


def test_401_says_access_was_refused(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request(secret_path("ada")).respond_with_data("login", status=401)
    error = error_of(fetch_one(tmp_path, httpserver.url_for(secret_path("ada"))))
    assert error.http_status == 401
    assert "refused access" in error.fix
    assert len(httpserver.log) == 1


def test_500_then_success_is_retried_into_a_fresh_feed(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_oneshot_request(secret_path("ada")).respond_with_data("oops", status=500)
    httpserver.expect_request(secret_path("ada")).respond_with_data(ICS)
    feed = fetch_one(tmp_path, httpserver.url_for(secret_path("ada")))
    assert isinstance(feed, Feed) and feed.status is FeedStatus.FRESH
    assert len(httpserver.log) == 2
    assert free_of(feed) == TUESDAY_FREE


def test_500_every_time_gives_up_after_the_retries(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request(secret_path("ada")).respond_with_data("oops", status=503)
    error = error_of(fetch_one(tmp_path, httpserver.url_for(secret_path("ada"))))
    assert error.http_status == 503
    assert "tried again on the next run" in error.fix
    assert len(httpserver.log) == 1 + FAST.retries


@pytest.mark.slow
def test_429_waits_for_retry_after_then_succeeds(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(secret_path("ada")).respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_request(secret_path("ada")).respond_with_data(ICS)
    started = time.monotonic()
    # The feed's one deadline covers the wait and the retry: 3 s leaves room for both.
    limits = dataclasses.replace(FAST, deadline=3.0)
    feed = fetch_one(tmp_path, httpserver.url_for(secret_path("ada")), limits=limits)
    assert isinstance(feed, Feed)
    assert time.monotonic() - started >= 0.9  # backoff_factor alone would wait 0.01 s
    assert len(httpserver.log) == 2


@pytest.mark.slow
def test_retries_stop_at_the_deadline_whatever_retry_after_asks(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/x.ics").respond_with_data(
        "busy", status=503, headers={"Retry-After": "30"}
    )
    limits = FetchLimits(retries=10, deadline=1.0, max_retry_after=60)
    started = time.monotonic()
    error = error_of(fetch_one(tmp_path, httpserver.url_for("/x.ics"), limits=limits))
    assert time.monotonic() - started < 2.5  # not 10 × 30 s
    assert error.http_status == 503
    # The wait asked for passes the feed's deadline: no retry could finish after it, so the
    # 503 is the answer at once.
    assert len(httpserver.log) == 1


def test_user_agent_names_calroulette_and_its_version(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    from calroulette import __version__

    httpserver.expect_request(
        secret_path("ada"), headers={"User-Agent": f"calroulette/{__version__}"}
    ).respond_with_data(ICS)
    assert isinstance(fetch_one(tmp_path, httpserver.url_for(secret_path("ada"))), Feed)


# --- limits --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_trickling_body_stops_at_the_deadline(
    tmp_path: Path, raw_server: Callable[..., RawServer]
) -> None:
    server = raw_server({"/slow.ics": trickle})
    started = time.monotonic()
    error = error_of(fetch_one(tmp_path, server.url("/slow.ics")))
    elapsed = time.monotonic() - started
    assert error.kind is ErrorKind.TIMEOUT
    assert "took longer than 1 s" in error.what
    # The body needs ~18 s at this pace; the 1 s deadline stops it (plus one read's slack).
    assert elapsed < 3


def test_server_that_never_answers_times_out(
    tmp_path: Path, raw_server: Callable[..., RawServer]
) -> None:
    server = raw_server({"/silent.ics": silent})
    limits = FetchLimits(read_timeout=0.3, retries=0)
    error = error_of(fetch_one(tmp_path, server.url("/silent.ics"), limits=limits))
    assert error.kind is ErrorKind.TIMEOUT
    assert error.what.startswith("timed out fetching http://127.0.0.1:")


def test_endless_body_stops_at_the_size_cap(
    tmp_path: Path, raw_server: Callable[..., RawServer]
) -> None:
    server = raw_server({"/big.ics": endless})
    error = error_of(fetch_one(tmp_path, server.url("/big.ics")))
    assert error.kind is ErrorKind.TOO_LARGE
    assert error.what == f"larger than 256 KB: {server.url('/big.ics').replace('/big', '/…/big')}"


def test_declared_length_over_the_cap_is_refused_before_reading(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/huge.ics").respond_with_data(b"x" * (FAST.max_bytes + 1))
    error = error_of(fetch_one(tmp_path, httpserver.url_for("/huge.ics")))
    assert error.kind is ErrorKind.TOO_LARGE


def test_redirect_loop_is_reported_as_such(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a.ics").respond_with_data(
        "", status=302, headers={"Location": "/b.ics"}
    )
    httpserver.expect_request("/b.ics").respond_with_data(
        "", status=302, headers={"Location": "/a.ics"}
    )
    error = error_of(fetch_one(tmp_path, httpserver.url_for("/a.ics")))
    assert error.kind is ErrorKind.REDIRECTS
    assert "more than 5 redirects" in error.what
    assert len(httpserver.log) == 6  # the first request and five redirects


def test_a_few_redirects_are_followed(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old.ics").respond_with_data(
        "", status=301, headers={"Location": "/new.ics"}
    )
    httpserver.expect_request("/new.ics").respond_with_data(ICS)
    assert free_of(fetch_one(tmp_path, httpserver.url_for("/old.ics"))) == TUESDAY_FREE


def test_connection_refused_names_the_host_only(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    limits = FetchLimits(retries=0)
    error = error_of(
        fetch_one(tmp_path, f"http://127.0.0.1:{port}{secret_path('ada')}", limits=limits)
    )
    assert error.kind is ErrorKind.CONNECTION
    shown = f"http://127.0.0.1:{port}/…/basic.ics"
    assert error.what == f"cannot connect to {shown} (connection refused)"


def test_webcal_is_fetched_as_https(tmp_path: Path, httpserver: HTTPServer) -> None:
    """The loopback server speaks plain HTTP, so https:// to it fails the TLS handshake."""
    httpserver.expect_request("/x.ics").respond_with_data(ICS)
    webcal = httpserver.url_for("/x.ics").replace("http://", "webcal://")
    error = error_of(fetch_one(tmp_path, webcal, limits=FetchLimits(retries=0)))
    assert error.kind is ErrorKind.CONNECTION
    assert error.what == f"TLS error with webcal://localhost:{httpserver.port}/…/x.ics"
    assert len(httpserver.log) == 0  # nothing reached it as plain HTTP


# --- bodies --------------------------------------------------------------------------------------


def test_html_login_page_is_not_a_calendar(tmp_path: Path, httpserver: HTTPServer) -> None:
    page = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Login</body></html>"
    httpserver.expect_request(secret_path("ada")).respond_with_data(page, content_type="text/html")
    error = error_of(fetch_one(tmp_path, httpserver.url_for(secret_path("ada"))))
    assert error.kind is ErrorKind.NOT_ICALENDAR
    assert error.what.startswith("this looks like a web page, not a calendar, from http://")
    assert "secret iCal address" in error.fix


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"", "the feed is empty"),
        (b'{"error": "not found"}', "this is JSON, not iCalendar"),
        (b"Hello", "not an iCalendar file"),
    ],
)
def test_other_non_calendar_bodies_say_what_they_are(
    tmp_path: Path, httpserver: HTTPServer, body: bytes, what: str
) -> None:
    httpserver.expect_request("/x.ics").respond_with_data(body)
    error = error_of(fetch_one(tmp_path, httpserver.url_for("/x.ics")))
    assert error.what.startswith(what)


def test_wrong_content_type_with_a_calendar_inside_is_fine(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/x.ics").respond_with_data(ICS, content_type="text/html")
    assert free_of(fetch_one(tmp_path, httpserver.url_for("/x.ics"))) == TUESDAY_FREE


def test_gzip_encoded_feed_is_decompressed(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x.ics").respond_with_data(
        gzip.compress(ICS), headers={"Content-Encoding": "gzip"}
    )
    feed = fetch_one(tmp_path, httpserver.url_for("/x.ics"))
    assert isinstance(feed, Feed) and feed.body == ICS


@pytest.mark.parametrize(
    "body",
    [ICS, ICS_LF.encode(), b"\xef\xbb\xbf" + ICS],
    ids=["crlf", "lf", "utf8-bom"],
)
def test_line_endings_and_bom_give_the_same_free_time(
    tmp_path: Path, httpserver: HTTPServer, body: bytes
) -> None:
    httpserver.expect_request("/x.ics").respond_with_data(body)
    assert free_of(fetch_one(tmp_path, httpserver.url_for("/x.ics"))) == TUESDAY_FREE


def test_caldav_collection_answering_405_gets_the_export_hint(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    path = "/remote.php/dav/calendars/ada/personal/"
    httpserver.expect_request(path).respond_with_data("", status=405)
    error = error_of(fetch_one(tmp_path, httpserver.url_for(path)))
    assert error.fix == "this looks like a CalDAV collection: add ?export to the address"


def test_caldav_multistatus_gets_the_export_hint(tmp_path: Path, httpserver: HTTPServer) -> None:
    body = '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"></d:multistatus>'
    httpserver.expect_request("/dav/cal/").respond_with_data(body, content_type="application/xml")
    error = error_of(fetch_one(tmp_path, httpserver.url_for("/dav/cal/")))
    assert error.kind is ErrorKind.NOT_ICALENDAR
    assert "add ?export" in error.fix


# --- local files and isolation -----------------------------------------------------------------


def test_local_path_relative_to_members_toml_is_read(tmp_path: Path) -> None:
    (tmp_path / "cals").mkdir()
    (tmp_path / "cals" / "ada.ics").write_bytes(ICS)
    community = community_of(tmp_path, {"ada": "cals/ada.ics"})
    feed = fetch_feeds(community, now=NOW, limits=FAST)["ada@example.org"]
    assert isinstance(feed, Feed) and feed.status is FeedStatus.LOCAL
    assert free_of(feed) == TUESDAY_FREE


def test_missing_local_file_is_an_error_for_that_member(tmp_path: Path) -> None:
    community = community_of(tmp_path, {"ada": "cals/missing.ics"})
    error = error_of(fetch_feeds(community, now=NOW, limits=FAST)["ada@example.org"])
    assert error.kind is ErrorKind.FILE
    assert error.what == f"file not found: {tmp_path / 'cals' / 'missing.ics'}"


@pytest.mark.slow
def test_one_broken_member_never_affects_the_others(
    tmp_path: Path, httpserver: HTTPServer, raw_server: Callable[..., RawServer]
) -> None:
    slow = raw_server({"/slow.ics": trickle, "/big.ics": endless})
    httpserver.expect_request("/ok.ics").respond_with_data(ICS)
    httpserver.expect_request("/gone.ics").respond_with_data("", status=404)
    httpserver.expect_request("/login.ics").respond_with_data("<html>login</html>")
    urls = {
        "ada": httpserver.url_for("/ok.ics"),
        "bob": httpserver.url_for("/gone.ics"),
        "cy": httpserver.url_for("/login.ics"),
        "dee": slow.url("/slow.ics"),
        "eve": slow.url("/big.ics"),
        "fay": httpserver.url_for("/ok.ics"),
    }
    community = community_of(tmp_path, urls, fetch_concurrency=4)
    results = fetch_feeds(community, now=NOW, limits=FAST)
    assert list(results) == [f"{n}@example.org" for n in urls]  # the members' order
    kinds = {k: (v.kind if isinstance(v, FetchError) else v.status) for k, v in results.items()}
    assert kinds == {
        "ada@example.org": FeedStatus.FRESH,
        "bob@example.org": ErrorKind.HTTP,
        "cy@example.org": ErrorKind.NOT_ICALENDAR,
        "dee@example.org": ErrorKind.TIMEOUT,
        "eve@example.org": ErrorKind.TOO_LARGE,
        "fay@example.org": FeedStatus.FRESH,
    }
    assert free_of(results["fay@example.org"]) == TUESDAY_FREE


@pytest.mark.slow
def test_fetches_run_concurrently(tmp_path: Path) -> None:
    """Eight feeds that each take 0.3 s finish in well under 8 × 0.3 s."""
    httpserver = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    httpserver.start()

    def slow_ok(request: Request) -> Response:
        time.sleep(0.3)
        return Response(ICS, content_type="text/calendar")

    httpserver.expect_request("/x.ics").respond_with_handler(slow_ok)
    urls = {f"m{i}": httpserver.url_for("/x.ics") + f"?n={i}" for i in range(8)}
    community = community_of(tmp_path, urls, fetch_concurrency=8)
    started = time.monotonic()
    try:
        results = fetch_feeds(community, now=NOW, limits=FAST)
        elapsed = time.monotonic() - started
    finally:
        httpserver.stop()
    assert all(isinstance(r, Feed) for r in results.values())
    assert elapsed < 1.5


# --- the environment ---------------------------------------------------------------------------


def test_proxy_variables_are_honoured_host_by_host(
    tmp_path: Path,
    httpserver: HTTPServer,
    raw_server: Callable[..., RawServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """http_proxy sends feeds through the proxy, except hosts in no_proxy; the session reads
    the environment once per host, so two hosts on the same server must still differ."""
    httpserver.expect_request("/direct.ics").respond_with_data(ICS)
    proxied_url = f"http://127.0.0.1:{httpserver.port}/proxied.ics"
    seen: list[str] = []

    def as_proxy(handler: BaseHTTPRequestHandler) -> None:
        seen.append(handler.path)  # a proxy gets the absolute address
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(ICS)))
        handler.end_headers()
        handler.wfile.write(ICS)

    proxy = raw_server({proxied_url: as_proxy})
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "all_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", proxy.url(""))
    monkeypatch.setenv("no_proxy", "localhost")
    direct_url = f"http://localhost:{httpserver.port}/direct.ics"
    community = community_of(tmp_path, {"ada": direct_url, "bob": proxied_url, "cy": direct_url})
    results = fetch_feeds(community, now=NOW, limits=FAST)
    assert all(isinstance(r, Feed) and r.body == ICS for r in results.values()), results
    assert seen == [proxied_url]
    assert sorted(request.path for request, _ in httpserver.log) == ["/direct.ics"] * 2


# --- what went wrong, said as it is ------------------------------------------------------------
# The line a member reads says what actually went wrong (not "cannot connect" when the server
# answered).


def _truncated(handler: BaseHTTPRequestHandler) -> None:
    """Promises the whole calendar, sends half of it, and closes the connection."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/calendar")
    handler.send_header("Content-Length", str(len(ICS)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(ICS[: len(ICS) // 2])
    handler.wfile.flush()
    handler.close_connection = True


def test_a_body_cut_short_says_the_download_broke_not_cannot_connect(
    tmp_path: Path, raw_server: Callable[..., RawServer]
) -> None:
    server = raw_server({"/half.ics": _truncated})
    error = error_of(fetch_one(tmp_path, server.url("/half.ics")))
    assert "cannot connect" not in error.what
    assert error.what.startswith("the download broke off before the whole calendar arrived")
    assert "tried again on the next run" in error.fix


def test_a_broken_gzip_body_says_so_not_cannot_connect(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/cal.ics").respond_with_data(
        b"this is not gzip" + ICS, headers={"Content-Encoding": "gzip"}
    )
    error = error_of(fetch_one(tmp_path, httpserver.url_for("/cal.ics")))
    assert "cannot connect" not in error.what
    assert error.what.startswith("a broken compressed (gzip) response from")
    assert "tried again on the next run" in error.fix


def test_a_redirect_to_a_file_or_ftp_address_is_named_as_such(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    for target in ("file:///etc/passwd", "ftp://files.example/cal.ics"):
        httpserver.clear()
        httpserver.expect_request("/cal.ics").respond_with_data(
            "", status=302, headers={"Location": target}
        )
        error = error_of(fetch_one(tmp_path, httpserver.url_for("/cal.ics")))
        assert error.kind is ErrorKind.REDIRECTS
        assert error.what.startswith("redirected to an address that is not http(s) from")
        assert "passwd" not in str(error)


def test_a_calendar_path_that_is_a_folder_says_so(tmp_path: Path) -> None:
    """It read "cannot read …: Is a directory (check the file's permissions)"."""
    folder = tmp_path / "calendars"
    folder.mkdir()
    error = error_of(fetch_one(tmp_path, str(folder)))
    assert error.kind is ErrorKind.FILE
    assert str(error) == (
        f"ada@example.org: calendar: {folder} is a folder, not a calendar file "
        "(give the path of the .ics file itself)"
    )
