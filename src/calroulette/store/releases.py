"""Who was released by a cancellation in a week ("I can't this week", or a calendar app's
DECLINED), and what became of them: offered a new partner (``rematched``), told kindly that
nobody was free (``told``), or neither (``expired``: the week was over first; ``gone``: they
left or paused meanwhile). One row per (week, released member, cancelled meeting).

A release is written ``pending`` in the same transaction as the cancellation that causes it;
settling it (a new meeting and its invitations, or the note) is another transaction, which
moves it out of ``pending`` only once. A crash between the two leaves it pending, and the next
``run`` settles it (``service.cant.rematch_due``): no release is lost, none settled twice.

The meeting a rematch makes is added to its week's round here (:meth:`Releases.add_meeting`),
and a member who leaves a meeting of three is taken off it (:meth:`Releases.drop_member`): the
two changes a release makes to the rounds tables, beside :meth:`.rounds.Rounds.change`.
Writes happen inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from calroulette.matching import Meeting
from calroulette.timeutil import IsoWeek, format_utc, parse_utc


class ReleaseOutcome(StrEnum):
    PENDING = "pending"  # released; not settled yet
    REMATCHED = "rematched"  # a new meeting (its UID in ``detail``) and its invitations
    TOLD = "told"  # nobody was free: the kind note (Kind.NO_REMATCH) was recorded
    EXPIRED = "expired"  # the week was over before it could be settled: nobody is written to
    GONE = "gone"  # they left members.toml or paused meanwhile: nobody is written to

    @property
    def free(self) -> bool:
        """Still without a meeting this week (may be offered to another released member)."""
        return self in (ReleaseOutcome.PENDING, ReleaseOutcome.TOLD)


@dataclass(frozen=True, slots=True)
class Release:
    week: IsoWeek
    email: str
    uid: str  # the cancelled meeting that released them
    released_at: dt.datetime
    outcome: ReleaseOutcome
    detail: str = ""


_COLUMNS = "week, email, uid, released_at, outcome, detail"


class Releases:
    """The releases table of one connection (and the two meeting changes a release makes)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def add(self, week: IsoWeek, email: str, uid: str, *, at: dt.datetime) -> bool:
        """Record ``email`` released by the cancellation of ``uid``; False when known already."""
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO releases (week, email, uid, released_at, outcome, detail)"
            " VALUES (?, ?, ?, ?, ?, '')",
            (str(week), email.lower(), uid, format_utc(at), ReleaseOutcome.PENDING.value),
        )
        return cursor.rowcount > 0

    def settle(
        self, release: Release, outcome: ReleaseOutcome, detail: str = "", *, force: bool = False
    ) -> bool:
        """Move a pending release to ``outcome``; False when it was not pending any more
        (another run settled it first). ``force``: from ``told`` too (a member told that nobody
        was free who is then offered to another released member)."""
        allowed = (
            (ReleaseOutcome.PENDING, ReleaseOutcome.TOLD) if force else (ReleaseOutcome.PENDING,)
        )
        marks = ", ".join("?" for _ in allowed)
        cursor = self.conn.execute(
            f"UPDATE releases SET outcome = ?, detail = ? WHERE week = ? AND email = ?"  # noqa: S608
            f" AND uid = ? AND coalesce(outcome, 'pending') IN ({marks})",
            (outcome.value, detail, str(release.week), release.email, release.uid, *allowed),
        )
        return cursor.rowcount > 0

    def get(self, week: IsoWeek, email: str, uid: str) -> Release | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM releases WHERE week = ? AND email = ? AND uid = ?",  # noqa: S608
            (str(week), email.lower(), uid),
        ).fetchone()
        return _release(tuple(row)) if row else None

    def pending(self) -> list[Release]:
        """Every release not settled yet, oldest first."""
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM releases WHERE coalesce(outcome, 'pending') = 'pending'"  # noqa: S608
            " ORDER BY released_at, week, email, uid"
        )
        return [_release(tuple(r)) for r in rows]

    def of_week(self, week: IsoWeek) -> list[Release]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM releases WHERE week = ? ORDER BY released_at, email, uid",  # noqa: S608
            (str(week),),
        )
        return [_release(tuple(r)) for r in rows]

    def weeks(self) -> list[IsoWeek]:
        """The weeks with a release, oldest first."""
        rows = self.conn.execute("SELECT DISTINCT week FROM releases ORDER BY week")
        return [IsoWeek.parse(str(w)) for (w,) in rows]

    def of_meeting(self, uid: str) -> list[Release]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM releases WHERE uid = ? ORDER BY email",  # noqa: S608
            (uid,),
        )
        return [_release(tuple(r)) for r in rows]

    # --- the meetings a release changes ---------------------------------------------------------

    def add_meeting(self, week: IsoWeek, meeting: Meeting) -> bool:
        """Add a rematch's meeting to ``week``'s round (which must exist); False when a meeting
        with its UID is there already (a run that crashed after recording it)."""
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO meetings (uid, week, start, end, sequence, status, alternatives)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                meeting.uid,
                str(week),
                format_utc(meeting.start),
                format_utc(meeting.end),
                meeting.sequence,
                meeting.status,
                json.dumps([[format_utc(a), format_utc(b)] for a, b in meeting.alternatives]),
            ),
        )
        if cursor.rowcount == 0:
            return False
        self.conn.executemany(
            "INSERT INTO meeting_members (uid, email) VALUES (?, ?)",
            [(meeting.uid, email) for email in meeting.members],
        )
        return True

    def drop_member(self, uid: str, email: str) -> None:
        """``email`` leaves meeting ``uid`` (one of three who cannot come; the others meet)."""
        self.conn.execute(
            "DELETE FROM meeting_members WHERE uid = ? AND email = ?", (uid, email.lower())
        )


def _release(row: tuple[object, ...]) -> Release:
    week, email, uid, released_at, outcome, detail = row
    return Release(
        week=IsoWeek.parse(str(week)),
        email=str(email),
        uid=str(uid),
        released_at=parse_utc(str(released_at)),
        outcome=ReleaseOutcome(str(outcome)) if outcome else ReleaseOutcome.PENDING,
        detail=str(detail or ""),
    )
