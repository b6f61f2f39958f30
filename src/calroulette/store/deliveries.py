"""The deliveries ledger: a transactional outbox in the history database.

Every message of a change (a round, a cancel, a move) is rendered and recorded as a ``pending``
row together with the change itself, in **one** transaction, before anything is sent; each row is
marked ``sent`` (or ``failed``) right after its transport confirms. A re-run drains what is still
pending and re-sends nothing else, and it sends the very bytes recorded the first time (same
Message-ID, same DTSTAMP).

The row's key is :class:`~calroulette.invites.DeliveryKey` (meeting, recipient, channel, kind,
sequence): a cancel or an updated invitation is a new delivery, never a repeat of an old one.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from calroulette.invites import Channel, DeliveryKey, Kind, Outgoing
from calroulette.timeutil import IsoWeek, format_utc

from .transaction import transaction


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # recorded, not yet accepted by the transport
    SENT = "sent"  # accepted (SMTP 250, HTTP 2xx, the outbox file in place)
    FAILED = "failed"  # refused for good (a rejected recipient); never retried by itself


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


_COLUMNS = (
    "meeting_uid, recipient, channel, kind, sequence, week, message_id, payload, ics, status,"
    " attempts, last_error"
)


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
    ) -> list[DeliveryRow]:
        """Deliveries in the order they were recorded, optionally filtered (``since``: weeks
        from this one on; ``2026-W49`` strings sort in time order)."""
        where, args = [], []
        for column, value in (("week", week), ("status", status), ("channel", channel)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(str(value))
        if since is not None:
            where.append("week >= ?")
            args.append(str(since))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT {_COLUMNS} FROM deliveries{clause} ORDER BY rowid"  # noqa: S608 - fixed names
        return [_row(tuple(r)) for r in self.conn.execute(sql, args)]

    def mark_sent(self, keys: Iterable[DeliveryKey], now: dt.datetime) -> None:
        """Mark every key sent, in one transaction (one flush of the database)."""
        sent_at = format_utc(now)
        with transaction(self.conn):
            self.conn.executemany(
                "UPDATE deliveries SET status = ?, sent_at = ?, attempts = attempts + 1,"
                " last_error = NULL WHERE key = ?",
                [(DeliveryStatus.SENT, sent_at, str(key)) for key in keys],
            )

    def mark_failed(self, key: DeliveryKey, error: str) -> None:
        """A permanent failure: recorded, reported, never retried by itself."""
        self.conn.execute(
            "UPDATE deliveries SET status = ?, attempts = attempts + 1, last_error = ?"
            " WHERE key = ?",
            (DeliveryStatus.FAILED, error, str(key)),
        )

    def note_attempt(self, key: DeliveryKey, error: str) -> None:
        """A transient failure: still pending, with what went wrong for the report."""
        self.conn.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ? WHERE key = ?",
            (error, str(key)),
        )


def _row(values: tuple[Any, ...]) -> DeliveryRow:
    uid, recipient, channel, kind, sequence, week, mid, payload, ics, status, attempts, err = values
    return DeliveryRow(
        DeliveryKey(str(uid), str(recipient), Channel(channel), Kind(kind), int(sequence)),
        IsoWeek.parse(str(week)),
        str(mid),
        bytes(payload),
        bytes(ics) if ics is not None else None,
        DeliveryStatus(status),
        int(attempts),
        str(err) if err is not None else None,
    )
