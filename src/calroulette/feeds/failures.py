"""What went wrong with a fetch, said as it is: one :class:`FetchError` per way it fails.

Never ``str(exc)``: urllib3 and requests quote the full (secret) URL in their messages, so each
message is written here from the kind of failure and the redacted address.
"""

from __future__ import annotations

import socket
import ssl

import requests.exceptions
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    LocationValueError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    ResponseError,
    SSLError,
)

from calroulette.redact import redact_url

from .client import NotHTTP, UnusableProxy
from .deadline import Deadline
from .guard import AddressRefused
from .model import ErrorKind, FetchError, FetchLimits


def failure(email: str, shown: str, exc: Exception, limits: FetchLimits) -> FetchError:
    """What went wrong, said as it is; never ``str(exc)``: urllib3's and requests' exceptions
    quote the full URL in their messages."""
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return FetchError(
            email,
            f"more than {limits.max_redirects} redirects from {shown}",
            "a redirect loop: open the address in a browser, then copy the final iCal address",
            kind=ErrorKind.REDIRECTS,
        )
    if any(isinstance(e, SSLError | ssl.SSLError) for e in _chain(exc)):
        return FetchError(
            email,
            f"TLS error with {shown}",
            "the server's certificate is not trusted, or it does not speak https",
            kind=ErrorKind.CONNECTION,
        )
    if isinstance(exc, UnusableProxy):  # the organizer's environment, not the member's address
        return FetchError(
            email,
            f"cannot fetch {shown} through {exc.kind}: only http:// and https:// proxies work",
            "set http_proxy and https_proxy to an http:// proxy, or unset them",
            kind=ErrorKind.CONNECTION,
        )
    if isinstance(exc, NotHTTP):
        # the member's own address is checked when members.toml loads: this is a redirect
        return FetchError(
            email,
            f"redirected to an address that is not http(s) from {shown}",
            "open the address in a browser, then copy the final iCal address",
            kind=ErrorKind.REDIRECTS,
        )
    if isinstance(exc, _UNPREPARED | LocationValueError):  # the address could not be prepared
        return FetchError(
            email, f"invalid address {shown}", "copy the iCal address again", kind=ErrorKind.HTTP
        )
    if timed_out(exc):
        return FetchError(
            email,
            f"timed out fetching {shown}",
            "the calendar server is slow or down; it is tried again on the next run",
            kind=ErrorKind.TIMEOUT,
        )
    return FetchError(
        email,
        f"cannot connect to {shown} ({_why(exc)})",
        "check the address's host; the server may be down",
        kind=ErrorKind.CONNECTION,
    )


_UNPREPARED = (
    requests.exceptions.InvalidURL
    | requests.exceptions.MissingSchema
    | requests.exceptions.InvalidSchema
)


def _why(exc: BaseException) -> str:
    """What a connection failure was, in words, from the innermost cause that says."""
    for cause in _chain(exc):
        if isinstance(cause, NameResolutionError | socket.gaierror):
            return "the host name does not resolve"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError | ProtocolError):
            return "the connection broke"
        if isinstance(cause, ProxyError):
            return "the proxy failed"
        if isinstance(cause, ResponseError):
            return "the server kept failing"
    return "the connection failed"


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps: urllib3's ``reason``, the first argument, the cause."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        reason = getattr(current, "reason", None)
        nested = current.args[0] if current.args else None
        current = (
            reason
            if isinstance(reason, BaseException)
            else nested
            if isinstance(nested, BaseException)
            else current.__cause__
        )
    return seen


def too_slow(email: str, shown: str, due: Deadline) -> FetchError:
    return FetchError(
        email,
        f"took longer than {due.seconds:g} s to download from {shown}",
        "the calendar server is very slow; it is tried again on the next run",
        kind=ErrorKind.TIMEOUT,
    )


def refused(email: str, shown: str, refusal: AddressRefused, due: Deadline) -> FetchError:
    """The guard's refusal, as the organizer reads it: which address (redacted) and what kind.
    The member's note says only that their calendar could not be read: nothing answered."""
    where = f"{shown} is {refusal.what}"
    if due.redirects:
        where = f"{shown} redirected to {redact_url(due.redirects[-1])}, {refusal.what}"
    return FetchError(
        email,
        f"{where}: not fetched",
        "calendars are fetched from public addresses only; for a calendar server on your own "
        "network, set allow_private_feeds = true in [community]",
        kind=ErrorKind.CONNECTION,
    )


def broken(email: str, shown: str, exc: DecodeError | ProtocolError) -> FetchError:
    if isinstance(exc, DecodeError):
        return FetchError(
            email,
            f"a broken compressed (gzip) response from {shown}",
            "the calendar server has a problem; it is tried again on the next run",
            kind=ErrorKind.HTTP,
        )
    return FetchError(  # the connection closed before Content-Length bytes came
        email,
        f"the download broke off before the whole calendar arrived from {shown}",
        "the calendar server has a problem; it is tried again on the next run",
        kind=ErrorKind.CONNECTION,
    )


def timed_out(exc: BaseException) -> bool:
    """A timeout, however deep urllib3 wrapped it (a read timeout that outlived the retries
    comes inside a MaxRetryError); a refused connection is not one, though urllib3 makes
    NewConnectionError a subclass of ConnectTimeoutError."""
    for cause in _chain(exc):
        if isinstance(cause, NewConnectionError):
            return False
        if isinstance(cause, ReadTimeoutError | ConnectTimeoutError | TimeoutError):
            return True
    return False
