"""The history database: one SQLite file at the community's ``database`` path.

- A versioned schema (:mod:`.migrations`), upgraded when the file is opened for writing.
- WAL (readers never block the writer), foreign keys on, ``synchronous=FULL`` so that a row
  marked sent survives a power cut, not only a crash.
- Autocommit; every write is an explicit ``BEGIN IMMEDIATE`` … ``COMMIT``
  (:meth:`Store.transaction`): a crash, ``kill -9`` or an exception leaves either the whole
  change or none of it.
- Keyed by email, never by position in members.toml: a member who leaves keeps their history.

Times are stored as ISO 8601 UTC text (``2026-12-01T14:00:00Z``), weeks as ``2026-W49``, states and
reasons as the codes of their ``StrEnum``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from types import TracebackType

from calroulette.errors import CalrouletteError

from .deliveries import Deliveries
from .migrations import MIGRATIONS
from .rounds import Rounds
from .transaction import transaction


class StoreError(CalrouletteError):
    """The history database cannot be used (not a database, from a newer version, locked)."""


class Store:
    """An open history database; use :func:`open_store`, as a context manager.

    Its tables are reached through :attr:`rounds` (rounds, meetings, the history they make) and
    :attr:`deliveries` (the ledger of messages), both on this one connection, so that a change
    of state and the messages that carry it are written in one :meth:`transaction`.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, *, readonly: bool = False) -> None:
        self.conn = conn
        self.path = path
        self.readonly = readonly
        self.rounds = Rounds(conn)
        self.deliveries = Deliveries(conn)

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
    try:
        if readonly:
            conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        else:
            file.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(file, timeout=30)
        conn.isolation_level = None  # autocommit; every write is an explicit transaction
        conn.execute("PRAGMA busy_timeout = 30000")
        if not readonly:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
        conn = _migrate(conn, file, readonly=readonly)
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"history: {file}: cannot use the database ({_sqlite_reason(exc)}); "
            "check the `database` path in members.toml"
        ) from None
    return Store(conn, file, readonly=readonly)


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


def _sqlite_reason(exc: sqlite3.DatabaseError) -> str:
    # sqlite3's messages name no secrets and no data: "file is not a database", "database is locked"
    return str(exc).splitlines()[0][:120] or type(exc).__name__
