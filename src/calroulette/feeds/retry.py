"""urllib3's :class:`~urllib3.util.Retry`, bounded in time as well as in count.

Retry-After and exponential back-off can add up to minutes for one feed (three retries of a host
that asks for 60 s each). A cron job with hundreds of feeds wants each feed to give up within
its budget instead: this subclass stops retrying, and shortens its sleeps, once ``budget``
seconds have passed since the first failed attempt.
"""

from __future__ import annotations

import time
from typing import Any

from urllib3.util import Retry


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
        if self.first_failure is None:
            return self.budget
        return self.budget - (time.monotonic() - self.first_failure)

    def is_exhausted(self) -> bool:
        return self.remaining() <= 0 or super().is_exhausted()

    def get_backoff_time(self) -> float:
        return max(0.0, min(super().get_backoff_time(), self.remaining()))

    def parse_retry_after(self, retry_after: str) -> float:
        return max(0.0, min(super().parse_retry_after(retry_after), self.remaining()))
