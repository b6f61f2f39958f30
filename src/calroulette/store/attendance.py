"""What each attendee said of a meeting: their answer to the invitation (PARTSTAT, from their
calendar app's iTIP REPLY or from the "can't make it" link) and whether the meeting happened
("did you meet?"). Keyed by (meeting UID, email); writes inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from calroulette.timeutil import format_utc, parse_utc


class PartStat(StrEnum):
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    TENTATIVE = "TENTATIVE"


class AnswerSource(StrEnum):
    REPLY = "reply"  # an iTIP REPLY from their calendar app, read from the organizer's mailbox
    LINK = "link"  # the "can't make it" page


class Met(StrEnum):
    YES = "yes"
    NO = "no"


@dataclass(frozen=True, slots=True)
class Attendance:
    uid: str
    email: str
    partstat: PartStat | None = None
    sequence: int | None = None
    source: AnswerSource | None = None
    answered_at: dt.datetime | None = None
    met: Met | None = None
    met_at: dt.datetime | None = None


_COLUMNS = "uid, email, partstat, sequence, source, answered_at, met, met_at"


class Attendances:
    """The attendance table of one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def answer(
        self,
        uid: str,
        email: str,
        partstat: PartStat,
        *,
        sequence: int,
        source: AnswerSource,
        at: dt.datetime,
    ) -> bool:
        """Record an answer unless one for a later invitation (higher SEQUENCE) is already
        recorded; True when it was recorded."""
        cursor = self.conn.execute(
            "INSERT INTO attendance (uid, email, partstat, sequence, source, answered_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (uid, email) DO UPDATE SET partstat = excluded.partstat,"
            " sequence = excluded.sequence, source = excluded.source,"
            " answered_at = excluded.answered_at"
            " WHERE attendance.sequence IS NULL OR attendance.sequence <= excluded.sequence",
            (uid, email.lower(), partstat.value, sequence, source.value, format_utc(at)),
        )
        return cursor.rowcount > 0

    def met(self, uid: str, email: str, answer: Met, *, at: dt.datetime) -> None:
        """Record "did you meet?" (a later click replaces an earlier one)."""
        self.conn.execute(
            "INSERT INTO attendance (uid, email, met, met_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (uid, email) DO UPDATE SET met = excluded.met, met_at = excluded.met_at",
            (uid, email.lower(), answer.value, format_utc(at)),
        )

    def of(self, uid: str) -> dict[str, Attendance]:
        """Every attendee's record for one meeting, by email."""
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM attendance WHERE uid = ?",  # noqa: S608 - fixed names
            (uid,),
        )
        return {str(r[1]): _attendance(tuple(r)) for r in rows}

    def all(self) -> list[Attendance]:
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM attendance ORDER BY uid, email")  # noqa: S608
        return [_attendance(tuple(r)) for r in rows]

    def not_held(self) -> set[str]:
        """The meetings some attendee said did not happen."""
        rows = self.conn.execute("SELECT DISTINCT uid FROM attendance WHERE met = 'no'")
        return {str(uid) for (uid,) in rows}


def _attendance(row: tuple[object, ...]) -> Attendance:
    uid, email, partstat, sequence, source, answered_at, met, met_at = row
    return Attendance(
        uid=str(uid),
        email=str(email),
        partstat=PartStat(str(partstat)) if partstat else None,
        sequence=int(str(sequence)) if sequence is not None else None,
        source=AnswerSource(str(source)) if source else None,
        answered_at=parse_utc(str(answered_at)) if answered_at else None,
        met=Met(str(met)) if met else None,
        met_at=parse_utc(str(met_at)) if met_at else None,
    )
