"""A cache in one SQLite file: many small entries without a file each.

The feed cache and the free-time cache each keep one entry per member. As files, a first run
created three files per member (a temporary file, a write and a rename each); at 1,000 members
that was ~2.7 ms of the fetching process's CPU per feed, as much as reading a light calendar,
most of it system time (``docs/benchmarks.md``). Rows in one SQLite file cost a fraction of
that, and a week's free time is read back with one query.

What the files promised still holds: an entry is written whole or not at all (a transaction),
the file is readable by its owner only (0600, in a 0700 folder; SQLite gives its ``-wal`` and
``-shm`` files the same mode), and a cache that cannot be opened, read or written never stops a
run. It is logged once, and the run goes on as if the cache were empty; a file that is not a
database (damaged, or something else at that path) is moved aside and started afresh.

WAL with ``synchronous = NORMAL``: a power cut may lose the last entries written, never damage
the others, which is all a cache needs (history, which must not lose a write, is
:mod:`calroulette.store`, with ``FULL``).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

Row = tuple[Any, ...]
T = TypeVar("T")


class CacheDB:
    """One cache file with one schema, shared by this process's threads (one connection,
    used under a lock). Opened on first use; :meth:`close` when done."""

    def __init__(self, path: Path, schema: str, *, version: int) -> None:
        """``schema``: the ``CREATE TABLE`` statements. A file made for another ``version``
        (``PRAGMA user_version``) is emptied and made again: entries are only a cache."""
        self.path = path
        self._schema = schema
        self._version = version
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._broken = False  # logged once; the rest of the run goes without the cache

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """The rows of a ``SELECT``; none when the cache cannot be read (or does not exist:
        a read never creates the file)."""
        return self._run("read", lambda conn: conn.execute(sql, params).fetchall(), [])

    def query_blob(
        self, sql: str, params: Sequence[Any], table: str, column: str
    ) -> tuple[Row, bytes] | None:
        """The first row of ``sql``, whose first column is a rowid of ``table``, and that row's
        ``column`` (a BLOB), both from one snapshot; ``None``: no row, or cannot be read.

        The BLOB is read straight into the bytes returned. A plain ``SELECT`` of a large value
        has SQLite assemble it in a buffer of its own, which Python copies and SQLite frees:
        for feed bodies of up to megabytes, that freeing left glibc holding ~100 MB more heap
        at 10,000 members (docs/benchmarks.md, "memory").
        """

        def read(conn: sqlite3.Connection) -> tuple[Row, bytes] | None:
            with conn:  # a read transaction: the row cannot be replaced in between
                conn.execute("BEGIN")
                row = conn.execute(sql, params).fetchone()
                if row is None:
                    return None
                with conn.blobopen(table, column, row[0], readonly=True) as blob:
                    return row, blob.read()

        return self._run("read", read, None)

    def write(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """``sql`` once per row of ``rows``, in one transaction (all or none)."""

        def write(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("BEGIN")
                conn.executemany(sql, rows)

        self._run("write", write, None)

    def write_each(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        """Each ``(sql, params)`` in order, in one transaction (all or none)."""

        def write(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("BEGIN")
                for sql, params in statements:
                    conn.execute(sql, params)

        self._run("write", write, None)

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __enter__(self) -> CacheDB:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self, what: str, work: Callable[[sqlite3.Connection], T], default: T) -> T:
        """``work`` on the connection under the lock; ``default`` when there is no cache (or,
        for a read, no file yet) or ``work`` fails, which is logged once."""
        with self._lock:
            if self._conn is None and what == "read" and not self.path.exists():
                return default
            conn = self._connection()
            if conn is None:
                return default
            try:
                return work(conn)
            except sqlite3.Error as exc:
                self._fail(what, exc)
                return default

    def _connection(self) -> sqlite3.Connection | None:
        if self._conn is None and not self._broken:
            try:
                self._conn = self._open()
            except sqlite3.OperationalError as exc:  # locked, unreadable, disk full
                self._fail("open", exc)
            except sqlite3.DatabaseError as exc:  # not a database: move it aside, start afresh
                self._conn = self._afresh(exc)
            except OSError as exc:
                self._fail("open", exc)
        return self._conn

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))  # the mode SQLite keeps
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            if conn.execute("PRAGMA user_version").fetchone()[0] != self._version:
                with conn:  # an old layout, or a new file: the tables as this code wants them
                    conn.execute("BEGIN IMMEDIATE")
                    tables = conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
                    for (name,) in tables.fetchall():
                        conn.execute(f'DROP TABLE "{name}"')
                    for statement in filter(str.strip, self._schema.split(";")):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {int(self._version)}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _afresh(self, exc: sqlite3.Error) -> sqlite3.Connection | None:
        aside = self.path.with_name(self.path.name + ".broken")
        log.warning("cache %s is not readable (%s); moved aside and started afresh", self.path, exc)
        try:
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self.path.replace(aside)
            return self._open()
        except (OSError, sqlite3.Error) as again:
            self._fail("open", again)
            return None

    def _fail(self, what: str, exc: BaseException) -> None:
        if not self._broken:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            log.warning("cache %s: cannot %s (%s); going on without it", self.path, what, reason)
        self._broken = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None
