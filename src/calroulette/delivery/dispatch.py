"""Drain the ledger through a transport: retries with backoff, a rate limit, and a report.

Exactly once, and where that stops:

- **outbox**: exact. The .eml file is renamed into place atomically and its existence is checked
  before writing, so a crash anywhere neither loses nor repeats a file.
- **SMTP**: the row is marked sent in its own durable transaction right after the server's 250
  for the message. A ``kill -9`` in the few microseconds between that 250 and the commit, or a
  lost connection after the final "." but before the reply (RFC 5321 §4.1.1.4 notes the same
  ambiguity), makes the next run send that one message again: at most one duplicate per crash,
  with the **same Message-ID and the same bytes** (the ledger stores them), which Gmail and most
  mail stores collapse, and which a calendar treats as the same UID and SEQUENCE. SMTP offers no
  way to ask a server whether it has a message, so no client can close this window.
- **Discord**: the same window as SMTP, without the Message-ID to collapse a repeat.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from calroulette.invites import Channel, DeliveryKey
from calroulette.store import Deliveries, DeliveryRow, DeliveryStatus
from calroulette.timeutil import IsoWeek

from .transport import SendError, Transport

log = logging.getLogger(__name__)

EXIT_PENDING = 75  # EX_TEMPFAIL (sysexits.h): try again later


@dataclass(frozen=True, slots=True)
class Retry:
    """Per message and run: ``attempts`` tries, waiting ``backoff``, then twice that, …; and
    across runs: a message still failing for now waits ``later`` before a run tries it again,
    then twice that after each run it fails in, up to ``latest`` (hourly cron: tried again after
    5, 10, 20, 40 minutes …, then every 6 hours until the meeting's week is over)."""

    attempts: int = 4
    backoff: float = 2.0
    max_wait: float = 120.0
    later: float = 300.0
    latest: float = 6 * 3600.0

    def wait(self, attempt: int, error: SendError) -> float:
        if error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self.max_wait)
        return min(self.backoff * 2.0**attempt, self.max_wait)

    def next_run(self, now: dt.datetime, attempts: int, error: SendError) -> dt.datetime:
        """When a run may try a message again after its ``attempts``-th failed try."""
        runs = max(1, -(-attempts // self.attempts))  # the runs it has failed in, this one too
        wait = min(self.later * 2.0 ** (runs - 1), self.latest)
        if error.retry_after is not None:
            wait = max(wait, min(error.retry_after, self.latest))
        return now + dt.timedelta(seconds=wait)


@dataclass(slots=True)
class Report:
    sent: list[DeliveryKey] = field(default_factory=list)
    already: list[DeliveryKey] = field(default_factory=list)  # found delivered by the transport
    pending: list[tuple[DeliveryKey, str]] = field(default_factory=list)
    failed: list[tuple[DeliveryKey, str]] = field(default_factory=list)  # permanent, this run
    # pending, not tried by this run: a failure for now earlier, retried from the given time
    deferred: list[tuple[DeliveryKey, str, dt.datetime]] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped early (transport down)
    fatal: bool = False  # stopped by something retrying cannot fix (login, TLS, no webhook)

    @property
    def exit_code(self) -> int:
        """0 all delivered; 75 pending, try again later; 1 needs the organizer (a rejected
        recipient, or a stop that retrying cannot fix: the messages stay pending meanwhile)."""
        if self.fatal:
            return 1
        if self.pending or self.deferred:
            return EXIT_PENDING
        return 1 if self.failed else 0


class RateLimit:
    """At most ``per_minute`` sends a minute, evenly spaced (relays throttle bursts)."""

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 60.0 / per_minute
        self.clock, self.sleep = clock, sleep
        self._next: float | None = None

    def wait(self) -> None:
        now = self.clock()
        if self._next is not None and now < self._next:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


def drain(
    ledger: Deliveries,
    transport: Transport,
    *,
    since: IsoWeek,
    channel: Channel,
    now: dt.datetime,
    rate_limit_per_minute: int = 60,
    retry: Retry | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Send every pending delivery on ``channel`` of the weeks from ``since`` on (the account
    emails among them)."""
    todo = ledger.rows(
        status=DeliveryStatus.PENDING, channel=channel, since=since, due=now, accounts=True
    )
    return drain_rows(
        ledger,
        transport,
        todo,
        now=now,
        rate_limit_per_minute=rate_limit_per_minute,
        retry=retry,
        sleep=sleep,
    )


def drain_rows(
    ledger: Deliveries,
    transport: Transport,
    todo: list[DeliveryRow],
    *,
    now: dt.datetime,
    rate_limit_per_minute: int = 60,
    retry: Retry | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Send ``todo`` (pending rows of the ledger), in order, as :func:`drain` does."""
    retry = retry or Retry()
    limit = RateLimit(rate_limit_per_minute, sleep=sleep)
    report = Report()
    unmarked: list[DeliveryKey] = []  # sent, waiting for the transport's flush to be marked

    def mark_sent(key: DeliveryKey | None = None) -> None:
        """Queue ``key`` to be marked; flush and mark the queue once it is a batch (or now,
        without a key)."""
        if key is not None:
            unmarked.append(key)
            if len(unmarked) < transport.batch:
                return
        transport.flush()
        ledger.mark_sent(unmarked, now)
        unmarked.clear()

    try:
        for index, row in enumerate(todo):
            if transport.already_delivered(row):
                report.already.append(row.key)
                mark_sent(row.key)
                continue
            if transport.rate_limited:
                limit.wait()
            error = _send_with_retries(ledger, transport, row, retry, sleep, now)
            if error is None:
                report.sent.append(row.key)
                mark_sent(row.key)
            elif error.transient:
                report.pending.append((row.key, error.message))
            elif not error.down:
                report.failed.append((row.key, error.message))
            if error is not None and error.down:
                if not error.transient:
                    report.pending.append((row.key, error.message))
                report.stopped = error.message
                report.fatal = not error.transient
                report.pending += [(r.key, "not attempted") for r in todo[index + 1 :]]
                break
        if unmarked:
            mark_sent()
    except SendError as error:  # the flush failed: those since the last one stay pending
        waiting = set(unmarked)
        report.sent = [k for k in report.sent if k not in waiting]
        report.already = [k for k in report.already if k not in waiting]
        report.pending += [(k, error.message) for k in unmarked]
        report.stopped = error.message
    finally:
        transport.close()
    return report


def _send_with_retries(
    ledger: Deliveries,
    transport: Transport,
    row: DeliveryRow,
    retry: Retry,
    sleep: Callable[[float], None],
    now: dt.datetime,
) -> SendError | None:
    """None once sent; the last error otherwise (the row is updated either way: a failure for
    now is tried again by a later run, from :meth:`Retry.next_run`)."""
    for attempt in range(retry.attempts):
        try:
            transport.send(row)
        except SendError as error:
            if not error.transient:
                if not error.down:
                    ledger.mark_failed(row.key, error.message)
                return error
            last = attempt + 1 == retry.attempts
            tries = row.attempts + attempt + 1
            retry_at = retry.next_run(now, tries, error) if last else None
            ledger.note_attempt(row.key, error.message, retry_at)
            if last:
                return error
            pause = retry.wait(attempt, error)
            log.info("%s: %s; retrying in %.1f s", row.key.recipient, error.message, pause)
            sleep(pause)
        else:
            # The crash window of the module docstring is between the line above and the row's
            # mark, which the caller makes once the transport's batch is flushed (SMTP: at once).
            return None
    raise AssertionError("unreachable: retry.attempts must be at least 1")
