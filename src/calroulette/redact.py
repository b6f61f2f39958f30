"""Secret calendar URLs are passwords: show them as ``https://host/…/basic.ics``, never in full.

``redact_url`` is the one way a calendar address appears in output. ``SecretFilter`` is a logging
filter that masks every registered secret in every record, as a second line of defence for messages
that third-party code formats itself.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import unquote, urlsplit

_ELLIPSIS = "…"


def is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://", "webcal://", "webcals://"))


def redact_url(source: str) -> str:
    """``https://calendar.google.com/calendar/ical/x%40y/private-abc/basic.ics`` →
    ``https://calendar.google.com/…/basic.ics``. Query, fragment and user info are dropped.

    Local paths are not secrets and are returned unchanged.

    >>> redact_url("https://user:pw@cal.example/private-9f8e/basic.ics?token=1")
    'https://cal.example/…/basic.ics'
    >>> redact_url("webcal://p01-caldav.icloud.com/published/2/MTIz")
    'webcal://p01-caldav.icloud.com/…'
    """
    if not is_url(source):
        return source
    try:
        parts = urlsplit(source)
        host = parts.hostname or "?"
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:
        return f"{source.split(':', 1)[0]}://{_ELLIPSIS}"
    segments = [s for s in parts.path.split("/") if s]
    last = segments[-1] if segments else ""
    # Only a file name (basic.ics, calendar.ics) is shown: a last segment without an extension
    # is often the token itself (iCloud's published/2/<token>, Nextcloud's …/<calendar>).
    if last and ("." not in last or len(last) > 40):
        last = ""
    tail = f"/{_ELLIPSIS}/{last}" if last else f"/{_ELLIPSIS}"
    if not segments:
        tail = "/" + _ELLIPSIS if (parts.query or parts.fragment) else ""
    return f"{parts.scheme}://{host}{tail}"


class SecretRegistry:
    """The set of strings that must never appear in output (URLs, passwords, webhooks)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[str, str] = {}

    def add(self, secret: str, shown_as: str | None = None) -> None:
        """Never show ``secret``; for a URL, never show its secret parts on their own either.

        Libraries log pieces of a URL (urllib3: the path and query; werkzeug: the decoded
        path), so the path up to the shown last segment, the query and the password are
        registered too.
        """
        if not secret or len(secret) < 6:
            return
        with self._lock:
            self._secrets[secret] = shown_as or (redact_url(secret) if is_url(secret) else "***")
            if is_url(secret):
                for part in _secret_parts(secret):
                    if len(part) >= 6:
                        self._secrets.setdefault(part, _ELLIPSIS)

    def mask(self, text: str) -> str:
        with self._lock:
            items = sorted(self._secrets.items(), key=lambda kv: -len(kv[0]))
        for secret, shown in items:
            if secret in text:
                text = text.replace(secret, shown)
        return text


def _secret_parts(url: str) -> list[str]:
    """The pieces of ``url`` that :func:`redact_url` hides, as they may appear on their own.

    >>> _secret_parts("https://u:pw-123456@h.example/cal/ada%40x/private-1/basic.ics?t=9a8b7c")
    ['/cal/ada%40x/private-1', '/cal/ada@x/private-1', 't=9a8b7c', 'pw-123456']
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    shown = redact_url(url)
    path = parts.path
    directory, last = path.rsplit("/", 1) if "/" in path else ("", path)
    last_shown = bool(last) and shown.endswith("/" + last)
    hidden = directory if last_shown else path
    found = [hidden, unquote(hidden), parts.query, unquote(parts.query), password or ""]
    return [p for p in dict.fromkeys(found) if p]


SECRETS = SecretRegistry()


class SecretFilter(logging.Filter):
    """Rewrites each log record so that no registered secret survives formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = SECRETS.mask(message)
        if masked != message or record.args:
            record.msg = masked
            record.args = None
        if record.exc_info and not record.exc_text:
            # Tracebacks quote exception messages, and requests' hold the full URL.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = SECRETS.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = SECRETS.mask(record.stack_info)
        return True
