"""What fetching gives back: a :class:`Feed` or a :class:`FetchError`, and the limits it keeps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from calroulette.config import Community
from calroulette.errors import FeedError

MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """How long and how much one feed may take: from the community's ``fetch_timeout`` and
    ``fetch_retries`` (:meth:`of`), or given whole by a caller (the tests shrink them)."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # between two bytes
    deadline: float = 90.0  # for the whole feed: connecting, headers, body and retries
    max_bytes: int = MAX_BYTES
    max_redirects: int = 5
    retries: int = 3
    backoff_factor: float = 1.0  # sleeps 0, 2, 4 … s between retries (unless Retry-After)
    max_retry_after: float = 60.0  # a longer Retry-After is cut to this

    @classmethod
    def of(cls, community: Community) -> FetchLimits:
        """The limits members.toml sets: the deadline, and no single wait longer than it."""
        deadline = float(community.fetch_timeout)
        return cls(
            connect_timeout=min(10.0, deadline),
            read_timeout=min(30.0, deadline),
            deadline=deadline,
            retries=community.fetch_retries,
            max_retry_after=min(60.0, deadline),
        )


class FeedStatus(StrEnum):
    FRESH = "fresh"  # downloaded on this run
    NOT_MODIFIED = "not-modified"  # the server answered 304: the cached copy is current
    STALE = "stale"  # this run's fetch failed: the last good copy was used
    LOCAL = "local"  # a file on disk


class ErrorKind(StrEnum):
    HTTP = "http"
    TIMEOUT = "timeout"
    TOO_LARGE = "too-large"
    NOT_ICALENDAR = "not-icalendar"
    CONNECTION = "connection"
    REDIRECTS = "redirects"
    FILE = "file"
    PARSE = "parse"  # the caller's ``validate`` rejected the body


@dataclass(frozen=True, slots=True)
class Feed:
    member: str
    body: bytes
    source: str  # the shown form: redacted URL or path
    fetched_at: dt.datetime  # when the source last sent or confirmed this body
    status: FeedStatus = FeedStatus.FRESH
    problem: str | None = None  # STALE: why this run's fetch failed
    etag: str | None = None

    @property
    def stale(self) -> bool:
        return self.status is FeedStatus.STALE

    def age(self, now: dt.datetime) -> dt.timedelta:
        """How old the body is: zero when the source sent or confirmed it on this run."""
        return max(now - self.fetched_at, dt.timedelta(0))


class FetchError(FeedError):
    """A feed that could not be fetched: ``kind`` says how, ``fix`` what to do about it."""

    def __init__(
        self,
        member: str,
        what: str,
        fix: str,
        *,
        kind: ErrorKind,
        http_status: int | None = None,
    ) -> None:
        super().__init__(member, "calendar", f"{what} ({fix})" if fix else what)
        self.what = what
        self.fix = fix
        self.kind = kind
        self.http_status = http_status
