"""Fetch every member's calendar feed: http(s)://, webcal:// (as https) or a local path.

One shared client (:mod:`.client`: urllib3's pools sized to ``fetch_concurrency``, redirects,
the environment's proxies) and a thread pool fetch the feeds concurrently. Retries are urllib3's
:class:`~urllib3.util.Retry` (timeouts, connection errors, 429 and 5xx, honouring Retry-After;
never other 4xx), bounded in time by the feed's deadline (:mod:`.retry`). The rest is here: one
deadline per feed from the first connection to the last byte (:mod:`.deadline`), a size cap
enforced while the body streams, the address guard's refusals (:mod:`.guard`), conditional
requests from the validators in the cache, and the fall-back to the last good copy.

A failure is a :class:`FetchError` value for that member; it never stops the others. Messages
show addresses only through :func:`redact_url`, never an exception's own text (urllib3's and
requests' hold the full URL).

**What counts as a good copy.** Only a body that passes :func:`calroulette.feedformat.sniff`
(a VCALENDAR from BEGIN to END) is stored as the last good copy, and a body that fails it is a
failed fetch (so a login page served in place of the calendar falls back to the cache). This
module cannot ask :func:`calroulette.availability.parse_calendar` itself, since data flows one
way (feeds → availability); a caller that wants the full parse to decide passes it as
``validate`` (``check`` does), at the cost of parsing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TypeVar

import requests.exceptions
from urllib3.exceptions import (
    DecodeError,
    ProtocolError,
)
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.response import BaseHTTPResponse

from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.feedformat import sniff
from calroulette.redact import SECRETS, is_url, redact_url

from . import failures, hints
from .cache import CachedFeed, FeedCache
from .client import BadRedirect, Client, keep_alive, make_client
from .deadline import Deadline, Watchdog
from .guard import AddressRefused
from .model import ErrorKind, Feed, FeedStatus, FetchError, FetchLimits

log = logging.getLogger("calroulette.feeds")

T = TypeVar("T")
_CHUNK = 65536


Validate = Callable[[bytes, str], object]  # may raise FeedError: the body is refused
Unchanged = Callable[[bytes, str], object]  # told of a body the server said is unchanged


def fetch_feeds(
    community: Community,
    members: Iterable[Member] | None = None,
    *,
    now: dt.datetime,
    limits: FetchLimits | None = None,
    validate: Validate | None = None,
    unchanged: Unchanged | None = None,
    progress: bool | None = None,
) -> dict[str, Feed | FetchError]:
    """Fetch the feeds of ``members`` (default: everyone); one result per member email, in order.

    ``validate(body, email)`` may raise :class:`FeedError` to reject a downloaded body (it is then
    a failed fetch and the last good copy is used). ``unchanged(body, email)`` is told, in this
    thread, of each body a server confirmed unchanged (304) as soon as it is, and must not
    block: work on it can start while the other feeds download. ``progress``: a progress bar
    on stderr; ``None`` shows one when stderr is a terminal and the log is not quiet.
    """
    chosen = list(community.members if members is None else members)
    limits = limits or FetchLimits.of(community)
    workers = max(1, min(community.fetch_concurrency, len(chosen)))
    fetcher = _Fetcher(
        make_client(limits, pool=workers, allow_private=community.allow_private_feeds),
        FeedCache(community.cache_dir),
        limits,
        Watchdog(),
        now=now,
        stale_after=dt.timedelta(days=community.stale_days),
        validate=validate,
    )
    results: dict[str, Feed | FetchError] = {}
    pool = ThreadPoolExecutor(workers, thread_name_prefix="fetch")
    with fetcher.watchdog, fetcher.cache, fetcher.client, pool:
        # The last good copies are read here, one after another, before the threads start:
        # read in the threads, each call into the cache handed the interpreter lock to another
        # thread, and on an all-304 run of 10,000 feeds the cache reads cost more than the
        # requests. The addresses are registered as secrets here too (the registry's lock,
        # contended by sixteen threads, was another tenth).
        cached: dict[str, CachedFeed | None] = {}
        for m in chosen:
            if is_url(m.calendar):
                SECRETS.add(m.calendar)
                cached[m.calendar] = fetcher.cache.load(m.calendar)
        futures = {pool.submit(fetcher.fetch, m, cached.get(m.calendar)): m.email for m in chosen}
        for future in _progress(as_completed(futures), len(futures), progress):
            email = futures[future]
            result = results[email] = future.result()
            if unchanged and isinstance(result, Feed) and result.status is FeedStatus.NOT_MODIFIED:
                unchanged(result.body, email)  # here, not in the fetch threads: see above
        if members is None:  # the whole community: copies nobody uses any more can go
            addresses = {m.calendar for m in chosen if is_url(m.calendar)}
            fetcher.cache.prune(addresses, now - fetcher.stale_after)
    return {m.email: results[m.email] for m in chosen}


class _Fetcher:
    def __init__(
        self,
        client: Client,
        cache: FeedCache,
        limits: FetchLimits,
        watchdog: Watchdog,
        *,
        now: dt.datetime,
        stale_after: dt.timedelta,
        validate: Validate | None,
    ) -> None:
        self.client = client
        self.cache = cache
        self.limits = limits
        self.watchdog = watchdog
        self.now = now
        self.stale_after = stale_after
        self.validate = validate

    def fetch(self, member: Member, cached: CachedFeed | None) -> Feed | FetchError:
        """``member``'s feed; ``cached``: the cache's last good copy of it, if any."""
        source = member.calendar
        if not is_url(source):
            return _read_file(member, self.now)
        shown = redact_url(source)  # the address is registered as a secret by fetch_feeds
        started = time.monotonic()
        try:
            with self.watchdog.deadline(self.limits.deadline) as due:
                result = self._download(member, source, cached, shown, due)
        except Exception as exc:  # a bug of ours or of a library: this member's error only
            log.debug("%s: calendar: fetching failed", member.email, exc_info=True)
            result = FetchError(
                member.email,
                f"fetching {shown} failed ({type(exc).__name__})",
                "a calroulette bug: please report it; it is tried again on the next run",
                kind=ErrorKind.CONNECTION,
            )
        elapsed = time.monotonic() - started
        if isinstance(result, Feed):
            log.info(
                "%s: calendar: %s in %.2f s from %s", member.email, result.status, elapsed, shown
            )
            return result
        if cached is None:
            log.warning("%s", result)
            return result
        age = self.now - cached.confirmed_at
        if age < self.stale_after:
            log.warning(
                "%s: calendar: %s; using the last good copy from %s ago",
                member.email,
                result.what,
                _days(age),
            )
            return Feed(
                member.email,
                cached.body,
                shown,
                cached.confirmed_at,
                FeedStatus.STALE,
                problem=result.message,
                etag=cached.etag,
            )
        error = FetchError(
            member.email,
            f"{result.what}; the last good copy is {_days(age)} old, "
            f"older than stale_days = {self.stale_after.days}",
            result.fix,
            kind=result.kind,
            http_status=result.http_status,
        )
        log.warning("%s", error)
        return error

    def _download(
        self, member: Member, source: str, cached: CachedFeed | None, shown: str, due: Deadline
    ) -> Feed | FetchError:
        email = member.email
        url = source
        if source.lower().startswith("webcal"):
            url = "https://" + source.split("://", 1)[1]
            SECRETS.add(url)
        headers = {}
        if cached is not None:
            if cached.etag:
                headers["If-None-Match"] = cached.etag
            if cached.last_modified:
                headers["If-Modified-Since"] = cached.last_modified
        limits = self.limits
        try:
            with self.client.get(url, headers) as fetched:
                response = fetched.response
                status = response.status
                if status == 304 and cached is not None:
                    keep_alive(response)
                    self.cache.confirm(source, cached, self.now)
                    return Feed(
                        email,
                        cached.body,
                        shown,
                        self.now,
                        FeedStatus.NOT_MODIFIED,
                        etag=cached.etag,
                    )
                if status != 200:
                    return FetchError(
                        email,
                        f"HTTP {status} from {shown}",
                        hints.status_hint(url, status),
                        kind=ErrorKind.HTTP,
                        http_status=status,
                    )
                body = _read_body(response, email, shown, limits, due)
                if isinstance(body, FetchError):
                    return body
                keep_alive(response)
                etag = response.headers.get("ETag")
                last_modified = response.headers.get("Last-Modified")
        except AddressRefused as refused:
            return failures.refused(email, shown, refused, due)
        except BadRedirect:
            return FetchError(
                email,
                f"redirected to something that is not an address from {shown}",
                "open the address in a browser, then copy the final iCal address",
                kind=ErrorKind.REDIRECTS,
            )
        except (requests.exceptions.RequestException, Urllib3Error) as exc:
            if due.expired:
                return failures.too_slow(email, shown, due)
            return failures.failure(email, shown, exc, limits)
        not_ics = sniff(body)
        if not_ics is not None:
            return FetchError(
                email,
                f"{not_ics.what.rstrip(';')}, from {shown}",
                hints.body_hint(url, not_ics.kind, not_ics.fix),
                kind=ErrorKind.NOT_ICALENDAR,
            )
        if self.validate is not None:
            try:
                self.validate(body, email)
            except FeedError as error:
                what, fix = hints.split_fix(error.message)
                return FetchError(email, what, fix, kind=ErrorKind.PARSE)
        self.cache.store(
            source, body, etag=etag, last_modified=last_modified, confirmed_at=self.now
        )
        return Feed(email, body, shown, self.now, FeedStatus.FRESH, etag=etag)


def _read_body(
    response: BaseHTTPResponse, email: str, shown: str, limits: FetchLimits, due: Deadline
) -> bytes | FetchError:
    """Stream the (decompressed) body, enforcing the size cap and the feed's deadline as it
    comes.

    ``read1`` returns whatever has arrived, and the watchdog cuts the connection when the
    deadline passes, so a server trickling a byte at a time cannot hold a thread past it; the
    cap counts decompressed bytes (a gzip bomb stops too).
    """
    too_large = FetchError(
        email,
        f"larger than {_size(limits.max_bytes)}: {shown}",
        "use a calendar with less history, or a dedicated calendar for availability",
        kind=ErrorKind.TOO_LARGE,
    )
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        return too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = response.read1(_CHUNK, decode_content=True)
        except (DecodeError, ProtocolError, OSError) as exc:
            if due.expired:
                return failures.too_slow(email, shown, due)
            if not isinstance(exc, DecodeError | ProtocolError):
                raise
            return failures.broken(email, shown, exc)
        if due.expired or (chunk and due.remaining() < 0):
            return failures.too_slow(email, shown, due)
        if not chunk:
            break
        size += len(chunk)
        if size > limits.max_bytes:
            return too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _read_file(member: Member, now: dt.datetime) -> Feed | FetchError:
    path = Path(member.calendar)
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        return FetchError(
            member.email, f"file not found: {path}", "check the path", kind=ErrorKind.FILE
        )
    except IsADirectoryError:
        return FetchError(
            member.email,
            f"{path} is a folder, not a calendar file",
            "give the path of the .ics file itself",
            kind=ErrorKind.FILE,
        )
    except OSError as exc:
        return FetchError(
            member.email,
            f"cannot read {path}: {exc.strerror}",
            "check the file's permissions",
            kind=ErrorKind.FILE,
        )
    try:
        modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except OSError:
        modified = now
    return Feed(member.email, body, str(path), min(modified, now), FeedStatus.LOCAL)


def _size(limit: int) -> str:
    """``20 MB``, ``256 KB``: the cap as people write it."""
    mb = 1024 * 1024
    return f"{limit // mb} MB" if limit >= mb else f"{limit // 1024} KB"


def _days(age: dt.timedelta) -> str:
    """``3 days``, ``5 hours``, ``less than an hour``: also for a copy whose time is after now
    (the clock went back), never a negative age."""
    days = age.total_seconds() / 86400
    if age < dt.timedelta(hours=1):
        return "less than an hour"
    if days < 1:
        hours = round(age.total_seconds() / 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{days:.0f} day{'s' if round(days) != 1 else ''}"


def _progress(items: Iterable[T], total: int, enabled: bool | None) -> Iterator[T]:
    """Wrap ``items`` in a progress bar on stderr (only on a terminal, never with --quiet)."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    if enabled is None:
        enabled = (
            total > 1
            and console.is_terminal
            and not console.is_dumb_terminal
            and sys.stderr.isatty()
            and log.getEffectiveLevel() <= logging.WARNING
        )
    if not enabled:
        yield from items
        return
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("fetching calendars", total=total)
        for item in items:
            yield item
            bar.advance(task)
