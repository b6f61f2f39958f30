"""The last good copy of each feed and its validators (ETag, Last-Modified), on disk.

Files are named by a SHA-256 of the feed's address and neither the name nor the content holds the
address itself: a secret calendar URL is a password, and a cache directory gets backed up, synced
and listed. Each entry is two files, written atomically (temporary file + rename) and readable by
the owner only:

- ``<key>.ics``: the body as the server sent it (calendar contents are private too);
- ``<key>.json``: ``etag``, ``last_modified``, ``confirmed_at`` (when the server last sent or
  confirmed this body), ``sha256`` and ``size`` of the body.

A cache that cannot be read or written never stops a run: it is logged and the fetch goes on
without it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from calroulette.atomicfile import write_atomic
from calroulette.timeutil import format_utc, parse_utc

log = logging.getLogger(__name__)
_VERSION = 1
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


class FeedCache:
    """Last good feed bodies under ``directory/feeds``; safe to share between threads."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "feeds"
        self._made = False  # the directory exists (made or found by this instance)

    def _paths(self, address: str) -> tuple[Path, Path]:
        key = cache_key(address)
        return self.directory / f"{key}.ics", self.directory / f"{key}.json"

    def load(self, address: str) -> CachedFeed | None:
        """The last good copy, or ``None`` when there is none or it does not check out."""
        body_path, meta_path = self._paths(address)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            body = body_path.read_bytes()
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("feed cache: cannot read entry %s (%s)", meta_path.name, type(exc).__name__)
            return None
        try:
            if meta.get("version") != _VERSION or meta["sha256"] != _digest(body):
                log.warning("feed cache: entry %s does not match its body; ignored", meta_path.name)
                return None
            return CachedFeed(
                body=body,
                etag=meta.get("etag"),
                last_modified=meta.get("last_modified"),
                confirmed_at=parse_utc(meta["confirmed_at"]),
                sha256=meta["sha256"],
            )
        except (KeyError, TypeError, ValueError):
            log.warning("feed cache: entry %s is malformed; ignored", meta_path.name)
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
        body_path, _ = self._paths(address)
        try:
            if not self._made:
                self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._made = True
            write_atomic(body_path, body)
        except OSError as exc:
            log.warning("feed cache: cannot write %s (%s)", self.directory, exc.strerror)
            return
        self._write_meta(address, _digest(body), len(body), etag, last_modified, confirmed_at)

    def confirm(self, address: str, cached: CachedFeed, at: dt.datetime) -> None:
        """The server said 304 at ``at``: the cached copy is current as of then.

        Only the small metadata file is rewritten; the body on disk is already this one. A
        confirmation less than :data:`RECONFIRM_AFTER` old is not rewritten: ``confirmed_at``
        only counts against ``stale_days``, and ``check`` followed by ``match`` would otherwise
        rewrite every entry twice in a few minutes (a rename costs ~0.5 ms on ext4).
        """
        if dt.timedelta(0) <= at - cached.confirmed_at < RECONFIRM_AFTER:
            return
        self._write_meta(
            address,
            cached.sha256,
            len(cached.body),
            cached.etag,
            cached.last_modified,
            at,
        )

    def _write_meta(
        self,
        address: str,
        digest: str,
        size: int,
        etag: str | None,
        last_modified: str | None,
        confirmed_at: dt.datetime,
    ) -> None:
        _, meta_path = self._paths(address)
        meta = {
            "version": _VERSION,
            "etag": etag,
            "last_modified": last_modified,
            "confirmed_at": format_utc(confirmed_at),
            "sha256": digest,
            "size": size,
        }
        try:
            write_atomic(meta_path, json.dumps(meta, indent=1).encode("utf-8"))
        except OSError as exc:
            log.warning("feed cache: cannot write %s (%s)", self.directory, exc.strerror)

    def prune(self, keep: set[str], before: dt.datetime) -> int:
        """Delete entries of addresses not in ``keep`` last confirmed before ``before``.

        A member who left (or whose address changed) leaves a copy of their calendar behind;
        it is kept while it could still be used (``stale_days``), then removed.
        """
        wanted = {cache_key(address) for address in keep}
        removed = 0
        try:
            metas = list(self.directory.glob("*.json"))
        except OSError:
            return 0
        for meta_path in metas:
            if meta_path.stem in wanted:
                continue
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                old = parse_utc(meta["confirmed_at"]) < before
            except (OSError, ValueError, KeyError, TypeError):
                old = True  # unreadable: nothing could use it
            if old:
                for path in (meta_path, meta_path.with_suffix(".ics")):
                    path.unlink(missing_ok=True)
                removed += 1
        return removed


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
