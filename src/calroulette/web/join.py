"""The sign-up pages: ``/join`` (the form, its preview of the person's week, "check your
email") and ``/join/confirm/<token>`` (a button: opening the link changes nothing, so a mail
scanner that follows links cannot confirm; the button's POST does).

Each route parses the form, calls one operation (:func:`calroulette.service.signup_preview`,
``signup``, ``signup_confirm``) in a worker thread (they read a calendar and send an email) and
renders a template. The calendar address is never written back into a page: after a preview the
field is empty again and the person pastes it again to join (it would otherwise sit in the
page's HTML, in the browser's history and caches).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from calroulette import service
from calroulette.config import Community, DeliveryMethod, SignupMode
from calroulette.render.signups import free_grid
from calroulette.service.joining import SignupPreview
from calroulette.service.signupform import (
    ConfirmRefused,
    SignupForm,
    SignupInvalid,
    SignupUnavailable,
)

from . import app
from .security import form

ZONES = tuple(sorted(available_timezones()))
LABELS = {
    "name": "Your name",
    "email": "Your email",
    "calendar": "Calendar address",
    "timezone": "Time zone",
    "topics": "Topics",
    "team": "Team",
    "frequency": "How often",
}
REFUSED = {
    403: "This confirmation link is not valid. Open the whole link from the email (some mail "
    "programs break long links in two), or sign up again.",
    410: "This confirmation link has expired: links work for two days. Sign up again for a "
    "new link.",
}


async def join(request: Request) -> Response:
    """GET: the form. POST: ``action=preview`` (the form again, with the week) or
    ``action=join`` (record it, send the confirmation email, "check your email")."""
    here = app.community(request)
    if request.method == "GET":
        if _unavailable(here):
            return _closed(request, here)
        return _form_page(request, SignupForm(timezone=here.timezone.key), chosen=False)
    data = await form(request)
    if _unavailable(here):
        return _closed(request, here)
    typed = _typed(data)
    action = data.get("action")
    limiter = request.app.state.limiter
    if action == "preview":
        limiter.check(request, "preview")
        try:
            when = app.now(request)
            seen = await run_in_threadpool(lambda: service.signup_preview(here, typed, now=when))
        except SignupInvalid as invalid:
            return _form_page(request, typed, errors=invalid.problems, status=400)
        return _form_page(request, typed, preview=seen)
    if action != "join":
        raise HTTPException(400, "Choose “Preview my week” or “Join”.")
    limiter.check(request, "signup")
    if typed.email.strip():
        limiter.check(request, "signup-email", typed.email)
    settings = request.app.state.settings
    try:
        when = app.now(request)
        how = request.app.state.sending
        result = await run_in_threadpool(
            lambda: service.signup(
                settings.config,
                typed,
                now=when,
                how=how,
                base_url=settings.base_url,
                key=settings.secret_key,
            )
        )
    except SignupInvalid as invalid:
        return _form_page(request, typed, errors=invalid.problems, status=400)
    except SignupUnavailable:
        return _closed(request, here)
    return app.page(request, "join_sent.html", email=result.email, approve=result.approve)


async def join_confirm(request: Request) -> Response:
    """GET: where the sign-up stands, with a Confirm button. POST (the button): confirm it."""
    apply = request.method == "POST"
    if apply:
        await form(request)
        request.app.state.limiter.check(request, "form")
    settings = request.app.state.settings
    token = request.path_params["token"]
    try:
        when, how = app.now(request), request.app.state.sending
        result = await run_in_threadpool(
            lambda: service.signup_confirm(
                settings.config, token, now=when, how=how, apply=apply, key=settings.secret_key
            )
        )
    except ConfirmRefused as refused:
        raise HTTPException(refused.status, REFUSED[refused.status]) from None
    return app.page(request, "join_confirm.html", result=result, token=token)


routes: list[BaseRoute] = [
    Route("/join", join, methods=["GET", "POST"], name="join"),
    Route("/join/confirm/{token}", join_confirm, methods=["GET", "POST"], name="join_confirm"),
]


# --- helpers ------------------------------------------------------------------------------------


def _typed(data: FormData) -> SignupForm:
    def text(name: str) -> str:
        value = data.get(name)
        return value if isinstance(value, str) else ""

    return SignupForm(
        name=text("name"),
        email=text("email"),
        calendar=text("calendar"),
        timezone=text("timezone"),
        topics=text("topics"),
        team=text("team"),
        frequency=text("frequency") or "weekly",
    )


def _unavailable(here: Community) -> bool:
    return here.web.signup is SignupMode.CLOSED or here.delivery.method is DeliveryMethod.DISCORD


def _closed(request: Request, here: Community) -> Response:
    discord = here.delivery.method is DeliveryMethod.DISCORD
    return app.page(request, "join_closed.html", status=404, discord=discord)


def _form_page(
    request: Request,
    typed: SignupForm,
    *,
    errors: dict[str, str] | None = None,
    preview: SignupPreview | None = None,
    status: int = 200,
    chosen: bool = True,
) -> Response:
    """The form filled in as typed, but for the calendar address (never sent back)."""
    values: dict[str, Any] = {
        "form": typed,
        "errors": errors or {},
        "labels": LABELS,
        "zones": ZONES,
        "chosen": chosen,
        "preview": preview,
        "grid": None,
    }
    if preview is not None:
        monday = preview.week.monday()
        values["week_of"] = f"{monday:%A} {monday.day} {monday:%B}"
        if preview.result is not None:
            values["grid"] = free_grid(preview.week, preview.zone, preview.result.free)
    return app.page(request, "join.html", status=status, **values)
