"""The one way calroulette reads free time: many members' calendars at once, pruned, in worker
processes and cached; each answer is what :func:`.rules.free_time` gives on the whole feed.

A community of 10,000 is mostly light feeds (~5 ms each to parse and expand) and a few heavy
primary calendars (~1 s each, years of meetings). Three things make the weekly job cheap, none of
which changes a result:

- **Pruning**: each body loses, as text, the one-off events that cannot reach the week
  (:func:`._prune.prune_feed`, proven equivalent by tests/test_availability_prune.py) before
  icalendar sees it; a heavy feed is then read in ~0.09 s, ~0.02 s of it pruning.
- **A process pool**: parsing is pure Python, so feeds are read in up to ``os.cpu_count()``
  worker processes (``forkserver`` where there is one, with the parsing libraries loaded once,
  else ``spawn``: no fork of a process that has threads).
- **A cache of results**: each member's free time is a row of ``cache_dir/free.sqlite``
  (:mod:`calroulette.cachedb`), keyed by the SHA-256 of the feed body and everything else the
  answer depends on (member, zone, keyword, week, community zone, and a digest of the code that
  computes it). The week's rows are read with one query when a reader starts, and the new ones
  written in one transaction, so an unchanged feed costs a hash and a JSON decode. Entries hold
  no address, the file is readable by the owner only, and an entry that cannot be read is
  computed again. Errors are not cached: they are cheap to find again, and the message should
  come from the current code.
- **A horizon of weeks**: a body read for one week is also read for the weeks after it
  (:data:`HORIZON_WEEKS` in all, and 0 to :data:`STAGGER_WEEKS` - 1 more chosen by the body's
  key), from one parse and one expansion across them
  (:func:`.horizon.free_times`, which gives each week exactly :func:`.rules.free_time`'s answer),
  and each week's answer is cached under that week's key. Next week's run on an unchanged body
  finds its week cached: it parses nothing and starts no worker. The asked week is read first,
  as it would be alone, and the later weeks only within what is left of the member's CPU
  budget: they can never cost more than the bounds allow, nor turn an answer into an error
  (:mod:`._worker`). Weeks more than ``KEEP_WEEKS`` before the week read leave the cache; the
  later weeks just computed are after it, so they stay.

  The extra weeks are staggered so that horizons do not all end together: with one length for
  every body, the bodies of a first run (most of a community) all ran out in the same week, six
  weeks later, and that week's run cost a first run's. With lengths of 6 to 11 weeks spread by
  the key (:meth:`FreeTimeReader.horizon_for`), about a sixth of them end in each of those
  weeks, and as each is read again with a new key its next end falls elsewhere. A later week
  costs ~0.45 ms of a reading's ~11 ms, so the longer horizons cost a first run about a tenth
  more and save later runs a read every 8.5 weeks instead of every 6.

**Bounds.** A feed decides how much work reading it takes (an event repeating every second
with no end, a time zone changing every minute): so every feed is read in a worker process,
even in a small community, never in this one, and each worker is bounded
(:class:`ReadLimits`, :mod:`calroulette.workers`): its memory, and the CPU time of each
member's reading. A member past a bound, a reading that raises anything at all, or a worker that
dies (the members it was reading are then read again, each alone, to find whose feed it was)
becomes that member's :class:`FeedError`; the others get their answers.

:meth:`FreeTimeReader.validate` plugs into :func:`calroulette.feeds.fetch_feeds`: each
downloaded body is read once, while the others are still downloading, and only a body that
parses is kept as the feed's last good copy (a broken one falls back to that copy).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cache
from importlib import metadata
from pathlib import Path
from types import TracebackType

from calroulette import __version__
from calroulette.cachedb import CacheDB
from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.intervals import Interval
from calroulette.timeutil import IsoWeek

from ._worker import (
    ReadLimits,
    Record,
    context,
    failed,
    record,
    start_worker,
    work,
)
from .parse import parse_calendar
from .rules import FreeTime

log = logging.getLogger(__name__)

KEEP_WEEKS = 4  # cached weeks older than this before the one computed are removed
HORIZON_WEEKS = 6  # weeks read from one body at least: the week asked and the 5 after it
STAGGER_WEEKS = 6  # and 0 to 5 more, by the body's key, so that horizons end in different weeks
CACHE_VERSION = 1
_SCHEMA = """
CREATE TABLE free (
    week TEXT NOT NULL,    -- 2026-W49: old weeks are deleted by it
    key TEXT NOT NULL,     -- FreeTimeReader._key: the body's hash and all the answer depends on
    record TEXT NOT NULL,  -- JSON, as a worker returns it
    PRIMARY KEY (week, key)
) WITHOUT ROWID
"""


class FreeTimeReader:
    """Reads feeds into free time for one community and week; close it to stop the workers."""

    def __init__(
        self,
        community: Community,
        week: IsoWeek,
        *,
        workers: int | None = None,
        expected: int | None = None,
        ignore_uids: frozenset[str] = frozenset(),
        limits: ReadLimits | None = None,
        horizon: int | None = None,
    ) -> None:
        """``expected``: how many feeds :meth:`validate` will see (default: every member's),
        which decides how many worker processes it may start. Events whose UID is in
        ``ignore_uids`` neither free nor block time (see :func:`.rules.free_time`).
        ``limits``: what one member's reading may cost (default: :meth:`ReadLimits.of`).
        ``horizon``: how many weeks, from ``week`` on, to read each body for (default:
        :data:`HORIZON_WEEKS`, or 1 with ``ignore_uids``: moving a meeting asks one week once,
        and its answers are cached under keys no weekly run asks for)."""
        self.community = community
        self.ignore_uids = ignore_uids
        if horizon is None:
            horizon = 1 if ignore_uids else HORIZON_WEEKS
        self.horizon = max(1, horizon)
        self.expected = len(community.members) if expected is None else expected
        self.week = week
        self.limits = limits or ReadLimits.of(community)
        self.workers = max(1, min(workers or os.cpu_count() or 1, max(self.expected, 1)))
        self.cache = CacheDB(community.cache_dir / "free.sqlite", _SCHEMA, version=CACHE_VERSION)
        self._members = {m.email: m for m in community.members}
        self._known: dict[str, Record] = {}  # this run's results by key, errors included
        self._read: dict[str, FreeTime | FeedError] = {}  # the cache entries read, as results
        self._keys: dict[str, tuple[bytes, str]] = {}  # email -> (body, key) already hashed
        self._parts: dict[str, list[str]] = {}  # key -> what it hashes, to key the later weeks
        self._pending: dict[str, Future[Record]] = {}  # started by prepare, collected by compute
        self._lock = threading.RLock()  # prepare() submits, and starts the pool, holding it
        self._pool: ProcessPoolExecutor | None = None
        self._unsaved: list[tuple[str, str, str]] = []  # new cache rows, written together
        # The week's cache rows as this started, still as JSON: decoded when asked for.
        self._rows: dict[str, str] = dict(
            self.cache.query("SELECT key, record FROM free WHERE week = ?", (str(week),))
        )

    def __enter__(self) -> FreeTimeReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._save()
        self.cache.close()

    def validate(self, body: bytes, email: str) -> None:
        """For ``fetch_feeds(validate=...)``: raise the :class:`FeedError` that
        :func:`parse_calendar` would raise for ``body``; the free time is kept for
        :meth:`compute`. Called from the fetch threads."""
        member = self._members.get(email)
        if member is None:  # not ours to judge: parse it the plain way
            parse_calendar(body, email)
            return
        key = self._key(body, member)
        record = self._lookup(key, member)
        if record is None:
            future = self._submit(body, member)
            record = self._remember(key, self._collect(future, body, member))
        if record.get("phase") == "parse":
            raise _error(record)

    def prepare(self, body: bytes, email: str) -> None:
        """For ``fetch_feeds(unchanged=...)``: start reading a body the server confirmed
        unchanged, in a worker and without waiting for it, when its free time this week is not
        cached. A new week's run reads every feed again, unchanged or not: this lets the
        workers read while the other feeds are still being asked for, instead of after.
        It reads no cache: the week's rows were read when this object was made."""
        member = self._members.get(email)
        if member is None:
            return
        key = self._key(body, member)
        if key in self._pending or key in self._known or key in self._rows:
            return  # cached (a run of the same week again): no worker is started for it
        with self._lock:
            if key not in self._pending:
                self._pending[key] = self._submit(body, member)

    def compute(self, feeds: Mapping[str, bytes | FeedError]) -> dict[str, FreeTime | FeedError]:
        """Every member's free time, in ``community.members`` order, as reading each body on
        its own would give it (a member without a body is "not fetched")."""
        records: dict[str, Record] = {}
        keys: dict[str, str] = {}
        todo: list[tuple[str, bytes, Member]] = []
        for member in self.community.members:
            feed = feeds.get(member.email)
            if isinstance(feed, bytes):
                key = keys[member.email] = self._key(feed, member)
                record = self._lookup(key, member)
                if record is None:
                    todo.append((key, feed, member))
                else:
                    records[member.email] = record
        if todo:
            futures = []
            for key, body, m in todo:  # a body prepare() started is already being read
                started = self._pending.pop(key) if key in self._pending else None
                futures.append((key, body, m, started or self._submit(body, m)))
            for key, body, member, future in futures:
                record = self._collect(future, body, member)
                records[member.email] = self._remember(key, record)
        self._save()
        out: dict[str, FreeTime | FeedError] = {}
        for member in self.community.members:
            feed = feeds.get(member.email)
            if feed is None:
                out[member.email] = FeedError(member.email, "calendar", "not fetched")
            elif isinstance(feed, FeedError):
                out[member.email] = feed
            else:  # a cache entry read is not built again
                read = self._read.get(keys[member.email])
                if read is None:
                    read = _free_time(records[member.email], member.email, self.week)
                out[member.email] = read
        return out

    # --- the cache --------------------------------------------------------------------------

    def _key(self, body: bytes, member: Member) -> str:
        """The cache key of ``member``'s free time from ``body`` in this reader's week, hashed
        once per body."""
        hashed = self._keys.get(member.email)
        if hashed is not None and hashed[0] is body:
            return hashed[1]
        parts = [
            hashlib.sha256(body).hexdigest(),
            member.email,
            getattr(member.timezone, "key", str(member.timezone)),
            self.community.keyword_for(member),
            str(self.week),
            getattr(self.community.timezone, "key", str(self.community.timezone)),
            "\x1f".join(sorted(self.ignore_uids)),
            code_version(),
        ]
        key = _hashed(parts)
        self._keys[member.email] = (body, key)
        self._parts[key] = parts
        return key

    def _later_key(self, key: str, week: IsoWeek) -> str:
        """The key of the same body and member's free time in ``week``: the key a reader of
        ``week`` computes (:meth:`_key`)."""
        parts = list(self._parts[key])
        parts[_WEEK_PART] = str(week)
        return _hashed(parts)

    def _lookup(self, key: str, member: Member) -> Record | None:
        known = self._known.get(key)
        if known is not None:
            return known
        row = self._rows.get(key)
        if row is None:
            return None
        try:
            record: Record = json.loads(row)
            if "error" in record:  # never written: errors are not cached
                raise ValueError(key)
            read = _free_time(record, member.email, self.week)  # checks the shape
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("free-time cache: entry %s cannot be read; computed again", key[:12])
            return None
        self._known[key] = record
        self._read[key] = read
        return record

    def _remember(self, key: str, record: Record) -> Record:
        later = record.pop("weeks", None) or {}
        self._known[key] = record
        if "error" not in record:
            rows = [(str(self.week), key, json.dumps(record))]
            for week, entry in self._later_weeks(key, later):
                rows.append((str(week), self._later_key(key, week), json.dumps(entry)))
            with self._lock:
                self._unsaved.extend(rows)
        return record

    def horizon_for(self, body: bytes, member: Member) -> int:
        """How many weeks, from this reader's on, ``member``'s free time is read for from
        ``body``: :data:`HORIZON_WEEKS` and up to :data:`STAGGER_WEEKS` - 1 more, by the cache
        key (which holds the week: a body read again draws its next length afresh). One week
        when the reader reads one only."""
        return self._horizon_of(self._key(body, member))

    def _horizon_of(self, key: str) -> int:
        if self.horizon <= 1:
            return self.horizon
        return self.horizon + int(key[:8], 16) % STAGGER_WEEKS

    def _later_weeks(self, key: str, later: object) -> list[tuple[IsoWeek, Record]]:
        """The later weeks a worker read (:func:`._worker.read`), those within the horizon."""
        weeks = {str(self.week.shifted(k)): k for k in range(1, self._horizon_of(key))}
        if not isinstance(later, dict):
            return []
        return [
            (self.week.shifted(weeks[name]), entry)
            for name, entry in later.items()
            if name in weeks and isinstance(entry, dict) and "error" not in entry
        ]

    def _save(self) -> None:
        """Write the new entries in one transaction, and forget weeks long before this one."""
        with self._lock:
            rows, self._unsaved = self._unsaved, []
        if rows:
            self.cache.write("INSERT OR REPLACE INTO free VALUES (?, ?, ?)", rows)
            oldest = str(self.week.shifted(-KEEP_WEEKS))  # ISO weeks sort as text
            self.cache.write("DELETE FROM free WHERE week < ?", [(oldest,)])

    # --- the workers ------------------------------------------------------------------------

    def _started_pool(self) -> ProcessPoolExecutor:
        """The worker processes, started on first use (and again after one died)."""
        with self._lock:
            if self._pool is None:
                self._pool = self._new_pool(self.workers)
            return self._pool

    def _new_pool(self, workers: int, horizon: int | None = None) -> ProcessPoolExecutor:
        """``horizon``: the reader's unless given (a feed read again alone: only its week)."""
        horizon = self.horizon if horizon is None else horizon
        return ProcessPoolExecutor(
            workers,
            mp_context=context(),
            initializer=start_worker,
            initargs=(
                self.community,
                self.week,
                self.ignore_uids,
                self.limits,
                os.getpid(),
                horizon,
            ),
        )

    def _submit(self, body: bytes, member: Member) -> Future[Record]:
        for _ in range(2):  # a pool a worker died in is broken: the second try starts a new one
            pool = self._started_pool()
            try:
                horizon = self.horizon_for(body, member)
                return pool.submit(work, body, member.email, horizon)
            except (BrokenProcessPool, RuntimeError):
                self._forget(pool)
        future: Future[Record] = Future()
        future.set_result(self._alone(body, member))
        return future

    def _forget(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def _collect(self, future: Future[Record], body: bytes, member: Member) -> Record:
        """The record ``future`` holds; when the worker died, the member's feed read again,
        alone, which says whether it was theirs (the others read in that pool die with it)."""
        try:
            return future.result()
        except BrokenProcessPool:
            with self._lock:
                pool = self._pool
            if pool is not None and getattr(pool, "_broken", False):
                self._forget(pool)
            return self._alone(body, member)
        except Exception as error:  # noqa: BLE001 - the member's error, whatever it was
            return failed(member.email, error)

    def _alone(self, body: bytes, member: Member) -> Record:
        """Read ``member``'s feed in a worker of its own: a death there is theirs. Only the
        week asked: the later weeks must not turn a good answer into an error."""
        pool = self._new_pool(1, horizon=1)
        try:
            return pool.submit(work, body, member.email).result()
        except BrokenProcessPool:
            log.warning("%s: free time: the worker process reading it died", member.email)
            return record(
                FeedError(
                    member.email,
                    "calendar",
                    "reading it stopped the worker process (it may need more memory or "
                    "computing than one calendar may take: an event repeating every second or "
                    "minute, or a huge calendar; make such an event repeat less often, or end it)",
                ),
                "free time",
            )
        except Exception as error:  # noqa: BLE001 - the member's error, whatever it was
            return failed(member.email, error)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


_WEEK_PART = 4  # where the week is in a key's parts (FreeTimeReader._key)


def _hashed(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _free_time(record: Record, email: str, week: IsoWeek) -> FreeTime | FeedError:
    """A record back as a result: the free time, or the member's error."""
    if "error" in record:
        return _error(record)
    return FreeTime(
        email,
        week,
        tuple(
            Interval(dt.datetime.fromisoformat(a), dt.datetime.fromisoformat(b))
            for a, b in record["free"]
        ),
        int(record["availability_events"]),
        int(record["busy_events"]),
        tuple(str(w) for w in record["warnings"]),
    )


def _error(record: Record) -> FeedError:
    member, stage, message = record["error"]
    return FeedError(str(member), str(stage), str(message))


@cache
def code_version() -> str:
    """calroulette's version, the versions of the libraries that parse and expand calendars, and
    a digest of the code that decides free time: a cached result is never used by a version
    that could compute another (an upgraded recurring-ical-events may expand differently)."""
    digest = hashlib.sha256(__version__.encode())
    for library in (
        "icalendar",
        "recurring-ical-events",
        "x-wr-timezone",
        "python-dateutil",
        "tzdata",
    ):
        try:
            digest.update(f"{library}={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library}=?".encode())
    package = Path(__file__).parent.parent
    names = ("feedformat.py", "timeutil.py", "intervals.py")
    code = [*package.glob("availability/*.py"), *package.glob("config/*.py")]
    for path in sorted([*code, *(package / n for n in names)]):
        try:
            digest.update(path.name.encode() + path.read_bytes())
        except OSError:
            digest.update(path.name.encode())
    return digest.hexdigest()[:16]
