"""The HTTP session every fetch of a run shares: its headers, retries, connection pool and the
masking of what urllib3 logs."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from calroulette import __version__
from calroulette.redact import SECRETS, SecretFilter

from .model import FetchLimits
from .retry import DeadlineRetry

if TYPE_CHECKING:
    from requests.sessions import _Settings

# urllib3 logs request paths (retries at WARNING, every request at DEBUG).
_URLLIB3_LOGGERS = ("connection", "connectionpool", "poolmanager", "response", "util.retry")


def make_session(limits: FetchLimits, *, pool: int) -> requests.Session:
    """The shared session: User-Agent, redirect limit, a pool of ``pool`` connections per host
    and urllib3's retries (connect/read errors, 429 and 5xx; Retry-After honoured)."""
    session = _Session()
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
    adapter = HTTPAdapter(pool_connections=pool, pool_maxsize=pool, max_retries=retry)
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
    (and logged by urllib3)."""
    location = response.headers.get("Location")
    if location and response.is_redirect:
        SECRETS.add(urljoin(response.url, location))
