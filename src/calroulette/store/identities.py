"""Who is who across an email change: a keyed hash of each member's calendar address by email.

The calendar's secret address is the one thing that identifies a member whose email was
corrected in members.toml (a typo'd domain fixed after the invitation bounced). The address
itself is never stored here: only an HMAC of it with the database's random secret, which
cannot be turned back into the address and means nothing outside this database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import sqlite3
from collections.abc import Iterable

from calroulette.timeutil import format_utc


class Identities:
    """The identities table of one connection; writes inside the caller's transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._salt: bytes | None = None

    def key(self, calendar: str) -> str:
        """The keyed hash of a calendar address (the same address, the same key)."""
        if self._salt is None:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
            self._salt = str(row[0] if row else "").encode()
        return hmac.new(self._salt, calendar.strip().encode(), hashlib.sha256).hexdigest()

    def remember(self, members: Iterable[tuple[str, str]], at: dt.datetime) -> None:
        """Record (email, calendar address) for each member, as members.toml has them now."""
        self.conn.executemany(
            "INSERT INTO identities (email, calendar_key, seen_at) VALUES (?, ?, ?)"
            " ON CONFLICT (email) DO UPDATE SET calendar_key = excluded.calendar_key,"
            " seen_at = excluded.seen_at",
            [(email, self.key(calendar), format_utc(at)) for email, calendar in members],
        )

    def key_of(self, email: str) -> str | None:
        """The calendar key last seen with ``email``, if any."""
        row = self.conn.execute(
            "SELECT calendar_key FROM identities WHERE email = ?", (email,)
        ).fetchone()
        return str(row[0]) if row else None
