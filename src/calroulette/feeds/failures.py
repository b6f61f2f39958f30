"""What went wrong with a fetch, said as it is: one :class:`FetchError` per way it fails.

Never ``str(exc)``: requests and urllib3 quote the full (secret) URL in their messages, so each
message is written here from the kind of failure and the redacted address.
"""

from __future__ import annotations

import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import HTTPError as Urllib3Error

from calroulette.redact import redact_url

from .deadline import Deadline
from .guard import AddressRefused
from .model import ErrorKind, FetchError, FetchLimits


def failure(
    email: str, shown: str, exc: requests.RequestException | Urllib3Error, limits: FetchLimits
) -> FetchError:
    """What went wrong, said as it is; never ``str(exc)``: requests and urllib3 quote the
    full URL in their messages."""
    if isinstance(exc, requests.TooManyRedirects):
        return FetchError(
            email,
            f"more than {limits.max_redirects} redirects from {shown}",
            "a redirect loop: open the address in a browser, then copy the final iCal address",
            kind=ErrorKind.REDIRECTS,
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return FetchError(
            email,
            f"TLS error with {shown}",
            "the server's certificate is not trusted, or it does not speak https",
            kind=ErrorKind.CONNECTION,
        )
    if isinstance(exc, requests.exceptions.InvalidSchema):
        # the member's own address is checked when members.toml loads: this is a redirect
        return FetchError(
            email,
            f"redirected to an address that is not http(s) from {shown}",
            "open the address in a browser, then copy the final iCal address",
            kind=ErrorKind.REDIRECTS,
        )
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return FetchError(
            email, f"invalid address {shown}", "copy the iCal address again", kind=ErrorKind.HTTP
        )
    if isinstance(exc, requests.Timeout | ReadTimeoutError) or timed_out(exc):
        return FetchError(
            email,
            f"timed out fetching {shown}",
            "the calendar server is slow or down; it is tried again on the next run",
            kind=ErrorKind.TIMEOUT,
        )
    return FetchError(
        email,
        f"cannot connect to {shown} ({type(exc).__name__})",
        "check the address's host; the server may be down",
        kind=ErrorKind.CONNECTION,
    )


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
    """requests wraps a read timeout that outlived the retries in a ConnectionError."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError):  # a subclass of ConnectTimeoutError
            return False
        if isinstance(current, requests.Timeout | ReadTimeoutError | ConnectTimeoutError):
            return True
        reason = getattr(current, "reason", None)
        nested = current.args[0] if current.args else None
        current = (
            reason
            if isinstance(reason, BaseException)
            else (nested if isinstance(nested, BaseException) else None)
        )
    return False
