"""urllib3's :class:`~urllib3.util.Retry`, bounded in time as well as in count.

Retry-After and exponential back-off can add up to minutes for one feed (three retries of a host
that asks for 60 s each). A cron job with hundreds of feeds wants each feed to give up within
its budget instead: this subclass stops retrying, and shortens its sleeps, once ``budget``
seconds have passed since the first failed attempt, or the feed's own deadline
(:mod:`.deadline`) has passed, whichever comes first. A wait that would use up all the time
left is not waited: no retry could finish after it, so the last answer is kept at once.
"""

from __future__ import annotations

import time
from typing import Any

from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util import Retry

from . import deadline


class DeadlineRetry(Retry):
    def __init__(
        self, *args: Any, budget: float = 90.0, first_failure: float | None = None, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.budget = budget
        self.first_failure = first_failure

    def new(self, **kw: Any) -> DeadlineRetry:
        # ``new`` is called for every failed attempt: the first one starts the clock.
        kw.setdefault("budget", self.budget)
        kw.setdefault("first_failure", self.first_failure or time.monotonic())
        return super().new(**kw)

    def remaining(self) -> float:
        left = self.budget
        if self.first_failure is not None:
            left -= time.monotonic() - self.first_failure
        due = deadline.current()
        return left if due is None else min(left, due.remaining())

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> DeadlineRetry:
        new = super().increment(method, url, response, error, _pool, _stacktrace)
        wait = Retry.get_backoff_time(new)
        header = response.headers.get("Retry-After") if response is not None else None
        if header and new.respect_retry_after_header:
            wait = Retry.parse_retry_after(new, header)
        if wait > 0 and wait >= new.remaining():
            reason = error or ResponseError("the wait before a retry would pass the deadline")
            raise MaxRetryError(_pool, url or "", reason)
        return new

    def is_exhausted(self) -> bool:
        return self.remaining() <= 0 or super().is_exhausted()

    def get_backoff_time(self) -> float:
        return max(0.0, min(super().get_backoff_time(), self.remaining()))

    def parse_retry_after(self, retry_after: str) -> float:
        return max(0.0, min(super().parse_retry_after(retry_after), self.remaining()))
