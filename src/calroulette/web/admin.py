"""The organizer's page (``/admin``): this week's and next week's round, where every message
stands, what the last round read of each calendar (and ``check`` on demand), the sign-ups waiting
for approval.

Behind the password in ``CALROULETTE_ADMIN_PASSWORD`` (or the keyring; none: the page is
switched off and answers 404). Logging in (rate-limited per client, compared in constant time)
sets a session cookie: a token signed for :attr:`~calroulette.tokens.Purpose.ADMIN` (12 hours),
under a key derived from the signing key *and* the password, so changing the password ends every
session. The cookie is ``HttpOnly``, ``SameSite=Strict``, ``Secure`` on an https site, and sent
only to ``/admin``. Every form carries the CSRF field, logging in included.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from calroulette import service
from calroulette.errors import CalrouletteError
from calroulette.service.web import WebSettings
from calroulette.tokens import Purpose, TokenError, sign, verify

from . import app
from .security import form

COOKIE = "calroulette_admin"
SUBJECT = "admin"
OFF = "The organizer's page is switched off on this server (no organizer password is set)."
NOTICES = {  # ?done= after a change: what the page says
    "approved": "The sign-up is approved: they are a member now.",
    "rejected": "The sign-up is rejected.",
    "out": "You are logged out.",
}


def _settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    if settings.admin_password is None:
        raise HTTPException(404, OFF)
    return settings


def _session_key(settings: WebSettings) -> str:
    """The key of the session cookie: the signing key bound to the password, so a new password
    ends every session."""
    password = (settings.admin_password or "").encode()
    bound = hmac.new(settings.secret_key.encode(), b"admin:" + password, hashlib.sha256)
    return f"{settings.secret_key}:{bound.hexdigest()}"


def _logged_in(request: Request) -> bool:
    settings = _settings(request)
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return False
    try:
        claim = verify(_session_key(settings), Purpose.ADMIN, cookie, now=app.now(request))
    except TokenError:
        return False
    return claim.subject == SUBJECT


def _require_login(request: Request) -> None:
    if not _logged_in(request):
        raise HTTPException(403, "Log in on the organizer's page first.")


def _config(request: Request) -> Path:
    return _settings(request).config


def _back(request: Request, done: str) -> Response:
    return RedirectResponse(f"{request.url_for('admin').path}?done={done}", status_code=303)


async def _overview(request: Request, **values: Any) -> Response:
    config, when = _config(request), app.now(request)
    overview = await run_in_threadpool(lambda: service.admin_overview(config, now=when))
    done = NOTICES.get(request.query_params.get("done", ""))
    return app.page(request, "admin.html", view=overview, done=done, **values)


# --- routes ---------------------------------------------------------------------------------------


async def admin(request: Request) -> Response:
    """The login form, or the overview once logged in."""
    if request.app.state.settings.admin_password is None:
        return app.page(request, "error.html", status=404, title="Switched off", message=OFF)
    if not _logged_in(request):
        done = NOTICES.get(request.query_params.get("done", ""))
        return app.page(request, "admin_login.html", done=done)
    return await _overview(request)


async def login(request: Request) -> Response:
    settings = _settings(request)
    request.app.state.limiter.check(request, "admin-login")
    data = await form(request)
    given = data.get("password")
    expected = settings.admin_password or ""
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected.encode()):
        return app.page(
            request, "admin_login.html", status=403, problem="That is not the password."
        )
    token = sign(_session_key(settings), Purpose.ADMIN, SUBJECT, now=app.now(request))
    response = RedirectResponse(request.url_for("admin").path, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(Purpose.ADMIN.max_age.total_seconds()),
        path="/admin",
        secure=request.app.state.https,
        httponly=True,
        samesite="strict",
    )
    return response


async def logout(request: Request) -> Response:
    _settings(request)
    await form(request)
    response = _back(request, "out")
    response.delete_cookie(
        COOKIE, path="/admin", secure=request.app.state.https, httponly=True, samesite="strict"
    )
    return response


async def _decide(request: Request) -> tuple[Path, str]:
    """The sign-up a POST decides on, after the CSRF check and the session."""
    _settings(request)
    request.app.state.limiter.check(request, "form")
    await form(request)
    _require_login(request)
    return _config(request), request.path_params["signup"]


async def approve(request: Request) -> Response:
    config, signup = await _decide(request)
    when, how = app.now(request), request.app.state.sending
    try:
        await run_in_threadpool(lambda: service.members_approve(config, signup, now=when, how=how))
    except CalrouletteError as error:
        raise HTTPException(400, str(error)) from None
    return _back(request, "approved")


async def reject(request: Request) -> Response:
    config, signup = await _decide(request)
    when, how = app.now(request), request.app.state.sending
    try:
        await run_in_threadpool(lambda: service.members_reject(config, signup, now=when, how=how))
    except CalrouletteError as error:
        raise HTTPException(400, str(error)) from None
    return _back(request, "rejected")


async def check(request: Request) -> Response:
    """``check`` now: every calendar fetched and judged (the page waits for it)."""
    _settings(request)
    request.app.state.limiter.check(request, "form")
    await form(request)
    _require_login(request)
    community, when = app.community(request), app.now(request)
    health = await run_in_threadpool(lambda: service.check(community, now=when, progress=False))
    return await _overview(request, health=health)


routes: list[BaseRoute] = [
    Route("/admin", admin, name="admin"),
    Route("/admin/login", login, methods=["POST"], name="admin_login"),
    Route("/admin/logout", logout, methods=["POST"], name="admin_logout"),
    Route("/admin/check", check, methods=["POST"], name="admin_check"),
    Route("/admin/signups/{signup}/approve", approve, methods=["POST"], name="admin_approve"),
    Route("/admin/signups/{signup}/reject", reject, methods=["POST"], name="admin_reject"),
]
