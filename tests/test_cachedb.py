"""A cache in one SQLite file: private, rebuilt when its layout changes, never fatal."""

from __future__ import annotations

import logging
import stat
import threading
from pathlib import Path

import pytest

from calroulette.cachedb import CacheDB

V1 = "CREATE TABLE entries (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
V2 = "CREATE TABLE entries (key TEXT PRIMARY KEY, value BLOB NOT NULL, at TEXT NOT NULL)"


def test_the_file_and_its_journal_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    with CacheDB(tmp_path / "deep" / "c.sqlite", V1, version=1) as db:
        db.write("INSERT INTO entries VALUES (?, ?)", [("k", "v")])
        files = sorted((tmp_path / "deep").iterdir())
        assert [p.name for p in files] == ["c.sqlite", "c.sqlite-shm", "c.sqlite-wal"]
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "deep").stat().st_mode) == 0o700
    with CacheDB(tmp_path / "deep" / "c.sqlite", V1, version=1) as again:
        assert again.query("SELECT value FROM entries WHERE key = ?", ("k",)) == [("v",)]


def test_a_file_of_another_layout_is_emptied_and_made_again(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with CacheDB(path, V1, version=1) as db:
        db.write("INSERT INTO entries VALUES (?, ?)", [("k", "v")])
    with CacheDB(path, V2, version=2) as db:
        assert db.query("SELECT * FROM entries") == []
        db.write("INSERT INTO entries VALUES (?, ?, ?)", [("k", b"v", "now")])
        assert db.query("SELECT at FROM entries") == [("now",)]


def test_a_write_that_fails_is_logged_once_and_the_run_goes_on_without_the_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with CacheDB(tmp_path / "c.sqlite", V1, version=1) as db, caplog.at_level(logging.WARNING):
        db.write("INSERT INTO entries VALUES (?, ?)", [("a", "1"), ("b", None)])  # NOT NULL
        db.write("INSERT INTO entries VALUES (?, ?)", [("c", "3")])
        assert db.query("SELECT key FROM entries") == []
    assert caplog.text.count("going on without it") == 1
    with CacheDB(tmp_path / "c.sqlite", V1, version=1) as db:  # all or nothing: "a" is not kept
        assert db.query("SELECT key FROM entries") == []


def test_threads_share_one_cache(tmp_path: Path) -> None:
    with CacheDB(tmp_path / "c.sqlite", V1, version=1) as db:

        def put(n: int) -> None:
            for i in range(50):
                db.write("INSERT INTO entries VALUES (?, ?)", [(f"{n}-{i}", "v")])

        threads = [threading.Thread(target=put, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert db.query("SELECT count(*) FROM entries") == [(400,)]


def test_a_blob_is_read_with_its_row_and_a_missing_row_is_none(tmp_path: Path) -> None:
    body = bytes(range(256)) * 4096  # 1 MB: overflow pages
    with CacheDB(tmp_path / "c.sqlite", V2, version=2) as db:
        db.write("INSERT INTO entries VALUES (?, ?, ?)", [("k", body, "then")])
        sql = "SELECT rowid, at FROM entries WHERE key = ?"
        assert db.query_blob(sql, ("nobody",), "entries", "value") is None
        found = db.query_blob(sql, ("k",), "entries", "value")
        assert found is not None and found[0][1] == "then" and found[1] == body
        db.write("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", [("k", b"new", "now")])
        found = db.query_blob(sql, ("k",), "entries", "value")  # a new rowid: found again
        assert found is not None and found[1] == b"new"
