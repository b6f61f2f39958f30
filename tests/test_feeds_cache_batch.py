"""The feed cache writes its rows a batch at a time: what another program sees, what this run
reads back, and what a run killed between two batches leaves."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

from pytest_httpserver import HTTPServer

from calroulette.feeds import Feed, FeedStatus, FetchLimits, fetch_feeds
from calroulette.feeds.cache import BATCH, FeedCache

from .support.feeds import ETAG, ICS, NOW, cached_rows, community_of, etag_handler, secret_path

FAST = FetchLimits(read_timeout=2.0, deadline=5.0, retries=0, backoff_factor=0.0)
LATER = NOW + dt.timedelta(days=7)


def address(n: int) -> str:
    return f"https://cal.example/{n}/secret.ics"


def test_rows_are_written_a_batch_at_a_time_and_the_rest_when_closed(tmp_path: Path) -> None:
    cache = FeedCache(tmp_path)
    for n in range(BATCH - 1):
        cache.store(address(n), b"body %d" % n, etag=f'"{n}"', last_modified=None, confirmed_at=NOW)
    assert cached_rows(tmp_path) == []  # kept, not written yet
    kept = cache.load(address(3))  # ... but this run reads it back
    assert kept is not None and (kept.body, kept.etag, kept.confirmed_at) == (b"body 3", '"3"', NOW)

    cache.store(address(BATCH), b"last", etag=None, last_modified=None, confirmed_at=NOW)
    assert len(cached_rows(tmp_path)) == BATCH  # a whole batch: written together

    again = cache.load(address(3))
    assert again is not None
    cache.confirm(address(3), again, LATER)
    assert {c for _, _, c in cached_rows(tmp_path)} == {"2026-11-24T12:00:00Z"}
    cache.close()
    assert {b: c for _, b, c in cached_rows(tmp_path)}[b"body 3"] == "2026-12-01T12:00:00Z"
    reopened = FeedCache(tmp_path)
    found = reopened.load(address(3))
    assert found is not None and found.confirmed_at == LATER
    reopened.close()


def test_a_community_of_several_batches_keeps_every_feed_and_its_validator(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    count = 2 * BATCH + 7
    names = [f"m{n}" for n in range(count)]
    for name in names:
        httpserver.expect_request(secret_path(name)).respond_with_handler(etag_handler(ICS))
    community = community_of(
        tmp_path, {name: httpserver.url_for(secret_path(name)) for name in names}
    )

    first = fetch_feeds(community, now=NOW, limits=FAST)
    assert len(cached_rows(tmp_path / "cache")) == count
    second = fetch_feeds(community, now=LATER, limits=FAST)

    assert {r.status for r in first.values() if isinstance(r, Feed)} == {FeedStatus.FRESH}
    assert all(isinstance(r, Feed) and r.body == ICS for r in second.values())
    assert {r.status for r in second.values() if isinstance(r, Feed)} == {FeedStatus.NOT_MODIFIED}
    assert (
        sum(1 for request, _ in httpserver.log if request.headers.get("If-None-Match") == ETAG)
        == count
    )
    # every confirmation written, though most were not a whole batch's worth at any moment
    assert {c for _, _, c in cached_rows(tmp_path / "cache")} == {"2026-12-01T12:00:00Z"}


def test_a_run_killed_between_batches_leaves_a_cache_that_works(tmp_path: Path) -> None:
    """SIGKILL after a batch and a half: the first batch is there, the half is not, and the
    file opens, reads and takes new rows as before."""
    script = textwrap.dedent(
        f"""
        import datetime as dt, os, signal
        from pathlib import Path
        from calroulette.feeds.cache import BATCH, FeedCache
        cache = FeedCache(Path({str(tmp_path)!r}))
        at = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
        for n in range(BATCH + BATCH // 2):
            cache.store(f"https://cal.example/{{n}}/secret.ics", b"body %d" % n,
                        etag=None, last_modified=None, confirmed_at=at)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], check=False)
    assert killed.returncode == -9
    bodies = {body for _, body, _ in cached_rows(tmp_path)}
    assert bodies == {b"body %d" % n for n in range(BATCH)}

    cache = FeedCache(tmp_path)
    assert (found := cache.load(address(0))) is not None and found.body == b"body 0"
    assert cache.load(address(BATCH)) is None  # lost with the kill: fetched afresh next run
    cache.store(address(BATCH), b"again", etag=None, last_modified=None, confirmed_at=NOW)
    cache.close()
    assert len(cached_rows(tmp_path)) == BATCH + 1
