"""The last good copy of each feed and its validators (ETag, Last-Modified), on disk.

Entries are rows of ``cache_dir/feeds.sqlite`` (:mod:`calroulette.cachedb`: one file, written
in transactions, readable by the owner only), keyed by a SHA-256 of the feed's address; neither
the key nor the row holds the address itself: a secret calendar URL is a password, and a cache
directory gets backed up, synced and listed. A row holds the body as the server sent it
(calendar contents are private too), its SHA-256, ``etag``, ``last_modified`` and
``confirmed_at`` (when the server last sent or confirmed this body).

A cache that cannot be read or written never stops a run: it is logged and the fetch goes on
without it.

Writes are kept and written :data:`BATCH` at a time, in one transaction (and whatever is left
when the cache is closed): one commit per feed was a transaction, a WAL frame of the row's pages
and the lock's hand-over per feed, 1,000 of them in a weekly run where most feeds answer 304. A
run killed before a batch is written loses those rows only: a body not kept is downloaded again next
run (its old validators no longer match), a confirmation not kept leaves the older
``confirmed_at``; nothing a member sees depends on either.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from calroulette.cachedb import CacheDB
from calroulette.timeutil import format_utc, parse_utc

log = logging.getLogger(__name__)
_VERSION = 2  # 1: a .ics and a .json file per entry
BATCH = 64  # rows written per transaction
_STORE = "INSERT OR REPLACE INTO feeds VALUES (?, ?, ?, ?, ?, ?)"
_CONFIRM = "UPDATE feeds SET confirmed_at = ? WHERE key = ? AND sha256 = ?"
RECONFIRM_AFTER = dt.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class CachedFeed:
    body: bytes
    etag: str | None
    last_modified: str | None
    confirmed_at: dt.datetime  # UTC: when the server last sent or confirmed (304) this body
    sha256: str  # of ``body``, checked when it was loaded


def cache_key(address: str) -> str:
    """A file name for ``address`` that does not reveal it.

    >>> key = cache_key("https://cal.example/private-abc/basic.ics")
    >>> len(key), "private" in key
    (64, False)
    """
    return hashlib.sha256(address.encode("utf-8")).hexdigest()


_SCHEMA = """
CREATE TABLE feeds (
    key TEXT PRIMARY KEY,       -- cache_key(address)
    body BLOB NOT NULL,
    sha256 TEXT NOT NULL,       -- of body, checked when it is loaded
    etag TEXT,
    last_modified TEXT,
    confirmed_at TEXT NOT NULL  -- UTC, ISO 8601
)
"""


class FeedCache:
    """Last good feed bodies in ``directory/feeds.sqlite``; safe to share between threads.
    Close it (or use it as a context manager) when done."""

    def __init__(self, directory: Path) -> None:
        self.db = CacheDB(directory / "feeds.sqlite", _SCHEMA, version=_VERSION)
        self._lock = threading.Lock()
        self._writes: list[tuple[str, tuple[object, ...]]] = []  # not yet written, in order
        self._stored: dict[str, CachedFeed] = {}  # the bodies among them, by key

    def flush(self) -> None:
        """Write the rows kept so far (:data:`BATCH` at a time otherwise)."""
        with self._lock:  # held while writing: a load meanwhile finds the row in one or other
            if self._writes:
                self.db.write_each(self._writes)
            self._writes = []
            self._stored.clear()

    def close(self) -> None:
        self.flush()
        self.db.close()

    def __enter__(self) -> FeedCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def load(self, address: str) -> CachedFeed | None:
        """The last good copy, or ``None`` when there is none or it does not check out."""
        key = cache_key(address)
        with self._lock:
            kept = self._stored.get(key)
        if kept is not None:  # stored by this run, not written yet
            return kept
        found = self.db.query_blob(
            "SELECT rowid, sha256, etag, last_modified, confirmed_at FROM feeds WHERE key = ?",
            (key,),
            "feeds",
            "body",
        )
        if found is None:
            return None
        (_, digest, etag, last_modified, confirmed_at), body = found
        try:
            if digest != _digest(body):
                log.warning("feed cache: entry %s does not match its body; ignored", key[:12])
                return None
            return CachedFeed(
                body=body,
                etag=etag,
                last_modified=last_modified,
                confirmed_at=parse_utc(confirmed_at),
                sha256=digest,
            )
        except (TypeError, ValueError):
            log.warning("feed cache: entry %s is malformed; ignored", key[:12])
            return None

    def store(
        self,
        address: str,
        body: bytes,
        *,
        etag: str | None,
        last_modified: str | None,
        confirmed_at: dt.datetime,
    ) -> None:
        """Keep ``body`` as the last good copy of ``address``."""
        key, digest = cache_key(address), _digest(body)
        self._write(
            _STORE,
            (key, body, digest, etag, last_modified, format_utc(confirmed_at)),
            (key, CachedFeed(body, etag, last_modified, confirmed_at, digest)),
        )

    def confirm(self, address: str, cached: CachedFeed, at: dt.datetime) -> None:
        """The server said 304 at ``at``: the cached copy is current as of then.

        A confirmation less than :data:`RECONFIRM_AFTER` old is not written again:
        ``confirmed_at`` only counts against ``stale_days``, and ``check`` followed by ``match``
        would otherwise write every entry twice in a few minutes.
        """
        if dt.timedelta(0) <= at - cached.confirmed_at < RECONFIRM_AFTER:
            return
        self._write(_CONFIRM, (format_utc(at), cache_key(address), cached.sha256))

    def _write(
        self, sql: str, params: tuple[object, ...], stored: tuple[str, CachedFeed] | None = None
    ) -> None:
        with self._lock:
            self._writes.append((sql, params))
            if stored is not None:
                self._stored[stored[0]] = stored[1]
            full = len(self._writes) >= BATCH
        if full:
            self.flush()

    def forget(self, address: str) -> None:
        """Delete the copy of ``address``, with any write of it not made yet."""
        self.flush()  # a kept row written after the delete would bring the copy back
        self.db.write("DELETE FROM feeds WHERE key = ?", [(cache_key(address),)])

    def prune(self, keep: set[str], before: dt.datetime) -> int:
        """Delete entries of addresses not in ``keep`` last confirmed before ``before``.

        A member who left (or whose address changed) leaves a copy of their calendar behind;
        it is kept while it could still be used (``stale_days``), then removed.
        """
        self.flush()
        wanted = {cache_key(address) for address in keep}
        gone = []
        for key, confirmed_at in self.db.query("SELECT key, confirmed_at FROM feeds"):
            if key in wanted:
                continue
            try:
                old = parse_utc(confirmed_at) < before
            except (TypeError, ValueError):
                old = True  # unreadable: nothing could use it
            if old:
                gone.append((key,))
        if gone:
            self.db.write("DELETE FROM feeds WHERE key = ?", gone)
        return len(gone)


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
