"""Sign-ups from the web page, until they are members: waiting for the person to confirm their
email (double opt-in), then for the organizer's approval when ``[web] signup = "approve"``.

The calendar address is a password: it is kept only while the sign-up is undecided, and cleared
when it joins members.toml (which then holds it) or is rejected or expires.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from calroulette.timeutil import format_utc, parse_utc


class SignupState(StrEnum):
    UNCONFIRMED = "unconfirmed"  # the confirmation email is out; the link not yet followed
    PENDING = "pending"  # confirmed; waits for `calroulette members approve` (signup = approve)
    JOINED = "joined"  # in members.toml
    REJECTED = "rejected"  # by the organizer
    EXPIRED = "expired"  # never confirmed


@dataclass(frozen=True, slots=True)
class Signup:
    id: str
    email: str
    name: str
    calendar: str
    timezone: str
    topics: tuple[str, ...]
    team: str | None
    frequency: str
    state: SignupState
    created_at: dt.datetime
    confirmed_at: dt.datetime | None = None
    decided_at: dt.datetime | None = None


_COLUMNS = (
    "id, email, name, calendar, timezone, topics, team, frequency, state, created_at,"
    " confirmed_at, decided_at"
)


class Signups:
    """The signups table of one connection; writes inside the caller's transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def add(self, signup: Signup) -> None:
        self.conn.execute(
            f"INSERT INTO signups ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608 - fixed names
            (
                signup.id,
                signup.email.lower(),
                signup.name,
                signup.calendar,
                signup.timezone,
                json.dumps(list(signup.topics)),
                signup.team,
                signup.frequency,
                signup.state.value,
                format_utc(signup.created_at),
                format_utc(signup.confirmed_at) if signup.confirmed_at else None,
                format_utc(signup.decided_at) if signup.decided_at else None,
            ),
        )

    def get(self, signup_id: str) -> Signup | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM signups WHERE id = ?",  # noqa: S608 - fixed names
            (signup_id,),
        ).fetchone()
        return _signup(row) if row else None

    def list(self, state: SignupState | None = None, email: str | None = None) -> list[Signup]:
        where, args = [], []
        if state is not None:
            where.append("state = ?")
            args.append(state.value)
        if email is not None:
            where.append("email = ?")
            args.append(email.lower())
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT {_COLUMNS} FROM signups{clause} ORDER BY created_at, rowid"  # noqa: S608 - fixed names
        return [_signup(r) for r in self.conn.execute(sql, args)]

    def set_state(self, signup_id: str, state: SignupState, now: dt.datetime) -> None:
        """Move a sign-up on; a decided one (joined, rejected, expired) forgets the calendar.
        Joining confirms too (``signup = "open"`` goes from unconfirmed to joined at once)."""
        decided = state in (SignupState.JOINED, SignupState.REJECTED, SignupState.EXPIRED)
        column = "decided_at" if decided else "confirmed_at"
        self.conn.execute(
            f"UPDATE signups SET state = ?, {column} = ?"  # noqa: S608 - fixed names
            + (", calendar = ''" if decided else "")
            + (", confirmed_at = COALESCE(confirmed_at, ?)" if state is SignupState.JOINED else "")
            + " WHERE id = ?",
            (state.value, format_utc(now))
            + ((format_utc(now),) if state is SignupState.JOINED else ())
            + (signup_id,),
        )

    def expire(self, before: dt.datetime, now: dt.datetime) -> int:
        """Every sign-up still unconfirmed that was made before ``before`` (its confirmation
        link no longer works) is expired, its calendar forgotten; how many were."""
        return self.conn.execute(
            "UPDATE signups SET state = ?, decided_at = ?, calendar = ''"
            " WHERE state = ? AND created_at < ?",
            (
                SignupState.EXPIRED.value,
                format_utc(now),
                SignupState.UNCONFIRMED.value,
                format_utc(before),
            ),
        ).rowcount

    def find(self, id_or_email: str) -> builtins.list[Signup]:
        """The sign-up with this id, or else every sign-up of this email (oldest first)."""
        found = self.get(id_or_email.strip())
        if found is not None:
            return [found]
        return self.list(email=id_or_email.strip())


def _signup(row: tuple[object, ...]) -> Signup:
    (id_, email, name, calendar, zone, topics, team, freq, state, created, confirmed, decided) = row
    return Signup(
        id=str(id_),
        email=str(email),
        name=str(name),
        calendar=str(calendar),
        timezone=str(zone),
        topics=tuple(json.loads(str(topics))),
        team=str(team) if team is not None else None,
        frequency=str(freq),
        state=SignupState(str(state)),
        created_at=parse_utc(str(created)),
        confirmed_at=parse_utc(str(confirmed)) if confirmed else None,
        decided_at=parse_utc(str(decided)) if decided else None,
    )
