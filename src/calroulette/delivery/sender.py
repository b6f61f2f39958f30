"""Hand what the ledger holds to the transport ``[delivery]`` asks for: one sender at a time.

:func:`deliver_pending` is the one way messages leave: whatever recorded them (a round, a
cancel, a move), the pending rows are drained here, under a lock, from the current week on.
"""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from calroulette.config import Community, DeliveryMethod
from calroulette.store import DeliveryStatus, Store
from calroulette.timeutil import IsoWeek, ensure_utc

from .dispatch import Report, Retry, drain
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
        pending = store.deliveries.rows(since=since, status=DeliveryStatus.PENDING)
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


def window(community: Community, week: IsoWeek, now: dt.datetime) -> IsoWeek:
    """The first week whose messages still go out when ``week`` is sent: this one's, whose
    meetings are still to come, never older ones (an invitation to a meeting that is over helps
    nobody)."""
    current = IsoWeek.containing(ensure_utc(now).astimezone(community.timezone).date())
    return min(week, current)


@contextmanager
def _one_sender(database: Path) -> Iterator[None]:
    """Hold an exclusive lock next to the database while sending: two runs at once (an overlapping
    cron job, a hand-run `send`) would otherwise both send the same pending rows. The second one
    waits, then finds nothing pending. (POSIX ``flock``; released by the OS if the process dies.)"""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; run one sender at a time
        yield
        return
    with Path(f"{database}.send-lock").open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
