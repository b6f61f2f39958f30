"""Members' calendar feeds: concurrent, conditional, cached fetching (``fetch``), the last good
copies on disk (``cache``), what comes back (``model``), one deadline per feed (``deadline``),
retries bounded in time (``retry``), the address guard on every connection (``guard``,
``session``), what went wrong (``failures``) and the fix for each common failure (``hints``)."""

from .cache import CachedFeed, FeedCache, cache_key
from .fetch import fetch_feeds
from .model import MAX_BYTES, ErrorKind, Feed, FeedStatus, FetchError, FetchLimits
from .session import make_session

__all__ = [
    "MAX_BYTES",
    "CachedFeed",
    "ErrorKind",
    "Feed",
    "FeedCache",
    "FeedStatus",
    "FetchError",
    "FetchLimits",
    "cache_key",
    "fetch_feeds",
    "make_session",
]
