"""The deliveries ledger: a transactional outbox in the history database.

Every message of a round is rendered and recorded as a ``pending`` row, all in **one** transaction,
before anything is sent; each row is marked ``sent`` (or ``failed``) in its own transaction right
after its transport confirms. A re-run drains what is still pending and re-sends nothing else,
and it sends the very bytes recorded the first time (same Message-ID, same DTSTAMP).

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
from calroulette.store import DELIVERIES_SCHEMA, transaction
from calroulette.timeutil import format_utc

# The table lives with the others in store.py (migration 2); applied here too, IF NOT EXISTS, so the
# ledger works on a database file the store has not opened yet.
SCHEMA = DELIVERIES_SCHEMA


class Status(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Row:
    key: DeliveryKey
    week: str
    message_id: str
    payload: bytes
    ics: bytes | None
    status: Status
    attempts: int
    last_error: str | None


def connect(path: str | object) -> sqlite3.Connection:
    """Open the history database for delivery: WAL, and ``synchronous=FULL`` so a row marked sent
    survives a power cut, not only a crash. Autocommit; transactions are explicit."""
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    ensure_schema(conn)
    return conn


def ensure_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def record(conn: sqlite3.Connection, week: str, items: Iterable[Outgoing], now: dt.datetime) -> int:
    """Record every delivery as pending in one transaction; rows already known are left alone.

    Returns how many rows were new.
    """
    with transaction(conn):
        return insert(conn, week, items, now)


def insert(conn: sqlite3.Connection, week: str, items: Iterable[Outgoing], now: dt.datetime) -> int:
    """:func:`record` inside the caller's transaction."""
    created = format_utc(now)
    new = 0
    for item in items:
        k = item.key
        cursor = conn.execute(
            "INSERT OR IGNORE INTO deliveries (key, week, meeting_uid, recipient, channel,"
            " kind, sequence, message_id, payload, ics, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                str(k),
                week,
                k.meeting_uid,
                k.recipient,
                str(k.channel),
                str(k.kind),
                k.sequence,
                item.message_id,
                item.payload,
                item.ics,
                created,
            ),
        )
        new += cursor.rowcount
    return new


_COLUMNS = (
    "meeting_uid, recipient, channel, kind, sequence, week, message_id, payload, ics, status,"
    " attempts, last_error"
)


def _row(values: tuple[Any, ...]) -> Row:
    uid, recipient, channel, kind, sequence, week, mid, payload, ics, status, attempts, err = values
    return Row(
        DeliveryKey(str(uid), str(recipient), Channel(channel), Kind(kind), int(sequence)),
        str(week),
        str(mid),
        bytes(payload),
        bytes(ics) if ics is not None else None,
        Status(status),
        int(attempts),
        str(err) if err is not None else None,
    )


def rows(
    conn: sqlite3.Connection,
    *,
    week: str | None = None,
    status: Status | None = None,
    channel: Channel | None = None,
    since: str | None = None,
) -> list[Row]:
    """Deliveries in the order they were recorded, optionally filtered (``since``: weeks from
    this one on; ``2026-W49`` strings sort in time order)."""
    where, args = [], []
    for column, value in (("week", week), ("status", status), ("channel", channel)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(str(value))
    if since is not None:
        where.append("week >= ?")
        args.append(since)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    sql = f"SELECT {_COLUMNS} FROM deliveries{clause} ORDER BY rowid"  # noqa: S608 - fixed names
    return [_row(tuple(r)) for r in conn.execute(sql, args)]


def mark_sent(conn: sqlite3.Connection, key: DeliveryKey, now: dt.datetime) -> None:
    conn.execute(
        "UPDATE deliveries SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
        " last_error = NULL WHERE key = ?",
        (format_utc(now), str(key)),
    )


def mark_all_sent(conn: sqlite3.Connection, keys: Iterable[DeliveryKey], now: dt.datetime) -> None:
    """:func:`mark_sent` for every key, in one transaction (one flush of the database)."""
    with transaction(conn):
        for key in keys:
            mark_sent(conn, key, now)


def mark_failed(conn: sqlite3.Connection, key: DeliveryKey, error: str) -> None:
    """A permanent failure: recorded, reported, never retried."""
    conn.execute(
        "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = ?"
        " WHERE key = ?",
        (error, str(key)),
    )


def note_attempt(conn: sqlite3.Connection, key: DeliveryKey, error: str) -> None:
    """A transient failure: still pending, with what went wrong for the report."""
    conn.execute(
        "UPDATE deliveries SET attempts = attempts + 1, last_error = ? WHERE key = ?",
        (error, str(key)),
    )


def sequence_sent(conn: sqlite3.Connection, meeting_uid: str) -> int | None:
    """The highest SEQUENCE recorded for a meeting (any channel), or None when none was."""
    value = conn.execute(
        "SELECT MAX(sequence) FROM deliveries WHERE meeting_uid = ?", (meeting_uid,)
    ).fetchone()[0]
    return None if value is None else int(value)
