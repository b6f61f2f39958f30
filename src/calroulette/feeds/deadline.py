"""One deadline per feed, from the first connection to the last byte of the body.

A socket's timeout bounds one wait: a server that sends its headers one byte every five seconds
never lets a read timeout of 30 s expire, and the whole response takes as long as it likes.
So each feed's fetch runs under a :class:`Deadline` and one :class:`Watchdog` thread per run
shuts down the sockets of every feed whose deadline has passed (``shutdown`` wakes a thread
blocked reading it). Resolving and connecting are bounded by the time left
(:mod:`.client`), retries stop when it is spent (:mod:`.retry`), and the body loop checks it
too (:mod:`.fetch`).

The deadline a connection belongs to is the one of the thread that opens it
(:func:`current`): each feed is fetched in one thread from start to end, and a connection
taken from the pool was opened, and checked, for an earlier feed's fetch.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from types import TracebackType

_local = threading.local()


class Deadline:
    """The time one feed may take; ``expired`` once the watchdog has cut its sockets.

    ``redirects``: where the fetch was redirected, in order (for the messages, redacted)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.stop = time.monotonic() + seconds
        self.expired = False
        self.redirects: list[str] = []
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []

    def remaining(self) -> float:
        return self.stop - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        """Cut ``sock`` when the deadline passes. A duplicate of it is kept: shutting down the
        duplicate cuts the connection however the original was wrapped (TLS) or closed."""
        try:
            copy = sock.dup()
        except OSError:
            return
        with self._lock:
            self._sockets.append(copy)
            expired = self.expired
        if expired:
            _cut(copy)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _cut(sock)

    def close(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()


def current() -> Deadline | None:
    """The deadline of the feed this thread is fetching, if any."""
    deadline: Deadline | None = getattr(_local, "deadline", None)
    return deadline


class Watchdog:
    """One thread that expires deadlines when they pass; a context manager for one run."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def deadline(self, seconds: float) -> Iterator[Deadline]:
        """Run the block under a new deadline of ``seconds``, as this thread's :func:`current`."""
        deadline = Deadline(seconds)
        with self._wake:
            heapq.heappush(self._heap, (deadline.stop, next(self._order), deadline))
            self._wake.notify()
        previous = current()
        _local.deadline = deadline
        try:
            yield deadline
        finally:
            _local.deadline = previous
            deadline.close()

    def _run(self) -> None:
        with self._wake:
            while not self._closed:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    _, _, due = heapq.heappop(self._heap)
                    due.expire()  # takes only the deadline's own lock, never ours
                wait = self._heap[0][0] - now if self._heap else None
                self._wake.wait(wait)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._heap.clear()
            self._wake.notify()
        self._thread.join()

    def __enter__(self) -> Watchdog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
