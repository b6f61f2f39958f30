"""The fetch client's own rules, each once requests' and now ours (feeds/client.py): what the
environment says (CA bundle, ~/.netrc, a SOCKS proxy), credentials in an address, the
Authorization across redirects, redirect bodies, UTF-8 Locations, and what a failed
connection says. Real servers on loopback: pytest-httpserver (with TLS) and a raw one.

Passwords here look like secrets (``pw-7f3e…``): an address's password is registered as a secret
for the rest of the process, and a word like "secret" would be masked in later tests' output."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from calroulette.feeds import ErrorKind, Feed, FeedStatus

from .support.feeds import ICS, RawServer, error_of, fetch_one, secret_path, serve_ics
from .support.mail import make_cert, server_context

_CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[HTTPServer, Path]]:
    """An https server for localhost with a self-signed certificate; yields it and the cert."""
    (tmp_path / "tls").mkdir()
    cert, key = make_cert(tmp_path / "tls")
    server = HTTPServer(host="localhost", port=0, ssl_context=server_context(cert, key))
    server.start()
    try:
        yield server, cert
    finally:
        server.clear()
        server.stop()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in _CA_VARIABLES + _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- what the environment says --------------------------------------------------------------


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_an_https_feed_is_read_when_the_environment_trusts_its_certificate(
    tmp_path: Path,
    tls_server: tuple[HTTPServer, Path],
    clean_env: pytest.MonkeyPatch,
    variable: str,
) -> None:
    server, cert = tls_server
    server.expect_request(secret_path("ada")).respond_with_data(ICS)
    clean_env.setenv(variable, str(cert))
    feed = fetch_one(tmp_path, server.url_for(secret_path("ada")))
    assert isinstance(feed, Feed) and feed.body == ICS and feed.status is FeedStatus.FRESH


def test_an_untrusted_certificate_is_a_tls_error_and_nothing_is_asked(
    tmp_path: Path, tls_server: tuple[HTTPServer, Path], clean_env: pytest.MonkeyPatch
) -> None:
    """Without the bundle, certifi's authorities are trusted, and a self-signed one is not."""
    server, _ = tls_server
    server.expect_request(secret_path("ada")).respond_with_data(ICS)
    error = error_of(fetch_one(tmp_path, server.url_for(secret_path("ada"))))
    assert error.kind is ErrorKind.CONNECTION
    assert error.what.startswith("TLS error with https://localhost:")
    assert len(server.log) == 0


def test_a_netrc_login_for_the_host_is_sent(
    tmp_path: Path, httpserver: HTTPServer, clean_env: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine localhost login ada password from-netrc\n")
    netrc.chmod(0o600)
    clean_env.setenv("NETRC", str(netrc))
    httpserver.expect_request(secret_path("ada")).respond_with_data(ICS)
    feed = fetch_one(tmp_path, httpserver.url_for(secret_path("ada")))
    assert isinstance(feed, Feed)
    ((request, _),) = httpserver.log
    assert request.headers.get("Authorization") == _basic("ada", "from-netrc")


@pytest.mark.parametrize(
    ("proxy", "what"),
    [
        ("socks5://127.0.0.1:9", "through a SOCKS proxy"),
        ("ftp://127.0.0.1:9", "through that proxy"),
    ],
)
def test_a_proxy_that_is_not_http_is_said_to_be_unsupported_not_used(
    tmp_path: Path, httpserver: HTTPServer, clean_env: pytest.MonkeyPatch, proxy: str, what: str
) -> None:
    """Before, an ftp:// proxy was told as the member's "invalid address"."""
    clean_env.setenv("http_proxy", proxy)
    httpserver.expect_request(secret_path("ada")).respond_with_data(ICS)
    error = error_of(fetch_one(tmp_path, httpserver.url_for(secret_path("ada"))))
    assert error.kind is ErrorKind.CONNECTION
    assert what in error.what and "http_proxy" in error.fix
    assert len(httpserver.log) == 0


# --- credentials in the address -------------------------------------------------------------


def test_credentials_in_the_address_go_as_basic_auth_never_in_the_request_line(
    tmp_path: Path, httpserver: HTTPServer, clean_env: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request(secret_path("ada")).respond_with_data(ICS)
    url = httpserver.url_for(secret_path("ada")).replace("://", "://ada:pw%20-4c8e2a6f0b@")
    feed = fetch_one(tmp_path, url)
    assert isinstance(feed, Feed)
    ((request, _),) = httpserver.log
    assert request.headers.get("Authorization") == _basic("ada", "pw -4c8e2a6f0b")
    assert "4c8e2a6f0b" not in request.full_path and "@" not in request.full_path


def _redirect_to(target: str) -> Callable[[Request], Response]:
    def handle(request: Request) -> Response:
        return Response(status=302, headers={"Location": target})

    return handle


@pytest.fixture
def second_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="localhost", port=0)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


@pytest.mark.parametrize(
    ("where", "kept"),
    [("same-origin", True), ("other-host", False), ("other-port", False)],
)
def test_a_redirect_keeps_the_authorization_only_on_the_same_origin(
    tmp_path: Path,
    httpserver: HTTPServer,
    second_server: HTTPServer,
    clean_env: pytest.MonkeyPatch,
    where: str,
    kept: bool,
) -> None:
    final = {"same-origin": httpserver, "other-host": httpserver, "other-port": second_server}
    server = final[where]
    host = "127.0.0.1" if where == "other-host" else "localhost"
    target = f"http://{host}:{server.port}{secret_path('final')}"
    httpserver.expect_request(secret_path("ada")).respond_with_handler(_redirect_to(target))
    server.expect_request(secret_path("final")).respond_with_data(ICS)
    url = httpserver.url_for(secret_path("ada")).replace("://", "://ada:pw-7f3e9a1c5b2d@")
    feed = fetch_one(tmp_path, url)
    assert isinstance(feed, Feed) and feed.body == ICS
    first = httpserver.log[0][0]
    second = server.log[-1][0]
    assert first.headers.get("Authorization") == _basic("ada", "pw-7f3e9a1c5b2d")
    assert ("Authorization" in second.headers) is kept


# --- redirects --------------------------------------------------------------------------------


def _endless_redirect(target: str) -> Callable[[BaseHTTPRequestHandler], None]:
    """A redirect whose body never ends: a client that reads it before following waits out the
    feed's deadline."""

    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", target)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b"x" * 8000
        while not handler.stop.is_set():  # type: ignore[attr-defined]
            handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            handler.stop.wait(0.01)  # type: ignore[attr-defined]

    return handle


def test_a_redirect_whose_body_never_ends_is_followed_without_reading_it(
    tmp_path: Path, raw_server: Callable[..., RawServer]
) -> None:
    target = secret_path("final")
    server = raw_server({secret_path("ada"): _endless_redirect(target), target: serve_ics})
    feed = fetch_one(tmp_path, server.url(secret_path("ada")))
    assert isinstance(feed, Feed) and feed.body == ICS


def _utf8_redirect(handler: BaseHTTPRequestHandler) -> None:
    """A Location in raw UTF-8, as some servers send it (http.client reads it as Latin-1)."""
    location = "/calendar/private-0f9e8d7c6b5a4321/kalender-ä.ics".encode()
    handler.wfile.write(
        b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n"
    )


def test_a_utf8_location_is_followed_quoted(
    tmp_path: Path, raw_server: Callable[..., RawServer]
) -> None:
    quoted = "/calendar/private-0f9e8d7c6b5a4321/kalender-%C3%A4.ics"
    server = raw_server({secret_path("ada"): _utf8_redirect, quoted: serve_ics})
    feed = fetch_one(tmp_path, server.url(secret_path("ada")))
    assert isinstance(feed, Feed) and feed.body == ICS


# --- what a failed connection says ------------------------------------------------------------


def test_a_host_that_does_not_resolve_says_so(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    error = error_of(fetch_one(tmp_path, f"http://calendar.invalid{secret_path('ada')}"))
    assert error.kind is ErrorKind.CONNECTION
    assert error.what == (
        "cannot connect to http://calendar.invalid/…/basic.ics (the host name does not resolve)"
    )


def test_a_server_that_closes_without_answering_says_the_connection_broke(
    tmp_path: Path, raw_server: Callable[..., RawServer]
) -> None:
    def hang_up(handler: BaseHTTPRequestHandler) -> None:
        with contextlib.suppress(OSError):
            handler.connection.shutdown(2)
        handler.close_connection = True

    server = raw_server({secret_path("ada"): hang_up})
    error = error_of(fetch_one(tmp_path, server.url(secret_path("ada"))))
    assert error.kind is ErrorKind.CONNECTION
    assert error.what.endswith("/…/basic.ics (the connection broke)")
