"""Each member's link version: every signed link we make for a member carries it
(:mod:`calroulette.tokens`), and a link of an older version is refused. Asking for a new link
(the web page's "send me a link") raises it: a leaked manage or unsubscribe link is revoked.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from calroulette.timeutil import format_utc


class Links:
    """The links table of one connection; writes inside the caller's transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def version(self, email: str) -> int:
        """The version the member's current links carry (0 until they ask for a new one)."""
        row = self.conn.execute(
            "SELECT version FROM links WHERE email = ?", (email.lower(),)
        ).fetchone()
        return int(row[0]) if row else 0

    def versions(self) -> dict[str, int]:
        """Every member's version that is not 0 (links are made for a whole round at once)."""
        return {str(e): int(v) for e, v in self.conn.execute("SELECT email, version FROM links")}

    def bump(self, email: str, now: dt.datetime) -> int:
        """Revoke every link made so far for ``email``; returns the new version."""
        self.conn.execute(
            "INSERT INTO links (email, version, changed_at) VALUES (?, 1, ?)"
            " ON CONFLICT (email) DO UPDATE SET version = version + 1,"
            " changed_at = excluded.changed_at",
            (email.lower(), format_utc(now)),
        )
        return self.version(email)
