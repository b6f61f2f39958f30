"""What a public page needs: CSRF on every form, strict headers, rate limits, bounded bodies.

- **CSRF**: a random value in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` when the
  site is https), and in every form a field that is its HMAC under the signing key
  (:func:`csrf_field`); :func:`form` refuses a POST whose field does not match its cookie, and one
  whose ``Origin`` is another site.
- **Headers**: a CSP that allows only this site's own style sheet and script, no framing, no
  referrer (manage links carry a token), nothing cached.
- **Rate limits** (:class:`RateLimiter`): per client address and per email, in memory (one
  uvicorn process; a restart forgets them), with a bounded number of keys.
- **Bodies**: a form is at most :data:`MAX_BODY` bytes (with a Content-Length: a chunked body
  of unknown length is refused) and :data:`MAX_FIELDS` fields.
- **Hosts**: only the host of ``base_url`` (and loopback names) are answered
  (:func:`allowed_hosts`): a page reached through another name (DNS rebinding) gets 400.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "calroulette_csrf"
CSRF_FIELD = "csrf"
MAX_BODY = 32 * 1024
MAX_FIELDS = 40

CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "cache-control": "no-store",
}


class SecurityHeaders:
    """Adds :data:`HEADERS` to every response (and HSTS when the site is https); refuses a
    request body over :data:`MAX_BODY` bytes with 413 before reading it."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            await Response("Too large", status_code=413)(scope, receive, send)
            return
        if length is None and b"transfer-encoding" in headers:
            # a body of unknown length could pass MAX_BODY; browsers send a Content-Length
            await Response("Length required", status_code=411)(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                have = {k.lower() for k, _ in headers}
                for name, value in HEADERS.items():
                    if name.encode() not in have or name == "cache-control":
                        headers = [(k, v) for k, v in headers if k.lower() != name.encode()]
                        headers.append((name.encode(), value.encode()))
                if self.https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def allowed_hosts(base_url: str) -> list[str]:
    host = urlsplit(base_url).hostname or "localhost"
    return sorted({host, "localhost", "127.0.0.1", "::1", "[::1]"})


# --- CSRF ---------------------------------------------------------------------------------------


def _mac(key: str, value: str) -> str:
    return hmac.new(key.encode(), f"csrf:{value}".encode(), hashlib.sha256).hexdigest()


def csrf_field(request: Request) -> str:
    """The value of the hidden ``csrf`` field for a form on this page (and the cookie it is
    checked against is set on the response by :func:`set_csrf_cookie`)."""
    value = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_cookie", None)
    if not value:
        value = secrets.token_urlsafe(24)
        request.state.csrf_cookie = value
    return _mac(request.app.state.settings.secret_key, value)


def set_csrf_cookie(request: Request, response: Response) -> None:
    value = getattr(request.state, "csrf_cookie", None)
    if value and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE,
            value,
            httponly=True,
            samesite="strict",
            secure=request.app.state.https,
            path="/",
        )


async def form(request: Request, *, csrf: bool = True) -> FormData:
    """The POSTed form, bounded, after the CSRF check (403 when it fails)."""
    if csrf:
        _check_origin(request)
    try:
        data = await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_BODY)
    except HTTPException:
        raise
    except Exception:  # noqa: BLE001 - a malformed body is the sender's mistake
        raise HTTPException(400, "This form could not be read.") from None
    if csrf:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = data.get(CSRF_FIELD)
        key = request.app.state.settings.secret_key
        if (
            not cookie
            or not isinstance(sent, str)
            or not hmac.compare_digest(sent, _mac(key, cookie))
        ):
            raise HTTPException(
                403,
                "This form has expired or did not come from this site. Go back, reload the "
                "page and try again.",
            )
    return data


def _check_origin(request: Request) -> None:
    """A browser's ``Origin`` on a POST must be this site (a second line behind the token)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return
    here = urlsplit(str(request.app.state.settings.base_url))
    there = urlsplit(origin)
    same = (there.scheme, there.netloc) == (here.scheme, here.netloc)
    if not same and there.netloc != request.headers.get("host"):
        raise HTTPException(403, "This form was sent from another site.")


# --- rate limits --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limit:
    count: int
    per: dt.timedelta


LIMITS = {
    # per client address
    "signup": Limit(10, dt.timedelta(hours=1)),
    "preview": Limit(30, dt.timedelta(hours=1)),
    "link": Limit(10, dt.timedelta(hours=1)),
    "admin-login": Limit(10, dt.timedelta(minutes=15)),
    "form": Limit(120, dt.timedelta(hours=1)),  # any other POST
    # per email address typed into a form
    "signup-email": Limit(3, dt.timedelta(hours=1)),
    "link-email": Limit(3, dt.timedelta(hours=1)),
}


class RateLimiter:
    """Sliding windows of recent hits per (limit, key), at most ``max_keys`` keys (the oldest
    forgotten first), so a flood of addresses cannot grow it without bound."""

    def __init__(self, limits: dict[str, Limit] | None = None, max_keys: int = 50_000) -> None:
        self.limits = dict(LIMITS if limits is None else limits)
        self.max_keys = max_keys
        self._hits: OrderedDict[tuple[str, str], deque[dt.datetime]] = OrderedDict()

    def allow(self, name: str, key: str, now: dt.datetime) -> bool:
        """Count a hit; False when it is over the limit (the hit is not counted then)."""
        limit = self.limits[name]
        hits = self._hits.pop((name, key), None) or deque()
        while hits and hits[0] <= now - limit.per:
            hits.popleft()
        allowed = len(hits) < limit.count
        if allowed:
            hits.append(now)
        self._hits[(name, key)] = hits
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        return allowed

    def check(self, request: Request, name: str, key: str | None = None) -> None:
        """429 when ``name``'s limit for this client (or for ``key``, an email) is spent."""
        who = key.strip().lower() if key is not None else client(request)
        if not self.allow(name, who, request.app.state.clock()):
            raise HTTPException(
                429,
                "Too many tries. Wait a while and try again.",
                headers={"Retry-After": str(int(self.limits[name].per.total_seconds()))},
            )


def client(request: Request) -> str:
    """The client's address (uvicorn sets it from X-Forwarded-For only for a trusted proxy)."""
    return request.client.host if request.client else "unknown"


def context(request: Request, **values: Any) -> dict[str, Any]:
    """What every template gets: the request, the community, the CSRF field."""
    return {"request": request, "csrf": lambda: csrf_field(request), **values}
