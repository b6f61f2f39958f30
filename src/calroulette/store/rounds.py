"""Rounds, their meetings and the members left out: recorded, read back, changed one meeting at a
time; and the :class:`~calroulette.matching.History` the next round is planned against.

Methods that write do so inside the caller's transaction (:meth:`.db.Store.transaction`), unless
they say otherwise, so that a meeting's new state and the deliveries that carry it are recorded
together or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from calroulette.errors import UsageError
from calroulette.intervals import Interval
from calroulette.matching import (
    History,
    Meeting,
    MeetingStatus,
    Pair,
    Reason,
    Round,
    RoundError,
    RoundStatus,
    Unmatched,
)
from calroulette.timeutil import IsoWeek, format_utc, parse_utc

from .attendance import Attendances

SHORT_ID = 8  # characters of a meeting's UID that `history` shows, and `cancel` accepts


def short_id(uid: str) -> str:
    """The start of a meeting's UID that people see and type (UIDs are 32 hex digits + host)."""
    return uid[:SHORT_ID]


@dataclass(frozen=True, slots=True)
class FoundMeeting:
    """A meeting found by its UID or a member's email, with the week of its round."""

    week: IsoWeek
    meeting: Meeting
    round_status: RoundStatus


class Rounds:
    """The rounds, meetings, unmatched and errors tables of one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @property
    def secret(self) -> str:
        """The random value mixed into meeting UIDs, made when the database was created."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
        return str(row[0]) if row else ""

    # --- whole rounds -----------------------------------------------------------------------

    def record(self, round_: Round, *, at: dt.datetime, replace: bool = False) -> bool:
        """Record ``round_`` unless the week already has a round; True when it was recorded.

        With ``replace``, an unsent round is replaced (a sent one raises :class:`UsageError`).
        """
        stored = self.status(round_.week)
        if stored is not None and not replace:
            return False
        if stored is RoundStatus.SENT:
            raise UsageError(
                f"{round_.week}: the round was already sent; it cannot be planned again "
                "(cancel or reschedule single meetings instead)"
            )
        self.conn.execute("DELETE FROM rounds WHERE week = ?", (str(round_.week),))
        self._insert(round_, at)
        return True

    def status(self, week: IsoWeek) -> RoundStatus | None:
        row = self.conn.execute("SELECT status FROM rounds WHERE week = ?", (str(week),)).fetchone()
        return RoundStatus(row[0]) if row else None

    def load(self, week: IsoWeek, *, include_cancelled: bool = False) -> Round | None:
        row = self.conn.execute(
            "SELECT seed, status FROM rounds WHERE week = ?", (str(week),)
        ).fetchone()
        if row is None:
            return None
        return self._round(week, int(row[0]), RoundStatus(row[1]), include_cancelled)

    def weeks(self, member: str | None = None) -> list[IsoWeek]:
        """The weeks with a round, oldest first; with ``member``, those that mention them."""
        if member is None:
            rows = self.conn.execute("SELECT week FROM rounds ORDER BY week")
        else:
            rows = self.conn.execute(
                """
                SELECT week FROM meetings JOIN meeting_members USING (uid) WHERE email = ?1
                UNION SELECT week FROM unmatched WHERE email = ?1
                ORDER BY week
                """,
                (member.strip().lower(),),
            )
        return [IsoWeek.parse(w) for (w,) in rows]

    def weeks_before(self, week: IsoWeek) -> list[IsoWeek]:
        """The weeks with a round before ``week``, latest first."""
        rows = self.conn.execute(
            "SELECT week FROM rounds WHERE week < ? ORDER BY week DESC", (str(week),)
        )
        return [IsoWeek.parse(w) for (w,) in rows]

    def left_out_before(
        self, week: IsoWeek, emails: Iterable[str]
    ) -> dict[tuple[IsoWeek, str], Reason]:
        """Why each of ``emails`` was left out of each round before ``week`` that left them out
        (a round that met them, or before they joined, has no entry)."""
        wanted = set(emails)
        return {
            (IsoWeek.parse(w), email): Reason(reason)
            for w, email, reason in self.conn.execute(
                "SELECT week, email, reason FROM unmatched WHERE week < ?", (str(week),)
            )
            if email in wanted
        }

    def mark_sent(self, week: IsoWeek, at: dt.datetime) -> None:
        """The round is sent: it and its planned meetings (``planned`` → ``invited``)."""
        done = self.conn.execute(
            "UPDATE rounds SET status = ?, sent_at = coalesce(sent_at, ?) WHERE week = ?",
            (RoundStatus.SENT, format_utc(at), str(week)),
        )
        if done.rowcount == 0:
            raise UsageError(f"{week}: no round planned (run `calroulette match` first)")
        self.conn.execute(
            "UPDATE meetings SET status = ? WHERE week = ? AND status = ?",
            (MeetingStatus.INVITED, str(week), MeetingStatus.PLANNED),
        )

    # --- one meeting ------------------------------------------------------------------------

    def find(self, key: str, week: IsoWeek | None = None) -> list[FoundMeeting]:
        """Meetings by UID, by the start of a UID (:data:`SHORT_ID` characters or more, as
        ``history`` shows it), or by a member's email, optionally in ``week``; cancelled ones
        too, latest first. Reads only the meetings found (a member's year of meetings in a
        community of 10,000 is a few dozen rows, not fifty rounds)."""
        wanted = key.strip()
        prefix = wanted if len(wanted) >= SHORT_ID and "@" not in wanted else None
        rows = self.conn.execute(
            "SELECT DISTINCT m.week, m.uid, m.start, m.end, m.sequence, m.status,"
            " m.alternatives, r.status FROM meetings AS m JOIN rounds AS r USING (week)"
            " LEFT JOIN meeting_members AS mm USING (uid)"
            " WHERE (m.uid = ?1 OR mm.email = lower(?1) OR substr(m.uid, 1, length(?3)) = ?3)"
            " AND (?2 IS NULL OR m.week = ?2) ORDER BY m.week DESC, m.start DESC",
            (wanted, str(week) if week else None, prefix),
        ).fetchall()
        found = []
        for w, uid, start, end, sequence, state, alternatives, round_status in rows:
            members = tuple(
                e
                for (e,) in self.conn.execute(
                    "SELECT email FROM meeting_members WHERE uid = ? ORDER BY email", (uid,)
                )
            )
            meeting = _meeting(uid, members, start, end, sequence, state, alternatives)
            found.append(FoundMeeting(IsoWeek.parse(w), meeting, RoundStatus(round_status)))
        return found

    def rename(self, week: IsoWeek, old: str, new: str) -> None:
        """``old`` becomes ``new`` everywhere in ``week``'s round: its meetings, the members left
        out, the feed errors (an email corrected in members.toml)."""
        key = str(week)
        self.conn.execute(
            "UPDATE meeting_members SET email = ? WHERE email = ?"
            " AND uid IN (SELECT uid FROM meetings WHERE week = ?)",
            (new, old, key),
        )
        for table in ("unmatched", "errors"):
            self.conn.execute(
                f"UPDATE {table} SET email = ? WHERE email = ? AND week = ?",  # noqa: S608
                (new, old, key),
            )

    def change(self, meeting: Meeting) -> None:
        """Record a meeting's new time, SEQUENCE and status."""
        self.conn.execute(
            "UPDATE meetings SET sequence = ?, status = ?, start = ?, end = ? WHERE uid = ?",
            (
                meeting.sequence,
                meeting.status,
                format_utc(meeting.start),
                format_utc(meeting.end),
                meeting.uid,
            ),
        )

    # --- the history ------------------------------------------------------------------------

    def history(self, week: IsoWeek) -> History:
        """What the rounds strictly before ``week`` say: pairs' last meetings, who was left out
        of the latest one, each member's last meeting (cancelled meetings do not count); and
        the pairs and members meeting in rounds after ``week``, each with the earliest such
        week, and the earliest week after ``week`` that has a round.

        The cooldown counts only meetings that happened or that nobody answered for: a meeting
        an attendee said did not happen ("did you meet?": no, :meth:`.Attendances.not_held`)
        is left out of the pairs' weeks, not of the members' (``frequency``): see
        :class:`~calroulette.matching.History`."""
        # One pass over the two tables rather than loading every round (a year of a 10,000-member
        # community is 200,000 meetings): SQLite's joins on the text UIDs measured slower than
        # this. Week keys ("2026-W49") sort as text in time order.
        key = str(week)
        cancelled = MeetingStatus.CANCELLED
        week_of: dict[str, str] = dict(
            self.conn.execute(
                "SELECT uid, week FROM meetings WHERE week < ? AND status != ?", (key, cancelled)
            )
        )
        later_of: dict[str, str] = dict(
            self.conn.execute(
                "SELECT uid, week FROM meetings WHERE week > ? AND status != ?", (key, cancelled)
            )
        )
        earlier: dict[str, list[str]] = {}
        later: dict[str, list[str]] = {}
        for uid, email in self.conn.execute("SELECT uid, email FROM meeting_members"):
            if uid in week_of:
                earlier.setdefault(uid, []).append(email)
            elif uid in later_of:
                later.setdefault(uid, []).append(email)
        not_held = Attendances(self.conn).not_held()
        matched, met = _weeks_met(earlier, week_of, not_held, latest=True)
        next_matched, next_met = _weeks_met(later, later_of, not_held, latest=False)
        weeks = {w: IsoWeek.parse(w) for w in {*week_of.values(), *later_of.values()}}
        left_out = frozenset(
            email
            for email, reason in self.conn.execute(
                "SELECT email, reason FROM unmatched "
                "WHERE week = (SELECT max(week) FROM rounds WHERE week < ?)",
                (key,),
            )
            if Reason(reason).comes_first
        )
        (next_round,) = self.conn.execute(
            "SELECT min(week) FROM rounds WHERE week > ?", (key,)
        ).fetchone()
        return History(
            {p: weeks[w] for p, w in met.items()},
            left_out,
            {e: weeks[w] for e, w in matched.items()},
            self.secret,
            next_met={p: weeks[w] for p, w in next_met.items()},
            next_matched={e: weeks[w] for e, w in next_matched.items()},
            next_round=IsoWeek.parse(next_round) if next_round is not None else None,
        )

    # --- rows -------------------------------------------------------------------------------

    def _insert(self, round_: Round, at: dt.datetime) -> None:
        week = str(round_.week)
        conn = self.conn
        conn.execute(
            "INSERT INTO rounds (week, seed, status, planned_at) VALUES (?, ?, ?, ?)",
            (week, round_.seed, round_.status, format_utc(at)),
        )
        conn.executemany(
            "INSERT INTO meetings (uid, week, start, end, sequence, status, alternatives)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    m.uid,
                    week,
                    format_utc(m.start),
                    format_utc(m.end),
                    m.sequence,
                    m.status,
                    json.dumps([[format_utc(a), format_utc(b)] for a, b in m.alternatives]),
                )
                for m in round_.meetings
            ],
        )
        conn.executemany(
            "INSERT INTO meeting_members (uid, email) VALUES (?, ?)",
            [(m.uid, email) for m in round_.meetings for email in m.members],
        )
        conn.executemany(
            "INSERT INTO unmatched (week, email, reason, message, first_next, cooldown_ends)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    week,
                    u.member,
                    u.reason,
                    u.message,
                    u.first_next,
                    str(u.cooldown_ends) if u.cooldown_ends else None,
                )
                for u in round_.unmatched
            ],
        )
        conn.executemany(
            "INSERT INTO errors (week, email, error) VALUES (?, ?, ?)",
            [(week, e.member, e.error) for e in round_.errors],
        )

    def _round(
        self, week: IsoWeek, seed: int, status: RoundStatus, include_cancelled: bool
    ) -> Round:
        key = str(week)
        members: dict[str, list[str]] = {}
        for uid, email in self.conn.execute(
            "SELECT uid, email FROM meeting_members JOIN meetings USING (uid) "
            "WHERE week = ? ORDER BY uid, email",
            (key,),
        ):
            members.setdefault(uid, []).append(email)
        meetings = []
        for uid, start, end, sequence, state, alternatives in self.conn.execute(
            "SELECT uid, start, end, sequence, status, alternatives FROM meetings WHERE week = ?",
            (key,),
        ):
            if state == MeetingStatus.CANCELLED and not include_cancelled:
                continue
            meetings.append(
                _meeting(
                    uid, tuple(members.get(uid, ())), start, end, sequence, state, alternatives
                )
            )
        meetings.sort(key=lambda m: (m.start, m.members))
        unmatched = tuple(
            Unmatched(
                email,
                Reason(reason),
                message,
                first_next=bool(first_next),
                cooldown_ends=IsoWeek.parse(ends) if ends else None,
            )
            for email, reason, message, first_next, ends in self.conn.execute(
                "SELECT email, reason, message, first_next, cooldown_ends FROM unmatched"
                " WHERE week = ? ORDER BY email",
                (key,),
            )
        )
        errors = tuple(
            RoundError(email, error)
            for email, error in self.conn.execute(
                "SELECT email, error FROM errors WHERE week = ? ORDER BY email", (key,)
            )
        )
        return Round(week, seed, tuple(meetings), unmatched, status, errors)


def _meeting(
    uid: str,
    members: tuple[str, ...],
    start: str,
    end: str,
    sequence: int,
    state: str,
    alternatives: str,
) -> Meeting:
    """A meeting from its row of the meetings table and its members."""
    return Meeting(
        uid=uid,
        members=members,
        start=parse_utc(start),
        end=parse_utc(end),
        alternatives=tuple(
            Interval(parse_utc(a), parse_utc(b)) for a, b in json.loads(alternatives)
        ),
        sequence=int(sequence),
        status=MeetingStatus(state),
    )


def _weeks_met(
    groups: dict[str, list[str]],
    week_of: dict[str, str],
    not_held: set[str],
    *,
    latest: bool,
) -> tuple[dict[str, str], dict[Pair, str]]:
    """For the meetings ``groups`` (UID -> attendees) held in ``week_of[uid]``: the latest
    (``latest``) or earliest week each member and each pair met; a meeting in ``not_held``
    counts for its members, not its pairs. Meetings are taken in week order, so the last one
    written is the answer, as in :meth:`History.from_rounds`."""
    people: dict[str, str] = {}
    pairs: dict[Pair, str] = {}
    for uid in sorted(groups, key=week_of.__getitem__, reverse=not latest):
        w = week_of[uid]
        group = sorted(groups[uid])
        held = uid not in not_held
        for i, a in enumerate(group):
            people[a] = w
            if not held:
                continue
            for b in group[i + 1 :]:
                pairs[(a, b)] = w
    return people, pairs
