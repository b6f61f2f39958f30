"""The member's own page (``/me/<token>``), "send me a link" (``/link``) and unsubscribe
(``/unsubscribe/<token>``): each route reads its form, calls one service function (in a worker
thread: they lock members.toml, read calendars and send email) and renders a page.

After a change the browser is sent back to the page (303, so a reload does not repeat it) with
``?done=<what>``; the page words it. A link that cannot be honoured gets a page saying so: 403
for one that is not ours (forged, damaged, for another purpose), 410 for one that expired, was
replaced by a newer one, or whose member left.

The one-click unsubscribe of RFC 8058 is a POST to the link itself with the body
``List-Unsubscribe=One-Click``, sent by a mail program without cookies: it has no CSRF field
(the signed token is the authority) and answers 200 with a short page, never a redirect. A GET
of that link (a person following it, or a link scanner) changes nothing: it shows a button.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar
from zoneinfo import available_timezones

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from calroulette import service
from calroulette.availability import FreeTime
from calroulette.config import Frequency
from calroulette.config.model import Unsubscribe
from calroulette.errors import UsageError
from calroulette.render.text import local_days
from calroulette.service.memberfields import Settings
from calroulette.service.memberlinks import LinkError, LinkProblem

from . import app
from .security import form

T = TypeVar("T")

DONE = {  # ?done= on the page after a change: what it says
    "paused": "You are paused.",
    "skipped": "You skip the next round.",
    "resumed": "Welcome back: you take part from the next round.",
    "settings": "Your settings are saved.",
    "calendar": "Your new calendar address is saved.",
    "nothing": "Nothing needed changing.",
}
SETTINGS = ("name", "timezone", "frequency", "topics", "unsubscribe")


@cache
def zones() -> tuple[str, ...]:
    """The time zones a member can choose: IANA names, without the legacy aliases."""
    legacy = ("Etc/", "SystemV/", "US/", "posix", "right/")
    return tuple(sorted(z for z in available_timezones() if "/" in z and not z.startswith(legacy)))


async def _call(request: Request, operation: Callable[[], T]) -> T:
    """``operation`` in a worker thread (it may wait for the lock on members.toml, read a
    calendar or send an email); a link that cannot be honoured becomes its page."""
    try:
        return await run_in_threadpool(operation)
    except LinkError as error:
        raise _LinkPage(error.problem) from None


class _LinkPage(Exception):
    """Raised to answer with the page saying why a link cannot be honoured."""

    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def _link_page(request: Request, problem: LinkProblem) -> Response:
    status = 403 if problem is LinkProblem.INVALID else 410
    return app.page(request, "link_problem.html", status=status, problem=problem.value)


def _key(request: Request) -> str:
    key: str = request.app.state.settings.secret_key
    return key


def _config(request: Request) -> Any:
    return request.app.state.settings.config


def _back(request: Request, token: str, done: str) -> Response:
    path = request.url_for("manage", token=token).path
    return RedirectResponse(f"{path}?done={done}", status_code=303)


def _problem(request: Request, token: str | None, message: str, status: int = 400) -> Response:
    return app.page(request, "manage_problem.html", status=status, message=message, token=token)


def _handles_links(
    endpoint: Callable[[Request], Any],
) -> Callable[[Request], Any]:
    async def wrapped(request: Request) -> Response:
        try:
            response: Response = await endpoint(request)
        except _LinkPage as shown:
            return _link_page(request, shown.problem)
        return response

    wrapped.__name__ = endpoint.__name__
    wrapped.__doc__ = endpoint.__doc__
    return wrapped


# --- the page -----------------------------------------------------------------------------


@_handles_links
async def manage(request: Request) -> Response:
    token = request.path_params["token"]
    when = app.now(request)
    shown = await _call(
        request, lambda: service.member_page(_config(request), token, now=when, key=_key(request))
    )
    done = DONE.get(request.query_params.get("done", ""))
    return app.page(
        request,
        "manage.html",
        view=shown,
        token=token,
        done=done,
        zones=zones(),
        frequencies=[f.value for f in Frequency],
        choices=[u.value for u in Unsubscribe],
    )


async def _posted(request: Request) -> tuple[str, Any]:
    """The token and the form of a POST to the page, CSRF and rate limit checked."""
    request.app.state.limiter.check(request, "form")
    data = await form(request)
    return request.path_params["token"], data


@_handles_links
async def pause(request: Request) -> Response:
    token, data = await _posted(request)
    text = str(data.get("until") or "").strip()
    try:
        until = dt.date.fromisoformat(text) if text else None
    except ValueError:
        return _problem(request, token, "Pause: give the date as YYYY-MM-DD, or leave it empty.")
    config, when, how = _config(request), app.now(request), request.app.state.sending
    try:
        await _call(
            request,
            lambda: service.member_pause(
                config, token, until, now=when, how=how, key=_key(request)
            ),
        )
    except UsageError as error:
        return _problem(request, token, str(error))
    return _back(request, token, "paused")


@_handles_links
async def skip(request: Request) -> Response:
    token, _ = await _posted(request)
    config, when, how = _config(request), app.now(request), request.app.state.sending
    change = await _call(
        request,
        lambda: service.member_skip(config, token, now=when, how=how, key=_key(request)),
    )
    return _back(request, token, "skipped" if change.changed else "nothing")


@_handles_links
async def resume(request: Request) -> Response:
    token, _ = await _posted(request)
    config, when = _config(request), app.now(request)
    change = await _call(
        request, lambda: service.member_resume(config, token, now=when, key=_key(request))
    )
    return _back(request, token, "resumed" if change.changed else "nothing")


@_handles_links
async def settings(request: Request) -> Response:
    token, data = await _posted(request)

    def given(prefix: str) -> Settings:
        values = {f: data.get(prefix + f) for f in SETTINGS}
        return Settings(**{f: v if isinstance(v, str) else None for f, v in values.items()})

    was = given("was_")  # what the form showed: a field left as it was is not written
    config, when = _config(request), app.now(request)
    try:
        change = await _call(
            request,
            lambda: service.member_settings(
                config, token, given(""), now=when, was=was, key=_key(request)
            ),
        )
    except UsageError as error:
        return _problem(request, token, str(error))
    return _back(request, token, "settings" if change.changed else "nothing")


@_handles_links
async def calendar(request: Request) -> Response:
    token, data = await _posted(request)
    request.app.state.limiter.check(request, "preview")
    address = str(data.get("calendar") or "")
    save = data.get("action") == "save"
    config, when, how = _config(request), app.now(request), request.app.state.sending
    try:
        change = await _call(
            request,
            lambda: service.member_calendar(
                config, token, address, save=save, now=when, how=how, key=_key(request)
            ),
        )
    except UsageError as error:
        return _problem(request, token, str(error))
    if change.saved:
        return _back(request, token, "calendar")
    result = change.preview.result
    days = local_days(result.free, change.member.timezone) if isinstance(result, FreeTime) else {}
    return app.page(
        request,
        "manage_calendar.html",
        status=400 if save else 200,
        change=change,
        days=sorted(days.items()),
        token=token,
        asked_to_save=save,
    )


@_handles_links
async def leave(request: Request) -> Response:
    token, data = await _posted(request)
    if data.get("confirm") != "yes":
        return _problem(request, token, "To leave, tick the box that says you mean it.")
    config, when, how = _config(request), app.now(request), request.app.state.sending
    change = await _call(
        request,
        lambda: service.member_leave(config, token, now=when, how=how, key=_key(request)),
    )
    return app.page(request, "manage_left.html", change=change)


# --- a fresh link -------------------------------------------------------------------------


async def link(request: Request) -> Response:
    if request.method != "POST":
        return app.page(request, "link.html")
    limiter = request.app.state.limiter
    limiter.check(request, "form")
    limiter.check(request, "link")
    data = await form(request)
    email = str(data.get("email") or "").strip()
    limiter.check(request, "link-email", email[:254])
    config, when, how = _config(request), app.now(request), request.app.state.sending
    base_url = request.app.state.settings.base_url
    try:
        # the same steps whether or not the address is a member's; the page never says which
        await run_in_threadpool(
            lambda: service.link_request(
                config, email, now=when, how=how, key=_key(request), base_url=base_url
            )
        )
    except UsageError as error:
        return app.page(request, "link.html", status=400, problem=str(error), email=email)
    return app.page(request, "link_sent.html")


# --- unsubscribe --------------------------------------------------------------------------


@_handles_links
async def unsubscribe(request: Request) -> Response:
    """GET: what unsubscribing does, and a button. POST: RFC 8058 one-click (no CSRF field,
    no cookie: the signed link is the authority)."""
    token = request.path_params["token"]
    config, when = _config(request), app.now(request)
    if request.method != "POST":
        would = await _call(
            request,
            lambda: service.unsubscribe(config, token, now=when, key=_key(request), apply=False),
        )
        if would.member is None:
            return _link_page(request, LinkProblem.GONE)
        return app.page(request, "unsubscribe.html", would=would, token=token)
    request.app.state.limiter.check(request, "form")
    data = await form(request, csrf=False)
    if data.get("List-Unsubscribe") != "One-Click":
        raise HTTPException(400, "This is the one-click unsubscribe address of an email.")
    return await _unsubscribe(request, token)


@_handles_links
async def unsubscribe_confirm(request: Request) -> Response:
    """The button of the unsubscribe page (a form with its CSRF field)."""
    request.app.state.limiter.check(request, "form")
    await form(request)
    return await _unsubscribe(request, request.path_params["token"])


async def _unsubscribe(request: Request, token: str) -> Response:
    config, when, how = _config(request), app.now(request), request.app.state.sending
    done = await _call(
        request,
        lambda: service.unsubscribe(config, token, now=when, how=how, key=_key(request)),
    )
    return app.page(request, "unsubscribe_done.html", done=done)


routes: list[BaseRoute] = [
    Route("/me/{token}", manage, name="manage"),
    Route("/me/{token}/pause", pause, methods=["POST"], name="manage_pause"),
    Route("/me/{token}/skip", skip, methods=["POST"], name="manage_skip"),
    Route("/me/{token}/resume", resume, methods=["POST"], name="manage_resume"),
    Route("/me/{token}/settings", settings, methods=["POST"], name="manage_settings"),
    Route("/me/{token}/calendar", calendar, methods=["POST"], name="manage_calendar"),
    Route("/me/{token}/leave", leave, methods=["POST"], name="manage_leave"),
    Route("/link", link, methods=["GET", "POST"], name="link"),
    Route("/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"], name="unsubscribe"),
    Route(
        "/unsubscribe/{token}/confirm",
        unsubscribe_confirm,
        methods=["POST"],
        name="unsubscribe_confirm",
    ),
]
