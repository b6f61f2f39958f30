"""The HTTP session every fetch of a run shares: its headers, retries, connection pool, the
address guard on every connection (:mod:`.guard`) and the masking of what urllib3 logs.

It keeps no cookies: a session's cookie jar would send a cookie that one member's calendar host
set with every later member's request to that host. Within one fetch, a cookie set by a
redirect still goes with the request it redirects to (requests keeps those per request)."""

from __future__ import annotations

import contextlib
import http.cookiejar
import logging
import socket
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from calroulette import __version__
from calroulette.redact import SECRETS, SecretFilter

from . import deadline, guard
from .model import FetchLimits
from .retry import DeadlineRetry

if TYPE_CHECKING:
    from requests.sessions import _Settings

# urllib3 logs request paths (retries at WARNING, every request at DEBUG).
_URLLIB3_LOGGERS = ("connection", "connectionpool", "poolmanager", "response", "util.retry")


class BadRedirect(requests.exceptions.InvalidURL):
    """A redirect's Location is not an address (``http://[::1``); holds nothing of it."""


def make_session(
    limits: FetchLimits, *, pool: int, allow_private: bool = False
) -> requests.Session:
    """The shared session: User-Agent, redirect limit, a pool of ``pool`` connections per host,
    urllib3's retries (connect/read errors, 429 and 5xx; Retry-After honoured) and the address
    guard (``allow_private``: loopback and private networks may be fetched from)."""
    session = _Session()
    session.cookies.set_policy(_NoCookies())
    session.headers["User-Agent"] = f"calroulette/{__version__}"
    session.headers["Accept"] = "text/calendar, text/plain;q=0.5, */*;q=0.1"
    session.max_redirects = limits.max_redirects
    retry = DeadlineRetry(
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
    adapter = _GuardedAdapter(
        allow_private, pool_connections=pool, pool_maxsize=pool, max_retries=retry
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.hooks["response"].append(_register_redirect_target)
    _mask_urllib3_logs()
    return session


def _mask_urllib3_logs() -> None:
    """Mask secrets in urllib3's own log records, whoever configured logging. The CLI routes them
    through masking handlers too; this covers a program that uses the library its own way. Done
    when a session is made, not when the module is imported, and once per logger."""
    for name in _URLLIB3_LOGGERS:
        logger = logging.getLogger(f"urllib3.{name}")
        if not any(isinstance(f, SecretFilter) for f in logger.filters):
            logger.addFilter(SecretFilter())


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """The session's jar accepts nothing: each fetch stands alone (see the module's docstring)."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class _Session(requests.Session):
    """A session that reads the environment (proxy variables, CA bundle) once per origin.

    requests reads it on every request (``trust_env``): scanning ``os.environ`` for proxies twice
    per request was a fifth of the client's time on an all-304 run of 1,000 feeds. The
    environment does not change during a run, and what it says depends only on the scheme, host
    and port (``no_proxy`` matches hosts), so the answer is kept per origin.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[object, ...], _Settings] = {}

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> _Settings:
        try:
            parts = urlsplit(url.decode() if isinstance(url, bytes) else url or "")
            origin = (parts.scheme.lower(), parts.hostname, parts.port)
        except ValueError:  # a malformed port: let requests report it
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        key = (*origin, repr(proxies), stream, repr(verify), repr(cert))
        settings = self._environment.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment[key] = settings  # a race computes it twice: harmless
        copy = settings.copy()
        copy["proxies"] = dict(settings["proxies"])
        return copy


def _register_redirect_target(response: requests.Response, *args: object, **kwargs: object) -> None:
    """A redirect's target is as secret as its source; register it before it is requested
    (and logged by urllib3), and note it for the feed's messages. A Location that is not an
    address raises :class:`BadRedirect` here, before requests parses it (a ValueError)."""
    location = response.headers.get("Location")
    if location and response.is_redirect:
        try:
            target = urljoin(response.url, location)
            _ = urlsplit(target).port  # raises ValueError on a bad host or port
        except ValueError:
            raise BadRedirect("the redirect's Location is not an address") from None
        SECRETS.add(target)
        current = deadline.current()
        if current is not None:
            current.redirects.append(target)


# --- the address guard on every connection --------------------------------------------------


class _Guarded(HTTPConnection):
    """Resolves the host once, checks every address (:func:`guard.resolve`) and connects to
    one of those addresses: no second lookup. Connects within the feed's deadline and hands
    the socket to it (:mod:`.deadline`). A connection to a proxy is not guarded (the
    organizer chose the proxy; the target is checked by :class:`_GuardedAdapter`)."""

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


class _GuardedAdapter(HTTPAdapter):
    """An adapter whose connections are :class:`_Guarded`; through a proxy (which resolves
    the target itself) the target is resolved and checked here, without pinning."""

    def __init__(self, allow_private: bool, **kw: Any) -> None:
        self.allow_private = allow_private
        super().__init__(**kw)

    def init_poolmanager(self, *args: Any, **kw: Any) -> None:
        super().init_poolmanager(*args, **kw)
        self.poolmanager.pool_classes_by_scheme = _POOLS[self.allow_private]

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS[True]  # the deadline still holds
        return manager

    def send(self, request: requests.PreparedRequest, *args: Any, **kw: Any) -> requests.Response:
        proxies = kw.get("proxies") or {}
        if not self.allow_private and request.url and select_proxy(request.url, proxies):
            parts = urlsplit(request.url)
            due = deadline.current()
            with contextlib.suppress(OSError, ValueError):  # the proxy resolves it and says
                guard.resolve(
                    parts.hostname or "",
                    parts.port or (443 if parts.scheme == "https" else 80),
                    allow_private=False,
                    timeout=None if due is None else max(due.remaining(), 0.0),
                )
        return super().send(request, *args, **kw)
