"""Members' calendar feeds: concurrent, conditional, cached fetching (``fetch``), the last good
copies on disk (``cache``) and the fix for each common failure (``hints``)."""

from .cache import CachedFeed, FeedCache, cache_key
from .fetch import (
    DEFAULT_LIMITS,
    ErrorKind,
    Feed,
    FeedStatus,
    FetchError,
    FetchLimits,
    fetch_feeds,
    make_session,
)

__all__ = [
    "DEFAULT_LIMITS",
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
