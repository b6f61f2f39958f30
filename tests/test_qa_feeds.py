"""Acceptance checks of fetching against odd loopback servers: the line a member reads says what
actually went wrong (not "cannot connect" when the server answered)."""

from __future__ import annotations

from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from pytest_httpserver import HTTPServer

from calroulette.feeds import ErrorKind

from .test_feeds import ICS, RawServer, error_of, fetch_one, raw_server

__all__ = ["raw_server"]


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
