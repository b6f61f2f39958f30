"""The ASGI app: routes from :mod:`.join`, :mod:`.manage` and :mod:`.admin`, templates, static
files, the security middleware and the error pages.

Each request reads members.toml again (when it changed: by modification time and size), so the
organizer's hand edits and ``members add`` are seen at once, and the web never writes an old copy
back: every write goes through the service, which edits the file in place under a lock.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from calroulette import service
from calroulette.config import Community
from calroulette.redact import SECRETS
from calroulette.service.web import WebSettings

from . import admin, cant, join, manage, met
from .security import RateLimiter, SecurityHeaders, allowed_hosts, context, set_csrf_cookie

log = logging.getLogger("calroulette.web")
STATIC = Path(__file__).parent / "static"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    settings: WebSettings,
    *,
    clock: Callable[[], dt.datetime] = _now,
    sending: Any = None,
    limiter: RateLimiter | None = None,
) -> Starlette:
    """The app for ``settings`` (from :func:`calroulette.service.serve`). ``clock`` and
    ``sending`` (a :class:`calroulette.delivery.Sending`) are for tests."""
    https = settings.base_url.startswith("https://")
    app = Starlette(
        routes=[
            Route("/", home, name="home"),
            *join.routes,
            *manage.routes,
            *admin.routes,
            *cant.routes,
            *met.routes,
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[
            Middleware(AccessLog),
            Middleware(SecurityHeaders, https=https),
            Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings.base_url)),
            Middleware(Crashes),
        ],
        exception_handlers={HTTPException: _error},
    )
    environment = Environment(
        loader=PackageLoader("calroulette.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    app.state.settings = settings
    app.state.https = https
    app.state.clock = clock
    app.state.sending = sending
    app.state.limiter = limiter or RateLimiter()
    app.state.templates = Jinja2Templates(env=environment)
    app.state.members = _Members(settings.config)
    return app


def community(request: Request) -> Community:
    """members.toml as it is now."""
    members: _Members = request.app.state.members
    return members.get()


def now(request: Request) -> dt.datetime:
    clock: Callable[[], dt.datetime] = request.app.state.clock
    return clock()


def page(request: Request, template: str, status: int = 200, **values: Any) -> Response:
    """``template`` rendered with the community and ``values``; sets the CSRF cookie the page's
    forms need."""
    templates: Jinja2Templates = request.app.state.templates
    values.setdefault("community", community(request))
    response = templates.TemplateResponse(
        request, template, context(request, **values), status_code=status
    )
    set_csrf_cookie(request, response)
    return response


async def home(request: Request) -> Response:
    return page(request, "home.html")


class _Members:
    """members.toml, loaded again when its modification time or size changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._community: Community | None = None

    def get(self) -> Community:
        stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._community is None or stamp != self._stamp:
                self._community = service.load(self.path, members=False)
                self._stamp = stamp
            return self._community


# --- errors and the access log ------------------------------------------------------------------


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {
        400: "Bad request",
        403: "Not allowed",
        404: "Not found",
        405: "Not allowed",
        410: "Link expired",
        411: "Length required",
        413: "Too large",
        429: "Too many tries",
    }
    detail = exc.detail if exc.status_code != 404 else "There is no page at this address."
    try:
        response = page(
            request,
            "error.html",
            status=exc.status_code,
            title=titles.get(exc.status_code, "Error"),
            message=detail,
        )
    except Exception:  # noqa: BLE001 - members.toml unreadable: a plain page still answers
        response = HTMLResponse(
            f"<!DOCTYPE html><title>Error</title><p>{exc.status_code}</p>",
            status_code=exc.status_code,
        )
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


class Crashes:
    """A bug or a broken members.toml: logged (redacted) for the organizer, a plain page for
    the visitor, never a traceback. Caught inside the middleware, not by an ``Exception``
    handler: Starlette runs that one outside every middleware (so its page had none of the
    security headers) and then re-raises to uvicorn, whose log prints the traceback unmasked."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # noqa: BLE001 - answered, and logged masked
            log.error(
                "web: %s %s: %s", scope["method"], _path(scope["path"]), SECRETS.mask(repr(exc))
            )
            if not started:  # else the page is under way: nothing more can be sent
                await HTMLResponse(
                    "<!DOCTYPE html><title>Something went wrong</title><p>Something went wrong "
                    "on our side. The organizer has been told; please try again later.</p>",
                    status_code=500,
                )(scope, receive, send)


_TOKEN_PATH = re.compile(r"^(/(?:me|unsubscribe|join/confirm|cant|met)/)[^/]+")


def _path(path: str) -> str:
    """A path fit for a log: the token in a signed link replaced by …"""
    return _TOKEN_PATH.sub(r"\1…", path)


class AccessLog:
    """One log line per request, with the token of a signed link left out (uvicorn's own
    access log is switched off by ``serve``: it would log the tokens)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]

        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            client = scope.get("client") or ("-", 0)
            log.info("%s %s %s %s", client[0], scope["method"], _path(scope["path"]), status[0])
