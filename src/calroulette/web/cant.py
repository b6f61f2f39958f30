""" "Can't make it" (``/cant/<token>``): the link in every invitation and Discord post. The page
shows the meeting and the other times both are still free (read from the calendars now); a
button per time moves it for both (``/cant/<token>/move``, field ``start``), and "I can't this
week" cancels it and offers the partner someone else (``/cant/<token>/cancel``). Each route
calls one service operation in a worker thread (they read calendars and send messages).

A GET changes nothing (mail scanners and Discord's link crawler fetch links). After a change the
browser is sent back to the page (303) with ``?done=<what>``, so a reload repeats nothing, and
a second click of the same button changes nothing either (the service is idempotent). A link
that cannot be honoured gets a page saying so: 403 for one that is not ours (forged, damaged,
for another purpose) or not the meeting's attendee's, 410 for one that expired, was replaced,
or whose meeting has begun.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from calroulette import service
from calroulette.errors import UsageError
from calroulette.service.memberlinks import LinkError, LinkProblem

from . import app
from .security import form

DONE = {
    "moved": "Done: the meeting is moved, and everyone got the updated invitation.",
    "same": "The meeting is at that time already: nothing needed changing.",
    "cancelled": "Done: the meeting is cancelled, and your partner is told.",
}


def _settings(request: Request) -> tuple[Any, str, Any]:
    settings = request.app.state.settings
    return settings.config, settings.secret_key, request.app.state.sending


def _problem(request: Request, problem: LinkProblem) -> Response:
    status = 403 if problem is LinkProblem.INVALID else 410
    return app.page(request, "cant_problem.html", status=status, problem=problem.value)


async def cant(request: Request) -> Response:
    # the page reads two calendars: bounded per client like a calendar preview
    request.app.state.limiter.check(request, "preview")
    token = request.path_params["token"]
    config, key, _ = _settings(request)
    when = app.now(request)
    try:
        view = await run_in_threadpool(lambda: service.cant_page(config, token, now=when, key=key))
    except LinkError as error:
        return _problem(request, error.problem)
    done = DONE.get(request.query_params.get("done", ""))
    return app.page(request, "cant.html", view=view, token=token, done=done)


async def move(request: Request) -> Response:
    request.app.state.limiter.check(request, "form")
    data = await form(request)
    token = request.path_params["token"]
    start = data.get("start")
    config, key, how = _settings(request)
    when = app.now(request)
    if not isinstance(start, str) or not start.strip():
        return _cant_do(request, token, "Pick one of the times on the page.")
    try:
        moved = await run_in_threadpool(
            lambda: service.cant_move(config, token, start, now=when, how=how, key=key)
        )
    except LinkError as error:
        return _problem(request, error.problem)
    except UsageError as error:
        return _cant_do(request, token, str(error), status=409)
    return _back(request, token, "moved" if moved.changed else "same")


async def cancel(request: Request) -> Response:
    request.app.state.limiter.check(request, "form")
    await form(request)
    token = request.path_params["token"]
    config, key, how = _settings(request)
    when = app.now(request)
    try:
        await run_in_threadpool(
            lambda: service.cant_cancel(config, token, now=when, how=how, key=key)
        )
    except LinkError as error:
        return _problem(request, error.problem)
    except UsageError as error:
        return _cant_do(request, token, str(error), status=409)
    return _back(request, token, "cancelled")


def _back(request: Request, token: str, done: str) -> Response:
    path = request.url_for("cant", token=token).path
    return RedirectResponse(f"{path}?done={done}", status_code=303)


def _cant_do(request: Request, token: str, message: str, status: int = 400) -> Response:
    return app.page(request, "cant_refused.html", status=status, message=message, token=token)


routes: list[BaseRoute] = [
    Route("/cant/{token}", cant, name="cant"),
    Route("/cant/{token}/move", move, methods=["POST"], name="cant_move"),
    Route("/cant/{token}/cancel", cancel, methods=["POST"], name="cant_cancel"),
]
