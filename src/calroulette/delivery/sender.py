"""Hand what the ledger holds to the transport ``[delivery]`` asks for: one sender at a time.

:func:`deliver_pending` is the one way messages leave: whatever recorded them (a round, a
cancel, a move), the pending rows are drained here, under a lock, from the current week on.
:func:`deliver_now` sends chosen rows only (an account email from the web page), under the
same lock.
"""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from calroulette.config import Community, DeliveryMethod
from calroulette.invites import DeliveryKey
from calroulette.store import DeliveryStatus, Store
from calroulette.timeutil import IsoWeek, ensure_utc

from .dispatch import Report, Retry, drain, drain_rows
from .outbox import Outbox
from .rendering import channel_of
from .smtp import SmtpTransport, smtp_password
from .transport import SendError, Transport


@dataclass(frozen=True, slots=True)
class Sending:
    """How to send: the transport (None: from ``[delivery]``), retries, the sleep to use."""

    transport: Transport | None = None
    retry: Retry | None = None
    sleep: Callable[[float], None] = time.sleep


def open_transport(community: Community, *, ssl_context: ssl.SSLContext | None = None) -> Transport:
    """The transport ``[delivery]`` asks for. Secrets come from the environment or keyring."""
    d = community.delivery
    if d.method is DeliveryMethod.SMTP:
        return SmtpTransport(
            d,
            envelope_from=community.organizer_email,
            password=smtp_password(d.smtp_username),
            ssl_context=ssl_context,
        )
    if d.method is DeliveryMethod.DISCORD:
        from .discord import DiscordTransport, webhook_url  # requests: only for Discord

        return DiscordTransport(webhook_url(d.discord_webhook_env))
    return Outbox(d.outbox)


def deliver_pending(
    store: Store, community: Community, week: IsoWeek, now: dt.datetime, how: Sending
) -> Report:
    """Send what is pending in ``week`` and in any week from the current one on (:func:`window`):
    a run for next week also finishes this week's leftovers. A message that failed for now on
    an earlier run waits until its ``retry_at`` (reported as deferred)."""
    with _one_sender(store.path):
        since = window(community, week, now)
        pending = store.deliveries.rows(since=since, status=DeliveryStatus.PENDING, accounts=True)
        due = [r for r in pending if r.retry_at is None or r.retry_at <= now]
        deferred = [
            (r.key, r.last_error or "failed", r.retry_at)
            for r in pending
            if r.retry_at is not None and r.retry_at > now
        ]
        if not due:
            return Report(deferred=deferred)
        try:
            transport = how.transport or open_transport(community)
        except SendError as error:
            return Report(
                pending=[(r.key, error.message) for r in due],
                stopped=error.message,
                fatal=not error.transient,
                deferred=deferred,
            )
        report = drain(
            store.deliveries,
            transport,
            since=since,
            channel=channel_of(community),
            now=now,
            rate_limit_per_minute=community.delivery.rate_limit_per_minute,
            retry=how.retry,
            sleep=how.sleep,
        )
        report.deferred += deferred
        return report


NOW_WAIT = 10.0  # seconds deliver_now waits for another sender before leaving its rows pending
BUSY = "another `calroulette send` was under way; the next one sends it"


def deliver_now(
    store: Store,
    community: Community,
    keys: Collection[DeliveryKey],
    now: dt.datetime,
    how: Sending,
    *,
    wait: float = NOW_WAIT,
) -> Report:
    """Send these pending deliveries at once, and nothing else (a confirmation email while
    the week's round may be waiting): under the same lock as :func:`deliver_pending`, so the
    two never send a row twice, waited for at most ``wait`` seconds. What is not sent stays
    pending, for the next ``send`` or ``run`` to retry. One try each unless ``how.retry``
    says otherwise: the person waits for the page."""
    wanted = list(dict.fromkeys(keys))
    with _one_sender(store.path, wait=wait) as held:
        if not held:
            return Report(pending=[(k, BUSY) for k in wanted])
        todo = [
            row
            for key in wanted
            for row in store.deliveries.rows(
                meeting=key.meeting_uid,
                recipient=key.recipient,
                status=DeliveryStatus.PENDING,
                accounts=True,
            )
            if row.key == key
        ]
        if not todo:
            return Report()
        try:
            transport = how.transport or open_transport(community)
        except SendError as error:
            return Report(
                pending=[(r.key, error.message) for r in todo],
                stopped=error.message,
                fatal=not error.transient,
            )
        return drain_rows(
            store.deliveries,
            transport,
            todo,
            now=now,
            rate_limit_per_minute=community.delivery.rate_limit_per_minute,
            retry=how.retry or Retry(attempts=1),
            sleep=how.sleep,
        )


def window(community: Community, week: IsoWeek, now: dt.datetime) -> IsoWeek:
    """The first week whose messages still go out when ``week`` is sent: this one's, whose
    meetings are still to come, never older ones (an invitation to a meeting that is over helps
    nobody)."""
    current = IsoWeek.containing(ensure_utc(now).astimezone(community.timezone).date())
    return min(week, current)


@contextmanager
def _one_sender(database: Path, *, wait: float | None = None) -> Iterator[bool]:
    """Hold an exclusive lock next to the database while sending: two runs at once (an overlapping
    cron job, a hand-run `send`) would otherwise both send the same pending rows. The second one
    waits, then finds nothing pending. (POSIX ``flock``; released by the OS if the process dies.)
    With ``wait``, for at most that many seconds: yields False when the lock was not had."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; run one sender at a time
        yield True
        return
    with Path(f"{database}.send-lock").open("a+b") as handle:
        if wait is None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        elif not _lock_within(handle.fileno(), wait):
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _lock_within(fd: int, wait: float) -> bool:
    import fcntl

    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        else:
            return True
