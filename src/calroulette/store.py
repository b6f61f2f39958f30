"""The history database: every round ever planned, in SQLite at the community's ``database`` path.

- A versioned schema: :data:`MIGRATIONS` is a list of SQL scripts applied in order, each in its own
  transaction together with ``PRAGMA user_version``, so an interrupted upgrade leaves the previous
  version intact. To change the schema, APPEND a script; never edit one that has shipped (a database
  already past it would never see the change).
- WAL (readers never block the writer), foreign keys on, ``synchronous=FULL``.
- Writes are single transactions (``BEGIN IMMEDIATE`` … ``COMMIT``): a crash, ``kill -9`` or an
  exception leaves either the whole round or none of it.
- Keyed by email, never by position in members.toml: a member who leaves keeps their history.

Times are stored as ISO 8601 UTC text (``2026-12-01T14:00:00Z``), weeks as ``2026-W49``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from os import PathLike
from pathlib import Path
from types import TracebackType

from .errors import CalrouletteError, UsageError
from .intervals import Interval
from .matching import (
    History,
    Meeting,
    Pair,
    Round,
    RoundError,
    RoundStatus,
    Unmatched,
    is_left_out_reason,
)
from .timeutil import UTC, IsoWeek, format_utc, parse_utc

# The transactional outbox of delivery/ledger.py: one row per (meeting, recipient, channel, kind,
# sequence). Defined here, with every other table; the ledger imports it.
DELIVERIES_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    key          TEXT PRIMARY KEY,  -- meeting_uid|recipient|channel|kind|sequence
    week         TEXT NOT NULL,
    meeting_uid  TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    channel      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    sequence     INTEGER NOT NULL,
    message_id   TEXT NOT NULL,
    payload      BLOB NOT NULL,     -- the exact bytes to send (RFC 5322 message or JSON body)
    ics          BLOB,
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'sent', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    sent_at      TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_week ON deliveries (week, status);
"""

MIGRATIONS: list[str] = [
    # 1: rounds and everything in them.
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    -- Mixed into meeting UIDs (and so into meeting links): random per database.
    INSERT INTO meta (key, value) VALUES ('secret', lower(hex(randomblob(16))));
    CREATE TABLE rounds (
        week       TEXT PRIMARY KEY,  -- 2026-W49
        seed       INTEGER NOT NULL,
        status     TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'sent')),
        planned_at TEXT NOT NULL,
        sent_at    TEXT
    );
    CREATE TABLE meetings (
        uid          TEXT PRIMARY KEY,
        week         TEXT NOT NULL REFERENCES rounds (week) ON DELETE CASCADE,
        start        TEXT NOT NULL,
        end          TEXT NOT NULL,
        sequence     INTEGER NOT NULL DEFAULT 0,
        status       TEXT NOT NULL DEFAULT 'scheduled'
                     CHECK (status IN ('scheduled', 'cancelled')),
        alternatives TEXT NOT NULL DEFAULT '[]'  -- JSON: [["…Z", "…Z"], …]
    );
    CREATE INDEX meetings_week ON meetings (week);
    CREATE TABLE meeting_members (
        uid   TEXT NOT NULL REFERENCES meetings (uid) ON DELETE CASCADE,
        email TEXT NOT NULL,
        PRIMARY KEY (uid, email)
    );
    CREATE INDEX meeting_members_email ON meeting_members (email);
    CREATE TABLE unmatched (
        week   TEXT NOT NULL REFERENCES rounds (week) ON DELETE CASCADE,
        email  TEXT NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (week, email)
    );
    CREATE TABLE errors (
        week  TEXT NOT NULL REFERENCES rounds (week) ON DELETE CASCADE,
        email TEXT NOT NULL,
        error TEXT NOT NULL,
        PRIMARY KEY (week, email)
    );
    """,
    # 2: the deliveries ledger (delivery/ledger.py applies the same script on a database the
    # store has not opened yet, hence IF NOT EXISTS).
    DELIVERIES_SCHEMA,
]


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` on an autocommit connection, or ``ROLLBACK`` on any
    exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class StoreError(CalrouletteError):
    """The history database cannot be used (not a database, from a newer version, locked)."""


class Store:
    """An open history database; use :func:`open_store`, preferably as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, readonly: bool = False) -> None:
        self.conn = conn
        self.path = path
        self.readonly = readonly

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any exception."""
        return transaction(self.conn)

    @property
    def version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    @property
    def secret(self) -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
        return str(row[0]) if row else ""

    # --- rounds ---------------------------------------------------------------------------------

    def save_round(self, round_: Round, *, at: dt.datetime | None = None) -> None:
        """Record a new round in one transaction; :class:`UsageError` when the week has one."""
        with self.transaction():
            self._insert(round_, at or dt.datetime.now(UTC))

    def replace_round(self, round_: Round, *, at: dt.datetime | None = None) -> None:
        """Replace the week's unsent round (or record a new one) in one transaction."""
        with self.transaction():
            self._delete(round_.week)
            self._insert(round_, at or dt.datetime.now(UTC))

    def record_round(
        self, round_: Round, *, at: dt.datetime | None = None, replace: bool = False
    ) -> tuple[Round, bool]:
        """Record ``round_`` unless the week already has a round, in one transaction.

        Returns the week's round and whether it is the new one; with ``replace``, an unsent
        round is replaced (a sent one raises :class:`UsageError`). Two runs racing for the same
        week both end up with the round the first one recorded.
        """
        with self.transaction():
            stored = self.load_round(round_.week)
            if stored is not None and not replace:
                return stored, False
            self._delete(round_.week)
            self._insert(round_, at or dt.datetime.now(UTC))
        return round_, True

    def delete_round(self, week: IsoWeek) -> bool:
        """Forget an unsent round (for ``--rematch``); False when there was none."""
        with self.transaction():
            return self._delete(week)

    def mark_sent(self, week: IsoWeek, *, at: dt.datetime | None = None) -> None:
        with self.transaction() as conn:
            done = conn.execute(
                "UPDATE rounds SET status = 'sent', sent_at = coalesce(sent_at, ?) WHERE week = ?",
                (format_utc(at or dt.datetime.now(UTC)), str(week)),
            )
            if done.rowcount == 0:
                raise UsageError(f"{week}: no round planned (run `calroulette match` first)")

    def load_round(self, week: IsoWeek, *, include_cancelled: bool = False) -> Round | None:
        row = self.conn.execute(
            "SELECT seed, status FROM rounds WHERE week = ?", (str(week),)
        ).fetchone()
        if row is None:
            return None
        return self._round(week, int(row[0]), RoundStatus(row[1]), include_cancelled)

    def planned_at(self, week: IsoWeek) -> dt.datetime | None:
        row = self.conn.execute(
            "SELECT planned_at FROM rounds WHERE week = ?", (str(week),)
        ).fetchone()
        return parse_utc(row[0]) if row else None

    def weeks(self) -> list[IsoWeek]:
        return [
            IsoWeek.parse(w) for (w,) in self.conn.execute("SELECT week FROM rounds ORDER BY week")
        ]

    def rounds(self, member: str | None = None) -> list[Round]:
        """Every round, oldest first; with ``member``, only the rounds that mention them."""
        args: tuple[str, ...] = ()
        if member is None:
            query = "SELECT week FROM rounds ORDER BY week"
        else:
            query = """
                SELECT week FROM meetings JOIN meeting_members USING (uid) WHERE email = ?1
                UNION SELECT week FROM unmatched WHERE email = ?1
                ORDER BY week
            """
            args = (member.strip().lower(),)
        weeks = [IsoWeek.parse(w) for (w,) in self.conn.execute(query, args)]
        return [r for r in (self.load_round(w) for w in weeks) if r is not None]

    def history(self, week: IsoWeek) -> History:
        """What the rounds strictly before ``week`` say: pairs' last meetings, who was left out
        of the latest one, each member's last meeting (cancelled meetings do not count); and
        the pairs and members meeting in rounds after ``week``, each with the earliest such
        week."""
        # One pass over the two tables rather than loading every round (a year of a 10,000-member
        # community is 200,000 meetings): SQLite's joins on the text UIDs measured slower than
        # this. Week keys ("2026-W49") sort as text in time order.
        key = str(week)
        week_of: dict[str, str] = dict(
            self.conn.execute(
                "SELECT uid, week FROM meetings WHERE week < ? AND status = 'scheduled'", (key,)
            )
        )
        later_of: dict[str, str] = dict(
            self.conn.execute(
                "SELECT uid, week FROM meetings WHERE week > ? AND status = 'scheduled'", (key,)
            )
        )
        earlier: dict[str, list[str]] = {}
        later: dict[str, list[str]] = {}
        for uid, email in self.conn.execute("SELECT uid, email FROM meeting_members"):
            if uid in week_of:
                earlier.setdefault(uid, []).append(email)
            elif uid in later_of:
                later.setdefault(uid, []).append(email)
        matched, met = _weeks_met(earlier, week_of, latest=True)
        next_matched, next_met = _weeks_met(later, later_of, latest=False)
        weeks = {w: IsoWeek.parse(w) for w in {*week_of.values(), *later_of.values()}}
        left_out = frozenset(
            email
            for email, reason in self.conn.execute(
                "SELECT email, reason FROM unmatched "
                "WHERE week = (SELECT max(week) FROM rounds WHERE week < ?)",
                (key,),
            )
            if is_left_out_reason(reason)
        )
        return History(
            {p: weeks[w] for p, w in met.items()},
            left_out,
            {e: weeks[w] for e, w in matched.items()},
            self.secret,
            next_met={p: weeks[w] for p, w in next_met.items()},
            next_matched={e: weeks[w] for e, w in next_matched.items()},
        )

    # --- deliveries: sent rounds, sequences, cancel and reschedule -------------------------------
    # (the invites issue; the ledger itself is calroulette.delivery.ledger on this connection)
    # These write inside the caller's transaction, so that a meeting's new SEQUENCE and the pending
    # deliveries that carry it are recorded together or not at all.

    def set_sent(self, week: IsoWeek, at: dt.datetime) -> None:
        """Mark the week's round sent, inside the caller's :meth:`transaction`."""
        done = self.conn.execute(
            "UPDATE rounds SET status = 'sent', sent_at = coalesce(sent_at, ?) WHERE week = ?",
            (format_utc(at), str(week)),
        )
        if done.rowcount == 0:
            raise UsageError(f"{week}: no round planned (run `calroulette match` first)")

    def sequences(self, week: IsoWeek) -> dict[str, int]:
        """Each meeting's current iCalendar SEQUENCE in ``week``."""
        return {
            uid: int(seq)
            for uid, seq in self.conn.execute(
                "SELECT uid, sequence FROM meetings WHERE week = ?", (str(week),)
            )
        }

    def find_meetings(
        self, key: str, week: IsoWeek | None = None
    ) -> list[tuple[IsoWeek, Meeting, int, str]]:
        """Meetings by UID, or by a member's email (optionally in ``week``), cancelled ones too:
        ``(week, meeting, sequence, status)``, latest first."""
        wanted = key.strip()
        rows = self.conn.execute(
            "SELECT DISTINCT week, uid, sequence, status FROM meetings "
            "LEFT JOIN meeting_members USING (uid) "
            "WHERE (uid = ?1 OR email = lower(?1)) AND (?2 IS NULL OR week = ?2) "
            "ORDER BY week DESC, start DESC",
            (wanted, str(week) if week else None),
        ).fetchall()
        found = []
        for w, uid, seq, state in rows:
            stored = self.load_round(IsoWeek.parse(w), include_cancelled=True)
            meeting = next((m for m in stored.meetings if m.uid == uid), None) if stored else None
            if meeting is not None:
                found.append((IsoWeek.parse(w), meeting, int(seq), str(state)))
        return found

    def change_meeting(
        self,
        uid: str,
        *,
        sequence: int,
        cancelled: bool = False,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> None:
        """Record a cancel or a new time with its SEQUENCE, inside the caller's transaction."""
        self.conn.execute(
            "UPDATE meetings SET sequence = ?, status = ?, start = coalesce(?, start), "
            "end = coalesce(?, end) WHERE uid = ?",
            (
                sequence,
                "cancelled" if cancelled else "scheduled",
                format_utc(start) if start else None,
                format_utc(end) if end else None,
                uid,
            ),
        )

    # --- rows -----------------------------------------------------------------------------------

    def _insert(self, round_: Round, at: dt.datetime) -> None:
        week = str(round_.week)
        conn = self.conn
        if conn.execute("SELECT 1 FROM rounds WHERE week = ?", (week,)).fetchone():
            raise UsageError(f"{week}: a round is already planned (use --rematch to replace it)")
        conn.execute(
            "INSERT INTO rounds (week, seed, status, planned_at) VALUES (?, ?, ?, ?)",
            (week, round_.seed, round_.status.value, format_utc(at)),
        )
        conn.executemany(
            "INSERT INTO meetings (uid, week, start, end, alternatives) VALUES (?, ?, ?, ?, ?)",
            [
                (
                    m.uid,
                    week,
                    format_utc(m.start),
                    format_utc(m.end),
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
            "INSERT INTO unmatched (week, email, reason) VALUES (?, ?, ?)",
            [(week, u.member, u.reason) for u in round_.unmatched],
        )
        conn.executemany(
            "INSERT INTO errors (week, email, error) VALUES (?, ?, ?)",
            [(week, e.member, e.error) for e in round_.errors],
        )

    def _delete(self, week: IsoWeek) -> bool:
        row = self.conn.execute("SELECT status FROM rounds WHERE week = ?", (str(week),)).fetchone()
        if row is None:
            return False
        if row[0] == RoundStatus.SENT:
            raise UsageError(
                f"{week}: the round was already sent; it cannot be planned again "
                "(cancel or reschedule single meetings instead)"
            )
        self.conn.execute("DELETE FROM rounds WHERE week = ?", (str(week),))
        return True

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
        for uid, start, end, state, alternatives in self.conn.execute(
            "SELECT uid, start, end, status, alternatives FROM meetings WHERE week = ? "
            "ORDER BY start, uid",
            (key,),
        ):
            if state == "cancelled" and not include_cancelled:
                continue
            meetings.append(
                Meeting(
                    uid=uid,
                    members=tuple(members.get(uid, ())),
                    start=parse_utc(start),
                    end=parse_utc(end),
                    alternatives=tuple(
                        Interval(parse_utc(a), parse_utc(b)) for a, b in json.loads(alternatives)
                    ),
                )
            )
        meetings.sort(key=lambda m: (m.start, m.members))
        unmatched = tuple(
            Unmatched(email, reason)
            for email, reason in self.conn.execute(
                "SELECT email, reason FROM unmatched WHERE week = ? ORDER BY email", (key,)
            )
        )
        errors = tuple(
            RoundError(email, error)
            for email, error in self.conn.execute(
                "SELECT email, error FROM errors WHERE week = ? ORDER BY email", (key,)
            )
        )
        return Round(week, seed, tuple(meetings), unmatched, status, errors)


def open_store(path: str | PathLike[str], *, readonly: bool = False) -> Store:
    """Open (creating and migrating when needed) the history database at ``path``.

    ``readonly``: never create or change anything (``--dry-run``); the file must exist.
    """
    file = Path(path)
    try:
        if readonly:
            conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        else:
            file.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(file, timeout=30)
        conn.isolation_level = None  # autocommit; every write is an explicit transaction
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 30000")
        if not readonly:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
        store = Store(conn, file, readonly=readonly)
        _migrate(store)
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"history: {file}: cannot use the database ({_sqlite_reason(exc)}); "
            "check the `database` path in members.toml"
        ) from None
    return store


def _migrate(store: Store) -> None:
    current = store.version
    if current > len(MIGRATIONS):
        store.close()
        raise StoreError(
            f"history: {store.path}: written by a newer calroulette (schema {current}, this "
            f"version knows {len(MIGRATIONS)}); upgrade calroulette"
        )
    if store.readonly:
        return
    for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
        # executescript commits anything pending first, then runs the script as written: the
        # script's own BEGIN … COMMIT makes the migration and its version number one transaction.
        try:
            store.conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;"
            )
        except sqlite3.Error:
            if store.conn.in_transaction:
                store.conn.execute("ROLLBACK")
            raise


def _sqlite_reason(exc: sqlite3.DatabaseError) -> str:
    # sqlite3's messages name no secrets and no data: "file is not a database", "database is locked"
    return str(exc).splitlines()[0][:120] or type(exc).__name__


def _weeks_met(
    groups: dict[str, list[str]], week_of: dict[str, str], *, latest: bool
) -> tuple[dict[str, str], dict[Pair, str]]:
    """For the meetings ``groups`` (UID -> attendees) held in ``week_of[uid]``: the latest
    (``latest``) or earliest week each member and each pair met. Meetings are taken in week
    order, so the last one written is the answer, as in :meth:`History.from_rounds`."""
    people: dict[str, str] = {}
    pairs: dict[Pair, str] = {}
    for uid in sorted(groups, key=week_of.__getitem__, reverse=not latest):
        w = week_of[uid]
        group = sorted(groups[uid])
        for i, a in enumerate(group):
            people[a] = w
            for b in group[i + 1 :]:
                pairs[(a, b)] = w
    return people, pairs
