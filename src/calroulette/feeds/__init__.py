"""Members' calendar feeds: concurrent, conditional, cached fetching (``fetch``), the last good
copies on disk (``cache``), what comes back (``model``), one deadline per feed (``deadline``),
retries bounded in time (``retry``), the address guard on every connection (``guard``,
``client``), what went wrong (``failures``) and the fix for each common failure (``hints``)."""

from .cache import CachedFeed, FeedCache, cache_key
from .client import make_client
from .fetch import fetch_feeds
from .model import MAX_BYTES, ErrorKind, Feed, FeedStatus, FetchError, FetchLimits

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
    "make_client",
]
