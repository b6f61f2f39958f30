"""The messages of the organizer's mailbox that `run` has read: what each one was (a code) and
when it was first seen. A message in this table is never handled twice, even when flagging it
on the server failed, and one that could not be read is reported once, the first time.

Keyed by the message's Message-ID (or, without one, by where it is: folder, UIDVALIDITY and UID);
writes inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from calroulette.timeutil import format_utc, parse_utc


class InboxOutcome(StrEnum):
    RECORDED = "recorded"  # an answer recorded (accepted, tentative; declined: see DECLINED)
    DECLINED = "declined"  # a decline recorded and acted on (the meeting cancelled or changed)
    STALE = "stale"  # about an older invitation (SEQUENCE) than the meeting's latest
    STRANGER = "stranger"  # from someone who is not that meeting's attendee
    NO_ANSWER = "no-answer"  # a REPLY that neither accepts, declines nor is tentative
    UNKNOWN = "unknown"  # a reply to a meeting that is not ours (left unflagged)
    NOT_REPLY = "not-reply"  # a calendar message that is not a reply (left unflagged)
    NOT_ITIP = "not-itip"  # an ordinary email (left unflagged)
    UNREADABLE = "unreadable"  # a calendar part we could not read (left unflagged, reported once)
    TOO_LARGE = "too-large"  # over the size limit (left unflagged, reported once)

    @property
    def ours(self) -> bool:
        """About one of our meetings: flagged as handled in the mailbox."""
        return self in _OURS


_OURS = frozenset(
    {
        InboxOutcome.RECORDED,
        InboxOutcome.DECLINED,
        InboxOutcome.STALE,
        InboxOutcome.STRANGER,
        InboxOutcome.NO_ANSWER,
    }
)


@dataclass(frozen=True, slots=True)
class InboxRow:
    message: str
    outcome: InboxOutcome
    detail: str
    seen_at: dt.datetime


class Inbox:
    """The inbox table of one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def seen(self, message: str) -> InboxRow | None:
        row = self.conn.execute(
            "SELECT message, outcome, detail, seen_at FROM inbox WHERE message = ?", (message,)
        ).fetchone()
        if row is None:
            return None
        return InboxRow(str(row[0]), InboxOutcome(str(row[1])), str(row[2]), parse_utc(row[3]))

    def record(
        self, message: str, outcome: InboxOutcome, *, detail: str = "", at: dt.datetime
    ) -> bool:
        """Record what ``message`` was, unless it is recorded already; True when recorded."""
        cursor = self.conn.execute(
            "INSERT INTO inbox (message, outcome, detail, seen_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (message) DO NOTHING",
            (message, outcome.value, detail, format_utc(at)),
        )
        return cursor.rowcount > 0

    def count(self) -> dict[InboxOutcome, int]:
        rows = self.conn.execute("SELECT outcome, count(*) FROM inbox GROUP BY outcome")
        return {InboxOutcome(str(o)): int(n) for o, n in rows}
