"""The history database: one SQLite file at the community's ``database`` path.

- A versioned schema (:mod:`.migrations`), upgraded when the file is opened for writing.
- WAL (readers never block the writer), foreign keys on, ``synchronous=FULL`` so that a row
  marked sent survives a power cut, not only a crash.
- Autocommit; every write is an explicit ``BEGIN IMMEDIATE`` … ``COMMIT``
  (:meth:`Store.transaction`): a crash, ``kill -9`` or an exception leaves either the whole
  change or none of it.
- Keyed by email, never by position in members.toml: a member who leaves keeps their history.
- Private: names, emails and meeting links. A new file is made 0600 (SQLite gives its ``-wal``
  and ``-shm`` files the same mode), in a folder made 0700 when calroulette creates it.
- Never written over: a new database is built whole in a temporary file and then linked into
  place, so the file at ``database`` is always a complete history. One that is empty or not a
  history (a failed copy, another program's file) is refused: initialising it would forget
  which weeks were sent, and send them again.
- Its failures (a full disk, a read-only file, a damaged one) are a :class:`StoreError`, one
  line saying what to do, raised when leaving the ``with open_store(…)`` block; the transaction
  that failed is rolled back, so nothing is half-written.

Times are stored as ISO 8601 UTC text (``2026-12-01T14:00:00Z``), weeks as ``2026-W49``, states and
reasons as the codes of their ``StrEnum``.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from types import TracebackType

from calroulette.atomicfile import flush_folder
from calroulette.errors import CalrouletteError

from .attendance import Attendances
from .deliveries import Deliveries
from .identities import Identities
from .inbox import Inbox
from .links import Links
from .migrations import MIGRATIONS
from .releases import Releases
from .reminders import Reminders
from .rounds import Rounds
from .signups import Signups
from .transaction import transaction


class StoreError(CalrouletteError):
    """The history database cannot be used (not a database, from a newer version, locked)."""


class Store:
    """An open history database; use :func:`open_store`, as a context manager.

    Its tables are reached through :attr:`rounds` (rounds, meetings, the history they make),
    :attr:`deliveries` (the ledger of messages) and :attr:`identities` (who is who across an
    email change), all on this one connection, so that a change of state and the messages that
    carry it are written in one :meth:`transaction`.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, *, readonly: bool = False) -> None:
        self.conn = conn
        self.path = path
        self.readonly = readonly
        self.rounds = Rounds(conn)
        self.deliveries = Deliveries(conn)
        self.identities = Identities(conn)
        self.links = Links(conn)
        self.signups = Signups(conn)
        self.attendance = Attendances(conn)
        self.inbox = Inbox(conn)
        self.releases = Releases(conn)
        self.reminders = Reminders(conn)

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
        if isinstance(value, sqlite3.Error):  # the store's edge: one line, not a traceback
            raise StoreError(_failure(self.path, value)) from None

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any exception."""
        with transaction(self.conn) as conn:
            yield conn

    @property
    def version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])


def open_store(path: str | PathLike[str], *, readonly: bool = False) -> Store:
    """Open (creating and migrating when needed) the history database at ``path``.

    ``readonly``: never create or change the file (``--dry-run``, ``history``); it must exist. A
    file from an older calroulette is then upgraded in a copy held in memory, so reading never
    waits for a command that writes.
    """
    file = Path(path)
    conn = None
    if readonly and not file.exists():
        raise StoreError(f"history: {file}: no history database yet (`calroulette match` makes it)")
    try:
        if not readonly and not file.exists():
            _create(file)
        # mode=ro / rw: SQLite never creates the file here (an empty one would pass for new)
        uri = f"{file.resolve().as_uri()}?mode={'ro' if readonly else 'rw'}"
        conn = sqlite3.connect(uri, uri=True, timeout=30)
        conn.isolation_level = None  # autocommit; every write is an explicit transaction
        conn.execute("PRAGMA busy_timeout = 30000")
        _refuse_other_files(conn, file)
        if not readonly:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
        conn = _migrate(conn, file, readonly=readonly)
        conn.execute("PRAGMA foreign_keys = ON")
        # a sign-up's calendar address is cleared once decided: overwrite it, not only unlink it
        # (SQLite builds differ in their default)
        conn.execute("PRAGMA secure_delete = ON")
    except (sqlite3.Error, OSError) as exc:
        if conn is not None:
            conn.close()
        code = _code(exc) if isinstance(exc, sqlite3.Error) else 0
        if code == sqlite3.SQLITE_NOTADB:
            raise StoreError(_not_history(file, "file is not a database")) from None
        advice = "check the `database` path in members.toml"
        if code in _FAILURES:
            advice = f"{_FAILURES[code][1]}, then run the same command again"
        raise StoreError(
            f"history: {file}: cannot use the database ({_reason(exc)}); {advice}"
        ) from None
    except StoreError:
        if conn is not None:
            conn.close()
        raise
    return Store(conn, file, readonly=readonly)


def _create(file: Path) -> None:
    """A new, empty history at ``file``, made whole before it appears there: built in a
    temporary file beside it (0600), then hard-linked into place, which never replaces a file
    (a command that made one first wins; this one's is dropped)."""
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, name = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".new")
    os.close(fd)
    temporary = Path(name)
    try:
        conn = sqlite3.connect(temporary, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous = FULL")
            _migrate(conn, temporary, readonly=False)
        finally:
            conn.close()
        try:
            os.link(temporary, file)
        except FileExistsError:
            return
        except OSError:  # a file system without hard links
            if file.exists():
                return
            temporary.replace(file)
        flush_folder(file.parent)
    finally:
        temporary.unlink(missing_ok=True)


def _refuse_other_files(conn: sqlite3.Connection, file: Path) -> None:
    """Refuse a file that holds no calroulette history: calroulette always writes its schema
    version with its tables, so version 0 is an empty file or another program's database."""
    if int(conn.execute("PRAGMA user_version").fetchone()[0]) != 0:
        return
    if file.stat().st_size == 0:
        why = "the file is empty"
    elif conn.execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchone() is None:
        why = "it holds no calroulette history"
    else:
        why = "it is another program's database"
    raise StoreError(_not_history(file, why))


def _not_history(file: Path, why: str) -> str:
    return (
        f"history: {file}: cannot use the database ({why}); calroulette will not write over it: "
        "restore it from a backup, or move it away to start a new history (in which a week "
        "already sent may be sent again)"
    )


def _failure(file: Path, exc: sqlite3.Error) -> str:
    """One line for a failure of the open database: what happened and what to do."""
    what, fix = _FAILURES.get(
        _code(exc), ("cannot use it", "check the file, or restore it from a backup")
    )
    return (
        f"history: {file}: {what} ({_reason(exc)}); nothing was half-written: {fix}, then run "
        "the same command again"
    )


_WRITABLE = ("cannot write it", "make the file and its folder writable for this user")
_FAILURES = {
    sqlite3.SQLITE_FULL: ("cannot write it: the disk is full", "free some space"),
    sqlite3.SQLITE_IOERR: ("cannot write it: disk error, is the disk full?", "free some space"),
    sqlite3.SQLITE_READONLY: _WRITABLE,
    sqlite3.SQLITE_PERM: _WRITABLE,
    sqlite3.SQLITE_CANTOPEN: _WRITABLE,
    sqlite3.SQLITE_BUSY: ("another command holds it", "wait for that command to finish"),
    sqlite3.SQLITE_LOCKED: ("another command holds it", "wait for that command to finish"),
    sqlite3.SQLITE_CORRUPT: ("the file is damaged", "restore it from a backup"),
}


def _code(exc: sqlite3.Error) -> int:
    """The primary result code (``SQLITE_IOERR`` for ``SQLITE_IOERR_WRITE``); 0 when unknown."""
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _migrate(conn: sqlite3.Connection, file: Path, *, readonly: bool) -> sqlite3.Connection:
    """Bring the schema to the latest version; the connection to use from now on."""
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if current > len(MIGRATIONS):
        conn.close()
        raise StoreError(
            f"history: {file}: written by a newer calroulette (schema {current}, this "
            f"version knows {len(MIGRATIONS)}); upgrade calroulette"
        )
    if current == len(MIGRATIONS):
        return conn
    if readonly:
        memory = sqlite3.connect(":memory:", isolation_level=None)
        conn.backup(memory)
        conn.close()
        conn = memory
    conn.execute("PRAGMA foreign_keys = OFF")  # see migrations.py; turned on by the caller
    for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
        # executescript commits anything pending first, then runs the script as written: the
        # script's own BEGIN … COMMIT makes the migration and its version number one transaction.
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};")
            broken = conn.execute("PRAGMA foreign_key_check").fetchone()
            if broken is not None:
                raise sqlite3.IntegrityError(f"migration {version}: foreign key {tuple(broken)}")
            conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return conn


def _reason(exc: sqlite3.Error | OSError) -> str:
    # sqlite3's messages name no secrets and no data: "file is not a database", "database is locked"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc).splitlines()[0][:120] or type(exc).__name__
