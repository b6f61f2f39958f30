"""Each fetch stands alone: a cookie one member's calendar host sets is never sent with another
member's request, while a cookie set by a redirect still reaches the address it redirects to."""

from __future__ import annotations

from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from calroulette.feeds import Feed, FeedStatus, fetch_feeds

from .support.feeds import FAST, ICS, NOW, community_of, fetch_one, secret_path


def test_a_cookie_set_for_one_member_is_not_sent_with_the_next(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    def first(request: Request) -> Response:
        response = Response(ICS, content_type="text/calendar")
        response.set_cookie("session", "ada-s-session", path="/")
        return response

    httpserver.expect_request(secret_path("ada")).respond_with_handler(first)
    httpserver.expect_request(secret_path("bob")).respond_with_data(
        ICS, content_type="text/calendar"
    )
    calendars = {name: httpserver.url_for(secret_path(name)) for name in ("ada", "bob")}
    # one fetch at a time, Ada's first: her cookie is back before Bob's request is made
    community = community_of(tmp_path, calendars, fetch_concurrency=1)

    results = fetch_feeds(community, now=NOW, limits=FAST)

    assert all(isinstance(r, Feed) and r.status is FeedStatus.FRESH for r in results.values())
    (ada, _), (bob, _) = httpserver.log
    assert ada.path == secret_path("ada") and bob.path == secret_path("bob")
    assert "Cookie" not in bob.headers


def test_a_cookie_set_by_a_redirect_reaches_its_target(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Some hosts set a cookie on the way to the calendar and want it back there."""

    # a path like a real secret address: the redirect's target is registered as a secret, and a
    # short one ("/calendar") would be masked in every later test's output too
    target = secret_path("final")

    def start(request: Request) -> Response:
        response = Response(status=302, headers={"Location": target})
        response.set_cookie("handoff", "ok", path="/")
        return response

    def final(request: Request) -> Response:
        if request.cookies.get("handoff") != "ok":
            return Response("no cookie", status=403)
        return Response(ICS, content_type="text/calendar")

    httpserver.expect_request(secret_path("ada")).respond_with_handler(start)
    httpserver.expect_request(target).respond_with_handler(final)

    feed = fetch_one(tmp_path, httpserver.url_for(secret_path("ada")))

    assert isinstance(feed, Feed) and feed.body == ICS
