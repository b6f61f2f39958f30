"""The HTTP client every fetch of a run shares: urllib3 directly, with its connection pools,
retries, the address guard on every connection (:mod:`.guard`), redirects that register each
target as a secret before it is asked for, and the masking of what urllib3 logs.

Why not requests: preparing each request (settings merged from the session and the
environment, cookie jars, hooks, a ``~/.netrc`` lookup) was a quarter of a 304's client time,
and a weekly run is mostly 304s. What requests did for us is done here once per origin or
once per run instead, with the same rules:

- **the environment** (read once per scheme, host and port): ``http_proxy``/``https_proxy``/
  ``all_proxy`` and ``no_proxy`` (requests' own helpers decide), the CA bundle from
  ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` (else certifi's, as requests), and a
  ``~/.netrc`` (or ``$NETRC``) login for the host;
- **addresses**: an international host name or an unquoted path is normalised the way
  requests did (:func:`prepare_url`), and a ``user:password@`` in the address is sent as HTTP
  Basic authentication, never in the request line;
- **redirects** (301, 302, 303, 307, 308): at most ``max_redirects``; the target is resolved
  against the address it came from, registered as a secret and noted for the feed's messages
  before it is requested; a target on another origin does not get the Authorization; the
  proxy is chosen again for it; a cookie set on the way goes with the next hop of the same
  fetch and no further.

It keeps no cookies between fetches: a cookie one member's calendar host set would otherwise go
with every later member's request to that host.
"""

from __future__ import annotations

import base64
import contextlib
import http.cookiejar
import logging
import os
import socket
import ssl
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import certifi
import requests
import requests.cookies
import requests.exceptions
import requests.models
import requests.sessions
import requests.utils
from urllib3 import PoolManager, ProxyManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.response import BaseHTTPResponse
from urllib3.util import Timeout, make_headers
from urllib3.util.ssl_ import create_urllib3_context

from calroulette import __version__
from calroulette.redact import SECRETS, SecretFilter

from . import deadline, guard
from .model import FetchLimits
from .retry import DeadlineRetry

# urllib3 logs request paths (retries at WARNING, every request at DEBUG).
_URLLIB3_LOGGERS = ("connection", "connectionpool", "poolmanager", "response", "util.retry")

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECT_BODY = 65536  # what is read of a redirect's body so its connection can be kept
_REDIRECTING = requests.sessions.SessionRedirectMixin()  # its should_strip_auth: requests' rule


class BadRedirect(requests.exceptions.InvalidURL):
    """A redirect's Location is not an address (``http://[::1``); holds nothing of it."""


class TooManyRedirects(requests.exceptions.TooManyRedirects):
    """More than ``max_redirects`` redirects; holds nothing of the addresses."""


class NotHTTP(requests.exceptions.InvalidSchema):
    """A redirect to an address that is not http(s); holds nothing of it."""


class UnusableProxy(requests.exceptions.InvalidSchema):
    """The environment names a proxy that is not http(s):// (SOCKS, ftp:// …), which this
    client does not speak; ``kind`` says which, for the message."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def make_client(limits: FetchLimits, *, pool: int, allow_private: bool = False) -> Client:
    """The shared client: User-Agent, redirect limit, a pool of ``pool`` connections per host,
    urllib3's retries (connect/read errors, 429 and 5xx; Retry-After honoured) and the address
    guard (``allow_private``: loopback and private networks may be fetched from)."""
    _mask_urllib3_logs()
    return Client(limits, pool=pool, allow_private=allow_private)


@dataclass(frozen=True, slots=True)
class Fetched:
    """The last response of a fetch (a redirect's is never returned)."""

    response: BaseHTTPResponse

    def __enter__(self) -> Fetched:
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the response; a connection not handed back by :func:`keep_alive` is closed
        and its place in the pool freed."""
        self.response.close()
        self.response.release_conn()


@dataclass(frozen=True, slots=True)
class _Route:
    """How one origin is reached, read from the environment once."""

    manager: PoolManager
    proxied: bool  # through a proxy of the organizer's: its target is checked here
    netrc: str | None  # an Authorization from ~/.netrc for the host


class Client:
    """Thread-safe: one for all the fetch threads of a run; close it when they are done."""

    def __init__(self, limits: FetchLimits, *, pool: int, allow_private: bool) -> None:
        self.max_redirects = limits.max_redirects
        self.allow_private = allow_private
        self.timeout = Timeout(connect=limits.connect_timeout, read=limits.read_timeout)
        self.retries = DeadlineRetry(
            budget=limits.deadline,
            total=limits.retries,
            connect=limits.retries,
            read=limits.retries,
            status=limits.retries,
            other=0,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=frozenset({429, 500, 502, 503, 504}),
            backoff_factor=limits.backoff_factor,
            respect_retry_after_header=True,
            retry_after_max=max(int(limits.max_retry_after), 0),
            raise_on_status=False,  # the last 5xx comes back as a response with its status
        )
        self.headers = {
            "User-Agent": f"calroulette/{__version__}",
            "Accept-Encoding": make_headers(accept_encoding=True)["accept-encoding"],
            "Accept": "text/calendar, text/plain;q=0.5, */*;q=0.1",
            "Connection": "keep-alive",
        }
        self._pool_kw: dict[str, Any] = {
            "num_pools": pool,
            "maxsize": pool,
            "block": False,
            "ssl_context": _tls_context(),
        }
        self._direct = PoolManager(**self._pool_kw)
        self._direct.pool_classes_by_scheme = _POOLS[allow_private]
        self._proxies: dict[str, PoolManager] = {}
        self._routes: dict[tuple[str, str, int], _Route] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._direct.clear()
        for manager in self._proxies.values():
            manager.clear()

    def get(self, address: str, headers: dict[str, str]) -> Fetched:
        """GET ``address`` with ``headers`` besides the client's, following redirects. The
        response is not read: use it as a context manager, and call :func:`keep_alive` once
        its body is read to keep the connection."""
        url = prepare_url(address)
        sent = {**self.headers, **headers}
        user, password = requests.utils.get_auth_from_url(url)
        route = self._route(url)
        if route.netrc is not None:  # requests: ~/.netrc wins over the address's own login
            sent["Authorization"] = route.netrc
        elif user or password:
            sent["Authorization"] = _basic(user, password)
        cookies: http.cookiejar.CookieJar | None = None
        hops = 0
        while True:
            response = self._send(route, url, sent)
            location = response.headers.get("Location")
            if response.status not in REDIRECTS or not location:
                return Fetched(response)
            _discard(response)  # first: a bad Location must not keep the connection
            target = _target(url, location)
            if hops >= self.max_redirects:
                raise TooManyRedirects("too many redirects")
            hops += 1
            if urlsplit(target).scheme.lower() not in _DEFAULT_PORTS:
                raise NotHTTP("a redirect to an address that is not http(s)")
            # requests' own rules for a redirect's cookies and Authorization (untyped in its
            # stubs, hence the ignores)
            if response.headers.get("Set-Cookie") or cookies is not None:
                cookies = cookies or http.cookiejar.CookieJar()
                came = requests.Request("GET", url)
                requests.cookies.extract_cookies_to_jar(cookies, came, response)  # type: ignore[no-untyped-call]
            sent.pop("Cookie", None)
            if cookies is not None:
                going = requests.Request("GET", target)
                cookie = requests.cookies.get_cookie_header(cookies, going)  # type: ignore[no-untyped-call]
                if cookie:
                    sent["Cookie"] = cookie
            strip = _REDIRECTING.should_strip_auth(url, target)  # type: ignore[no-untyped-call]
            if strip and "Authorization" in sent:
                del sent["Authorization"]
            url = target
            route = self._route(url)
            if route.netrc is not None:
                sent["Authorization"] = route.netrc

    def _send(self, route: _Route, url: str, headers: dict[str, str]) -> BaseHTTPResponse:
        bare = requests.utils.urldefragauth(url)
        if route.proxied and not self.allow_private:
            # the proxy resolves the target itself: resolve and check it here first (no pin)
            parts = urlsplit(url)
            due = deadline.current()
            with contextlib.suppress(OSError, ValueError):  # the proxy resolves it and says
                guard.resolve(
                    parts.hostname or "",
                    parts.port or _DEFAULT_PORTS.get(parts.scheme, 80),
                    allow_private=False,
                    timeout=None if due is None else max(due.remaining(), 0.0),
                )
        return route.manager.urlopen(
            "GET",
            bare,
            headers=headers,
            redirect=False,
            assert_same_host=False,
            preload_content=False,
            decode_content=False,
            retries=self.retries,
            timeout=self.timeout,
        )

    def _route(self, url: str) -> _Route:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        key = (scheme, parts.hostname or "", parts.port or _DEFAULT_PORTS.get(scheme, 0))
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = self._new_route(url)  # a race makes it twice: harmless
        return route

    def _new_route(self, url: str) -> _Route:
        proxies = requests.utils.get_environ_proxies(url)
        proxy = requests.utils.select_proxy(url, proxies)
        netrc = requests.utils.get_netrc_auth(url)
        auth = None if netrc is None else _basic(*netrc)
        if proxy is None:
            return _Route(self._direct, False, auth)
        if "://" not in proxy:  # requests' rule: a proxy without a scheme is http
            proxy = f"http://{proxy}"
        scheme = proxy.split("://", 1)[0].lower()
        if scheme not in _DEFAULT_PORTS:  # urllib3 would raise a ValueError of its own
            raise UnusableProxy("a SOCKS proxy" if scheme.startswith("socks") else "that proxy")
        with self._lock:
            manager = self._proxies.get(proxy)
            if manager is None:
                user, password = requests.utils.get_auth_from_url(proxy)
                proxy_headers = {"Proxy-Authorization": _basic(user, password)} if user else {}
                manager = ProxyManager(proxy, proxy_headers=proxy_headers, **self._pool_kw)
                manager.pool_classes_by_scheme = _POOLS[True]
                self._proxies[proxy] = manager
        return _Route(manager, True, auth)


def prepare_url(address: str) -> str:
    """``address`` as requests sent it: an international host in IDNA, the path quoted.
    Raises requests' InvalidURL, MissingSchema or InvalidSchema."""
    prepared = requests.models.PreparedRequest()
    prepared.prepare_url(address, None)
    return prepared.url or address


def keep_alive(response: BaseHTTPResponse) -> None:
    """Hand a fully read connection back to the pool.

    A 304's empty body is read first: until it is, http.client keeps the response open on the
    connection, and the next request sent on it fails with ResponseNotReady (a retry on a new
    connection: 19 of 100 feeds of an all-304 run)."""
    response.drain_conn()
    response.release_conn()


def _discard(response: BaseHTTPResponse) -> None:
    """A redirect's body: a small one is read so the connection can be kept, a large or endless
    one (a hostile server's) closes the connection instead."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) <= _REDIRECT_BODY:
        with contextlib.suppress(Exception):  # a broken body: the connection is closed below
            keep_alive(response)
            return
    response.close()
    response.release_conn()


def _target(url: str, location: str) -> str:
    """A redirect's target as requests made it (a UTF-8 Location read as Latin-1 re-read,
    scheme-relative and relative ones resolved, quoted), registered as a secret before it is
    requested (and logged by urllib3), and noted for the feed's messages. A Location that is
    not an address raises :class:`BadRedirect`."""
    with contextlib.suppress(UnicodeError):
        location = location.encode("latin1").decode("utf8")
    try:
        joined = urljoin(url, location)
        SECRETS.add(joined)
        target = urljoin(url, requests.utils.requote_uri(location))
        _ = urlsplit(target).port  # raises ValueError on a bad host or port
    except (ValueError, requests.exceptions.InvalidURL):
        raise BadRedirect("the redirect's Location is not an address") from None
    SECRETS.add(target)
    current = deadline.current()
    if current is not None:
        current.redirects.append(target)
    return target


def _basic(user: str, password: str) -> str:
    """HTTP Basic credentials; Latin-1 when they fit, as requests sent them, else UTF-8."""
    try:
        raw = f"{user}:{password}".encode("latin-1")
    except UnicodeEncodeError:
        raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _tls_context() -> ssl.SSLContext:
    """One context for every https connection, trusting what requests trusted: the bundle (or
    directory) in ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``, else certifi's."""
    context = create_urllib3_context()
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and Path(bundle).is_dir():
        context.load_verify_locations(capath=bundle)
    else:
        context.load_verify_locations(cafile=bundle or certifi.where())
    return context


def _mask_urllib3_logs() -> None:
    """Mask secrets in urllib3's own log records, whoever configured logging. The CLI routes them
    through masking handlers too; this covers a program that uses the library its own way. Done
    when a client is made, not when the module is imported, and once per logger."""
    for name in _URLLIB3_LOGGERS:
        logger = logging.getLogger(f"urllib3.{name}")
        if not any(isinstance(f, SecretFilter) for f in logger.filters):
            logger.addFilter(SecretFilter())


# --- the address guard on every connection --------------------------------------------------


class _Guarded(HTTPConnection):
    """Resolves the host once, checks every address (:func:`guard.resolve`) and connects to
    one of those addresses: no second lookup. Connects within the feed's deadline and hands
    the socket to it (:mod:`.deadline`). A connection to a proxy is not guarded (the
    organizer chose the proxy; the target is checked by :meth:`Client._send`)."""

    allow_private = False

    def _new_conn(self) -> socket.socket:
        timeout = self.timeout if isinstance(self.timeout, int | float) else None
        due = deadline.current()
        if due is not None:
            left = due.remaining()
            if left <= 0:
                raise ConnectTimeoutError(self, "the feed's deadline passed before connecting")
            timeout = left if timeout is None else min(timeout, left)
        allow = self.allow_private or self.proxy is not None
        try:
            targets = guard.resolve(self._dns_host, self.port, allow_private=allow, timeout=timeout)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"resolving {self.host} timed out") from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        error: OSError | None = None
        for target in targets:
            sock = socket.socket(target.family, target.kind, target.proto)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                sock.settimeout(timeout)
                if self.source_address:
                    sock.bind(self.source_address)
                sock.connect(target.sockaddr)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            if due is not None:
                due.watch(sock)
            return sock
        if isinstance(error, TimeoutError):
            raise ConnectTimeoutError(self, f"connecting to {self.host} timed out") from error
        raise NewConnectionError(self, f"cannot connect ({type(error).__name__})") from error


class _GuardedHTTPS(_Guarded, HTTPSConnection):
    pass


class _OpenHTTP(_Guarded):
    allow_private = True


class _OpenHTTPS(_GuardedHTTPS):
    allow_private = True


class _Watched(HTTPConnectionPool):
    """A pool whose connections, kept alive from an earlier feed, are handed to the deadline of
    the feed that takes them (a new connection is handed over when it connects)."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        sock = getattr(conn, "sock", None)
        due = deadline.current()
        if due is not None and sock is not None:
            due.watch(sock)
        return conn


class _WatchedHTTPS(_Watched, HTTPSConnectionPool):
    pass


def _pools(allow_private: bool) -> dict[str, type[HTTPConnectionPool]]:
    http, https = (_OpenHTTP, _OpenHTTPS) if allow_private else (_Guarded, _GuardedHTTPS)
    plain = type("GuardedPool", (_Watched,), {"ConnectionCls": http})
    secure = type("GuardedHTTPSPool", (_WatchedHTTPS,), {"ConnectionCls": https})
    return {"http": plain, "https": secure}


_POOLS = {allow: _pools(allow) for allow in (False, True)}
