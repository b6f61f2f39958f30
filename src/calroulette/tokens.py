"""Signed, expiring tokens for the links in our emails and on the web page.

A token names one subject (a member's email, or a sign-up's id) and one :class:`Purpose`, and
carries the subject's link ``version``: asking for a new manage link raises the version, and every
older link of that member stops working (a leaked link is revoked by asking for a new one). The
signature (HMAC-SHA256 by :mod:`itsdangerous`) is keyed by the community's secret key and salted
with the purpose, so a token made for one purpose is forged for every other.

Pure: the time comes in as ``now`` (a token made while rendering a round carries the round's
``now``, so rendering twice gives the same bytes); nothing here reads a clock or a file.

>>> import datetime as dt
>>> now = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
>>> token = sign("k" * 32, Purpose.MANAGE, "ada@x.org", now=now, version=3)
>>> verify("k" * 32, Purpose.MANAGE, token, now=now + dt.timedelta(days=1)).subject
'ada@x.org'
>>> verify("k" * 32, Purpose.UNSUBSCRIBE, token, now=now)
Traceback (most recent call last):
...
calroulette.tokens.TokenError: invalid
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

MIN_KEY_LENGTH = 32  # characters of CALROULETTE_SECRET_KEY (secrets.token_urlsafe(32) gives 43)


class Purpose(StrEnum):
    """What a token lets its bearer do; each has its own lifetime (:attr:`max_age`)."""

    CONFIRM = "confirm"  # confirm a sign-up (double opt-in): the sign-up's id
    MANAGE = "manage"  # the member's page: settings, pause, leave
    UNSUBSCRIBE = "unsubscribe"  # one-click unsubscribe (RFC 8058) from an email's header
    ADMIN = "admin"  # the organizer's session cookie on /admin
    CANT = "cant"  # "can't make it": subject "<email> <meeting uid>"
    MET = "met"  # "did you meet?": subject "<email> <meeting uid>"

    @property
    def max_age(self) -> dt.timedelta:
        return {
            Purpose.CONFIRM: dt.timedelta(days=2),
            Purpose.MANAGE: dt.timedelta(days=60),
            # RFC 8058 asks that the link work for a long time after the email was sent
            Purpose.UNSUBSCRIBE: dt.timedelta(days=120),
            Purpose.ADMIN: dt.timedelta(hours=12),
            Purpose.CANT: dt.timedelta(days=21),  # invitations go out up to two weeks ahead
            Purpose.MET: dt.timedelta(days=30),
        }[self]


class TokenError(ValueError):
    """A token that must not be honoured. ``code``: ``invalid`` (forged, damaged, or made for
    another purpose or key) or ``expired`` (genuine but too old, or made before the subject's
    latest link: see :func:`verify`)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Claim:
    subject: str
    version: int
    issued: dt.datetime


def _serializer(key: str, purpose: Purpose) -> URLSafeSerializer:
    return URLSafeSerializer(key, salt=f"calroulette.{purpose.value}")


def sign(key: str, purpose: Purpose, subject: str, *, now: dt.datetime, version: int = 0) -> str:
    """A URL-safe token for ``subject`` and ``purpose``, issued at ``now``."""
    payload = {"s": subject, "v": version, "t": int(now.timestamp())}
    token = _serializer(key, purpose).dumps(payload)
    return token if isinstance(token, str) else token.decode()


def verify(
    key: str,
    purpose: Purpose,
    token: str,
    *,
    now: dt.datetime,
    version: int | None = None,
    max_age: dt.timedelta | None = None,
) -> Claim:
    """The claim in ``token``, or :class:`TokenError`. With ``version`` (the subject's current
    link version), a token of an older version is ``expired``: it was replaced."""
    try:
        payload: Any = _serializer(key, purpose).loads(token)
    except BadSignature:
        raise TokenError("invalid") from None
    if not (
        isinstance(payload, dict)
        and isinstance(payload.get("s"), str)
        and isinstance(payload.get("v"), int)
        and isinstance(payload.get("t"), int)
    ):
        raise TokenError("invalid")
    issued = dt.datetime.fromtimestamp(payload["t"], dt.UTC)
    age = now - issued
    if age > (max_age if max_age is not None else purpose.max_age):
        raise TokenError("expired")
    if age < -dt.timedelta(minutes=5):  # issued in the future: a clock or a key went wrong
        raise TokenError("invalid")
    if version is not None and payload["v"] != version:
        raise TokenError("expired")
    return Claim(payload["s"], payload["v"], issued)
