"""The one way an operation reads calendars: fetch the feeds and compute free time together.

Every command that reads calendars goes through :func:`read_calendars`: each downloaded body is
read (in worker processes, with the free-time cache) while the others are still downloading,
and only a body that parses is kept as the feed's last good copy. A command that fetched without
that check would keep a broken body as the last good copy, and the next run's conditional
request would then be answered 304 for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from calroulette import feeds
from calroulette.availability import FreeTime, FreeTimeReader
from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.timeutil import IsoWeek


@dataclass(frozen=True, slots=True)
class Calendars:
    """What reading the calendars found: each feed as fetched (fresh, unchanged, a stale
    copy, or why it failed) and each member's free time or error, by email."""

    fetched: Mapping[str, feeds.Feed | feeds.FetchError]
    free: Mapping[str, FreeTime | FeedError]


def read_calendars(
    community: Community,
    week: IsoWeek,
    now: dt.datetime,
    members: Iterable[Member] | None = None,
    *,
    ignore_uids: frozenset[str] = frozenset(),
    limits: feeds.FetchLimits | None = None,
    progress: bool | None = None,
    horizon: int | None = None,
) -> Calendars:
    """Fetch the feeds of ``members`` (default: everyone) and compute their free time in
    ``week``. Events whose UID is in ``ignore_uids`` neither free nor block time (a meeting
    being moved, which its members may have accepted into their calendars). ``horizon``: how
    many weeks from ``week`` on each read caches (default: the reader's; 1 for a read that no
    later run will ask for again, such as a preview)."""
    chosen = None if members is None else list(members)  # None: the cache forgets old feeds
    expected = len(community.members if chosen is None else chosen)
    with FreeTimeReader(
        community, week, expected=expected, ignore_uids=ignore_uids, horizon=horizon
    ) as reader:
        fetched = feeds.fetch_feeds(
            community,
            chosen,
            now=now,
            limits=limits,
            validate=reader.validate,
            unchanged=reader.prepare,
            progress=progress,
        )
        free = reader.compute({k: _body(v) for k, v in fetched.items()})
    return Calendars(fetched, free)


def _body(fetched: feeds.Feed | FeedError) -> bytes | FeedError:
    return fetched if isinstance(fetched, FeedError) else fetched.body
