"""The deliveries ledger: a transactional outbox in the history database.

Every message of a change (a round, a cancel, a move) is rendered and recorded as a ``pending``
row together with the change itself, in **one** transaction, before anything is sent; each row is
marked ``sent`` (or ``failed``) right after its transport confirms. A re-run drains what is still
pending and re-sends nothing else, and it sends the very bytes recorded the first time (same
Message-ID, same DTSTAMP).

The row's key is :class:`~calroulette.invites.DeliveryKey` (meeting, recipient, channel, kind,
sequence): a cancel or an updated invitation is a new delivery, never a repeat of an old one.

One-off emails about a person's account (:attr:`Kind.ACCOUNT`: confirm a sign-up, welcome, a
link to their page) go through the same ledger, filed under the week they were sent in, so that
a failed one is retried by the next ``send``; they are no part of any round, and a week's
:meth:`~Deliveries.summary` and :meth:`~Deliveries.rows` leave them out unless asked.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from calroulette.invites import Channel, DeliveryKey, Kind, Outgoing
from calroulette.matching import RoundStatus
from calroulette.timeutil import IsoWeek, format_utc, parse_utc

from .transaction import transaction


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # recorded, not yet accepted by the transport (maybe waiting to retry)
    SENT = "sent"  # accepted (SMTP 250, HTTP 2xx, the outbox file in place)
    FAILED = "failed"  # refused for good (a rejected recipient): only `send --retry-failed`
    REPLACED = "replaced"  # never to go out: a corrected message replaces it


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    key: DeliveryKey
    week: IsoWeek
    message_id: str
    payload: bytes
    ics: bytes | None
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    retry_at: dt.datetime | None = None  # pending after a failure: not tried before this


class RoundState(StrEnum):
    """What people have been told of a round: derived from its status and its deliveries."""

    PLANNED = "planned"  # recorded; nothing sent
    SENDING = "sending"  # some messages still to go (waiting for a retry, or a transport)
    SENT = "sent"  # every message went out
    PARTLY_SENT = "partly-sent"  # some were refused for good: see the failures


@dataclass(frozen=True, slots=True)
class WeekDeliveries:
    """Where a week's messages stand, every run's together: what people were told."""

    sent: int = 0
    pending: int = 0
    failed: int = 0
    failures: tuple[tuple[DeliveryKey, str], ...] = ()  # (key, the error) of each failed one
    waiting: tuple[tuple[DeliveryKey, str, dt.datetime | None], ...] = ()  # pending after an error

    @property
    def total(self) -> int:
        """Every message that is to go out (replaced ones are not)."""
        return self.sent + self.pending + self.failed

    def state(self, status: RoundStatus) -> RoundState:
        if status is RoundStatus.PLANNED:
            return RoundState.PLANNED
        if self.failed:
            return RoundState.PARTLY_SENT
        return RoundState.SENDING if self.pending else RoundState.SENT


_COLUMNS = (
    "meeting_uid, recipient, channel, kind, sequence, week, message_id, payload, ics, status,"
    " attempts, last_error, retry_at"
)
_NOT_ACCOUNT = "kind != 'account'"  # Kind.ACCOUNT: not part of a week's round


class Deliveries:
    """The deliveries table of one connection. Writes to many rows take their own transaction;
    :meth:`record` writes inside the caller's."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def record(self, week: IsoWeek, items: Iterable[Outgoing], now: dt.datetime) -> int:
        """Record every delivery as pending, inside the caller's transaction; rows already known
        are left alone. Returns how many rows were new."""
        created = format_utc(now)
        new = 0
        for item in items:
            k = item.key
            cursor = self.conn.execute(
                "INSERT OR IGNORE INTO deliveries (key, week, meeting_uid, recipient, channel,"
                " kind, sequence, message_id, payload, ics, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    str(k),
                    str(week),
                    k.meeting_uid,
                    k.recipient,
                    k.channel,
                    k.kind,
                    k.sequence,
                    item.message_id,
                    item.payload,
                    item.ics,
                    created,
                ),
            )
            new += cursor.rowcount
        return new

    def rows(
        self,
        *,
        week: IsoWeek | None = None,
        status: DeliveryStatus | None = None,
        channel: Channel | None = None,
        since: IsoWeek | None = None,
        due: dt.datetime | None = None,
        meeting: str | None = None,
        recipient: str | None = None,
        accounts: bool = False,
    ) -> list[DeliveryRow]:
        """Deliveries in the order they were recorded, optionally filtered (``since``: weeks
        from this one on; ``2026-W49`` strings sort in time order; ``due``: none waiting to be
        retried after that time). The account emails only with ``accounts`` (the sender's
        business: a round's readers never see them)."""
        where, args = ([], []) if accounts else ([_NOT_ACCOUNT], [])
        filters = (
            ("week", week),
            ("status", status),
            ("channel", channel),
            ("meeting_uid", meeting),
            ("recipient", recipient),
        )
        for column, value in filters:
            if value is not None:
                where.append(f"{column} = ?")
                args.append(str(value))
        if since is not None:
            where.append("week >= ?")
            args.append(str(since))
        if due is not None:
            where.append("(retry_at IS NULL OR retry_at <= ?)")
            args.append(format_utc(due))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT {_COLUMNS} FROM deliveries{clause} ORDER BY rowid"  # noqa: S608 - fixed names
        return [_row(tuple(r)) for r in self.conn.execute(sql, args)]

    def recipients(self, week: IsoWeek, meeting_uid: str, status: DeliveryStatus) -> set[str]:
        """Who has a delivery about ``meeting_uid`` in ``week`` with ``status`` (no bytes read)."""
        rows = self.conn.execute(
            "SELECT recipient FROM deliveries WHERE week = ? AND meeting_uid = ? AND status = ?",
            (str(week), meeting_uid, status),
        )
        return {str(r) for (r,) in rows}

    def mark_sent(self, keys: Iterable[DeliveryKey], now: dt.datetime) -> None:
        """Mark every key sent, in one transaction (one flush of the database)."""
        sent_at = format_utc(now)
        with transaction(self.conn):
            self.conn.executemany(
                "UPDATE deliveries SET status = ?, sent_at = ?, attempts = attempts + 1,"
                " last_error = NULL, retry_at = NULL WHERE key = ?",
                [(DeliveryStatus.SENT, sent_at, str(key)) for key in keys],
            )

    def mark_failed(self, key: DeliveryKey, error: str) -> None:
        """A permanent failure: recorded, reported, never retried by itself."""
        self.conn.execute(
            "UPDATE deliveries SET status = ?, attempts = attempts + 1, last_error = ?"
            " WHERE key = ?",
            (DeliveryStatus.FAILED, error, str(key)),
        )

    def note_attempt(
        self, key: DeliveryKey, error: str, retry_at: dt.datetime | None = None
    ) -> None:
        """A transient failure: still pending, with what went wrong for the report, and when
        to try again (None: the next run)."""
        self.conn.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, retry_at = ?"
            " WHERE key = ?",
            (error, format_utc(retry_at) if retry_at else None, str(key)),
        )

    def retry_failed(self, *, week: IsoWeek | None = None, since: IsoWeek | None = None) -> int:
        """Every failed message (of ``week``, or of the weeks from ``since`` on) pending again,
        and every one waiting to retry due now; inside the caller's transaction. The rows keep
        their bytes: the same Message-ID goes out. Returns how many failed ones came back."""
        clause, args = self._weeks(week, since)
        back = self.conn.execute(
            f"UPDATE deliveries SET status = ?, retry_at = NULL WHERE status = ?{clause}",  # noqa: S608
            (DeliveryStatus.PENDING, DeliveryStatus.FAILED, *args),
        ).rowcount
        self.conn.execute(
            f"UPDATE deliveries SET retry_at = NULL WHERE status = ?{clause}",  # noqa: S608
            (DeliveryStatus.PENDING, *args),
        )
        return back

    def replace(self, keys: Iterable[DeliveryKey]) -> None:
        """These will never go out (a corrected message replaces each); inside the caller's
        transaction. A row already sent stays sent: it happened."""
        self.conn.executemany(
            "UPDATE deliveries SET status = ?, retry_at = NULL WHERE key = ? AND status != ?",
            [(DeliveryStatus.REPLACED, str(key), DeliveryStatus.SENT) for key in keys],
        )

    def summary(self, week: IsoWeek) -> WeekDeliveries:
        """Where ``week``'s messages stand: counts by status, and the key and error of each one
        that failed or waits to be retried (no message bytes are read: `history` asks this of
        every week, and a week of 10,000 members holds 150 MB of messages)."""
        counts = dict.fromkeys(DeliveryStatus, 0)
        for status, n in self.conn.execute(
            "SELECT status, count(*) FROM deliveries WHERE week = ? AND kind != 'account'"
            " GROUP BY status",
            (str(week),),
        ):
            counts[DeliveryStatus(status)] = int(n)
        failures: list[tuple[DeliveryKey, str]] = []
        waiting: list[tuple[DeliveryKey, str, dt.datetime | None]] = []
        for uid, recipient, channel, kind, sequence, status, error, at in self.conn.execute(
            "SELECT meeting_uid, recipient, channel, kind, sequence, status, last_error, retry_at"
            " FROM deliveries WHERE week = ? AND kind != 'account' AND (status = ? OR"
            " (status = ? AND last_error IS NOT NULL)) ORDER BY rowid",
            (str(week), DeliveryStatus.FAILED, DeliveryStatus.PENDING),
        ):
            key = DeliveryKey(str(uid), str(recipient), Channel(channel), Kind(kind), int(sequence))
            if status == DeliveryStatus.FAILED:
                failures.append((key, str(error or "refused")))
            else:
                waiting.append((key, str(error), parse_utc(at) if at else None))
        return WeekDeliveries(
            counts[DeliveryStatus.SENT],
            counts[DeliveryStatus.PENDING],
            counts[DeliveryStatus.FAILED],
            tuple(failures),
            tuple(waiting),
        )

    @staticmethod
    def _weeks(week: IsoWeek | None, since: IsoWeek | None) -> tuple[str, tuple[str, ...]]:
        if week is not None:
            return " AND week = ?", (str(week),)
        if since is not None:
            return " AND week >= ?", (str(since),)
        return "", ()


def _row(values: tuple[Any, ...]) -> DeliveryRow:
    uid, recipient, channel, kind, sequence, week, mid, payload, ics, status, attempts, err, at = (
        values
    )
    return DeliveryRow(
        DeliveryKey(str(uid), str(recipient), Channel(channel), Kind(kind), int(sequence)),
        IsoWeek.parse(str(week)),
        str(mid),
        bytes(payload),
        bytes(ics) if ics is not None else None,
        DeliveryStatus(status),
        int(attempts),
        str(err) if err is not None else None,
        parse_utc(at) if at else None,
    )
