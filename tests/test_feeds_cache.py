"""Conditional requests and the last good copy: an unchanged feed costs a 304, a feed that is down
keeps its member in the round for ``stale_days``, and the cache never holds an address."""

from __future__ import annotations

import datetime as dt
import logging
import stat
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from calroulette.feeds import ErrorKind, Feed, FeedStatus, FetchError, FetchLimits, fetch_feeds

from .support.feeds import (
    ETAG,
    ICS,
    NOW,
    SECRET,
    TUESDAY_FREE,
    cached_rows,
    community_of,
    etag_handler,
    free_of,
    secret_path,
)

FAST = FetchLimits(read_timeout=0.5, deadline=1.0, retries=0, backoff_factor=0.0)


def fetch(tmp_path: Path, url: str, now: dt.datetime = NOW) -> Feed | FetchError:
    community = community_of(tmp_path, {"ada": url})
    return fetch_feeds(community, now=now, limits=FAST)["ada@example.org"]


def test_unchanged_feed_costs_a_304_on_the_second_run(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(secret_path("ada")).respond_with_handler(etag_handler(ICS))
    url = httpserver.url_for(secret_path("ada"))
    first = fetch(tmp_path, url)
    second = fetch(tmp_path, url, NOW + dt.timedelta(days=7))
    assert isinstance(first, Feed) and first.status is FeedStatus.FRESH
    assert isinstance(second, Feed) and second.status is FeedStatus.NOT_MODIFIED
    assert second.body == ICS
    assert second.age(NOW + dt.timedelta(days=7)) == dt.timedelta(0)
    (_, r1), (req2, r2) = httpserver.log
    assert (r1.status_code, r2.status_code) == (200, 304)
    assert req2.headers.get("If-None-Match") == ETAG
    assert free_of(second) == TUESDAY_FREE


def test_last_modified_is_sent_back_as_if_modified_since(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    stamp = "Tue, 24 Nov 2026 08:00:00 GMT"

    def handle(request: Request) -> Response:
        if request.headers.get("If-Modified-Since") == stamp:
            return Response(status=304)
        return Response(ICS, headers={"Last-Modified": stamp})

    httpserver.expect_request("/x.ics").respond_with_handler(handle)
    fetch(tmp_path, httpserver.url_for("/x.ics"))
    second = fetch(tmp_path, httpserver.url_for("/x.ics"))
    assert isinstance(second, Feed) and second.status is FeedStatus.NOT_MODIFIED


def test_changed_feed_replaces_the_cached_copy(tmp_path: Path, httpserver: HTTPServer) -> None:
    changed = ICS.replace(b"T140000Z", b"T150000Z")
    httpserver.expect_oneshot_request("/x.ics").respond_with_handler(etag_handler(ICS, '"1"'))
    httpserver.expect_request("/x.ics").respond_with_handler(etag_handler(changed, '"2"'))
    fetch(tmp_path, httpserver.url_for("/x.ics"))
    second = fetch(tmp_path, httpserver.url_for("/x.ics"))
    third = fetch(tmp_path, httpserver.url_for("/x.ics"))
    assert isinstance(second, Feed) and second.status is FeedStatus.FRESH
    assert second.body == changed
    assert isinstance(third, Feed) and third.status is FeedStatus.NOT_MODIFIED
    assert third.body == changed


def test_feed_down_with_a_cache_3_days_old_uses_it_with_a_warning(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_oneshot_request(secret_path("ada")).respond_with_data(ICS)
    httpserver.expect_request(secret_path("ada")).respond_with_data("down", status=503)
    url = httpserver.url_for(secret_path("ada"))
    assert isinstance(fetch(tmp_path, url), Feed)
    later = NOW + dt.timedelta(days=3)
    feed = fetch(tmp_path, url, later)
    assert isinstance(feed, Feed) and feed.stale
    assert feed.age(later) == dt.timedelta(days=3)
    assert feed.problem is not None and feed.problem.startswith("HTTP 503 from")
    assert free_of(feed) == TUESDAY_FREE


@pytest.mark.parametrize(
    ("offset", "said"),
    [
        (dt.timedelta(minutes=10), "less than an hour"),
        (dt.timedelta(hours=5), "5 hours"),
        (dt.timedelta(days=-7), "less than an hour"),  # the clock went back: never "-168 hours"
    ],
)
def test_the_warning_says_how_old_the_copy_is_in_words(
    tmp_path: Path,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
    offset: dt.timedelta,
    said: str,
) -> None:
    httpserver.expect_oneshot_request(secret_path("ada")).respond_with_data(ICS)
    httpserver.expect_request(secret_path("ada")).respond_with_data("down", status=503)
    url = httpserver.url_for(secret_path("ada"))
    assert isinstance(fetch(tmp_path, url), Feed)
    with caplog.at_level(logging.WARNING, logger="calroulette.feeds"):
        feed = fetch(tmp_path, url, NOW + offset)
    assert isinstance(feed, Feed) and feed.stale
    (warning,) = [r.getMessage() for r in caplog.records if "last good copy" in r.getMessage()]
    assert warning.endswith(f"using the last good copy from {said} ago"), warning


def test_feed_down_with_a_cache_20_days_old_is_an_error(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_oneshot_request(secret_path("ada")).respond_with_data(ICS)
    httpserver.expect_request(secret_path("ada")).respond_with_data("gone", status=404)
    url = httpserver.url_for(secret_path("ada"))
    fetch(tmp_path, url)
    error = fetch(tmp_path, url, NOW + dt.timedelta(days=20))
    assert isinstance(error, FetchError)
    assert error.kind is ErrorKind.HTTP
    assert "the last good copy is 20 days old, older than stale_days = 14" in error.what
    assert SECRET not in str(error)


def test_a_login_page_in_place_of_the_feed_falls_back_to_the_last_good_copy(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_oneshot_request("/x.ics").respond_with_data(ICS)
    httpserver.expect_request("/x.ics").respond_with_data("<html>Sign in</html>")
    fetch(tmp_path, httpserver.url_for("/x.ics"))
    feed = fetch(tmp_path, httpserver.url_for("/x.ics"), NOW + dt.timedelta(days=1))
    assert isinstance(feed, Feed) and feed.stale
    assert feed.problem is not None and "web page" in feed.problem
    assert feed.body == ICS  # the login page was never stored


def test_a_body_rejected_by_validate_is_not_kept(tmp_path: Path, httpserver: HTTPServer) -> None:
    from calroulette.errors import FeedError

    def reject(body: bytes, member: str) -> None:
        raise FeedError(member, "calendar", "not valid iCalendar (ValueError); re-export it")

    httpserver.expect_request("/x.ics").respond_with_data(ICS)
    community = community_of(tmp_path, {"ada": httpserver.url_for("/x.ics")})
    error = fetch_feeds(community, now=NOW, limits=FAST, validate=reject)["ada@example.org"]
    assert isinstance(error, FetchError) and error.kind is ErrorKind.PARSE
    assert cached_rows(tmp_path / "cache") == []


def test_cache_files_never_contain_the_address(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request(secret_path("ada")).respond_with_handler(etag_handler(ICS))
    fetch(tmp_path, httpserver.url_for(secret_path("ada")))
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert [p.name for p in files] == ["feeds.sqlite"]  # closed: no -wal or -shm left
    ((key, body, _),) = cached_rows(tmp_path / "cache")
    assert body == ICS and SECRET not in key
    for path in files:
        assert SECRET not in str(path)
        data = path.read_bytes()
        assert SECRET.encode() not in data
        assert b"127.0.0.1" not in data and b"localhost" not in data
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_unwritable_cache_does_not_stop_the_fetch(tmp_path: Path, httpserver: HTTPServer) -> None:
    (tmp_path / "cache").write_text("a file where the directory should be")
    httpserver.expect_request("/x.ics").respond_with_data(ICS)
    feed = fetch(tmp_path, httpserver.url_for("/x.ics"))
    assert isinstance(feed, Feed) and feed.status is FeedStatus.FRESH


def test_copies_of_addresses_nobody_uses_are_pruned_after_stale_days(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/old.ics").respond_with_data(ICS)
    httpserver.expect_request("/new.ics").respond_with_data(ICS)
    fetch(tmp_path, httpserver.url_for("/old.ics"))  # ada's old address, cached at NOW
    cache = tmp_path / "cache"
    (old,) = cached_rows(cache)
    fetch(tmp_path, httpserver.url_for("/new.ics"), NOW + dt.timedelta(days=3))
    assert len(cached_rows(cache)) == 2  # the old copy could still be needed
    fetch(tmp_path, httpserver.url_for("/new.ics"), NOW + dt.timedelta(days=15))
    (new,) = cached_rows(cache)  # 15 days old and nobody's address: gone
    assert new[0] != old[0]


def test_a_304_keeps_the_copy_usable_counting_from_the_last_confirmation(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """stale_days counts from the server's last 304; a second 304 within the hour is not
    rewritten to disk, one later is."""
    httpserver.expect_request(secret_path("ada")).respond_with_handler(etag_handler(ICS))
    url = httpserver.url_for(secret_path("ada"))
    assert isinstance(fetch(tmp_path, url), Feed)  # 200 at NOW
    (written,) = cached_rows(tmp_path / "cache")
    assert isinstance(fetch(tmp_path, url, NOW + dt.timedelta(minutes=20)), Feed)  # 304
    assert cached_rows(tmp_path / "cache") == [written]  # confirmed 20 minutes ago: not rewritten
    ten_days = NOW + dt.timedelta(days=10)
    assert isinstance(fetch(tmp_path, url, ten_days), Feed)  # 304, recorded
    assert cached_rows(tmp_path / "cache") == [(*written[:2], "2026-12-04T12:00:00Z")]

    httpserver.clear()  # the server goes down; the copy counts from the 304 ten days in
    httpserver.expect_request(secret_path("ada")).respond_with_data("down", status=503)
    later = fetch(tmp_path, url, ten_days + dt.timedelta(days=13))  # stale_days = 14
    assert isinstance(later, Feed) and later.status is FeedStatus.STALE
    assert later.body == ICS
