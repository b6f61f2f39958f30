""" "Did you meet?" (``/met/<token>/yes`` and ``/met/<token>/no``): the two one-click links of
the follow-up email or Discord post the day after a meeting.

Following a link (GET) records its answer at once, as its email promises, and shows a page that
thanks the member and offers the other answer as a button (a POST to the other link, with the
form's CSRF field): a later answer replaces an earlier one. A link that cannot be honoured gets a
page saying why: 403 for one that is not ours (forged, damaged, made for another purpose) or
names someone who is not an attendee of the meeting, 410 for one that expired or was replaced by
a newer link, or whose meeting is not in the history or was cancelled.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from calroulette import service
from calroulette.service.met import MetError, MetProblem
from calroulette.store import Met

from . import app
from .security import form

STATUS = {
    MetProblem.INVALID: 403,
    MetProblem.NOT_ATTENDEE: 403,
    MetProblem.EXPIRED: 410,
    MetProblem.UNKNOWN: 410,
    MetProblem.CANCELLED: 410,
}


async def met(request: Request) -> Response:
    """GET: record the link's answer (one click). POST: the page's button, which changes it."""
    token = request.path_params["token"]
    try:
        answer = Met(request.path_params["answer"])
    except ValueError:
        raise HTTPException(404) from None
    request.app.state.limiter.check(request, "form")
    if request.method == "POST":
        await form(request)  # the CSRF check: the button is on our page
    config = request.app.state.settings.config
    key: str = request.app.state.settings.secret_key
    when = app.now(request)
    try:
        recorded = await run_in_threadpool(
            lambda: service.met_answer(config, token, answer, now=when, key=key)
        )
    except MetError as error:
        return app.page(
            request, "met_problem.html", status=STATUS[error.problem], problem=error.problem.value
        )
    other = Met.NO if answer is Met.YES else Met.YES
    return app.page(
        request,
        "met.html",
        answered=recorded,
        token=token,
        other=other.value,
        changed=request.method == "POST",
    )


routes: list[BaseRoute] = [
    Route("/met/{token}/{answer}", met, methods=["GET", "POST"], name="met"),
]
