"""One way to write: ``BEGIN IMMEDIATE`` … ``COMMIT`` on an autocommit connection."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any exception: a crash, ``kill -9``
    or an exception leaves either the whole change or none of it. ``IMMEDIATE`` takes the write
    lock at once, so two writers queue instead of failing halfway.

    A failed ``COMMIT`` (a full disk, a read-only file) is rolled back too, and the error raised
    is SQLite's, never one from the rollback: :class:`.db.Store` turns it into one line."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        _rollback(conn)
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back what is still open. After some errors (SQLITE_FULL, SQLITE_IOERR) SQLite has
    already rolled the transaction back, and a ROLLBACK would fail and hide the real error."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
