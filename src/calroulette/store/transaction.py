"""One way to write: ``BEGIN IMMEDIATE`` … ``COMMIT`` on an autocommit connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any exception: a crash, ``kill -9``
    or an exception leaves either the whole change or none of it. ``IMMEDIATE`` takes the write
    lock at once, so two writers queue instead of failing halfway."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
