"""What every worker process of ours does first: leave when the process that started it dies.

calroulette reads feeds in ``spawn`` worker processes (:mod:`calroulette.availability.reader`)
and renders rounds in forked or spawned ones (:func:`calroulette.delivery.render_round`). A
worker waits for work on a pipe that it holds both ends of, so when its parent is killed
(SIGKILL, the OOM killer, a cron timeout's SIGTERM) it never sees the pipe close and would wait
forever, ~60 MB each, two more with every killed run. A daemon thread notices the parent is
gone (the worker is re-parented) and ends the worker.

A worker that reads calendars is also bounded (:func:`limit_memory`, :func:`cpu_budget`): what
one calendar makes it do must cost at most that calendar's member.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

CHECK_EVERY = 0.5  # seconds


def exit_with_parent(parent: int | None = None) -> None:
    """In a worker process: exit as soon as the process that started it is gone.

    ``parent``: that process's pid, when it is not this one's parent (a ``forkserver`` worker
    is the child of the fork server, which outlives a killed parent while its workers do)."""
    started = os.getppid()

    def gone() -> bool:
        if os.getppid() != started:
            return True  # re-parented: the process that started us is gone
        if parent is None:
            return False
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return _zombie(parent)

    def watch() -> None:
        while not gone():
            time.sleep(CHECK_EVERY)
        os._exit(1)  # no clean-up to run: the work was the parent's, and it is gone

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _zombie(pid: int) -> bool:
    """Killed but not yet reaped (Linux: /proc; elsewhere never known)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return stat.rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


# --- bounds on one worker and on one task ------------------------------------------------------
# A calendar decides how much work reading it takes (an event repeating every second, a time
# zone changing every minute), and nothing inside icalendar or recurring-ical-events can be told
# to stop. So the bounds are put on the worker process from the outside: its address space
# (a MemoryError past it) and each task's CPU time (OverBudget past it, then the kernel's
# SIGXCPU should the task not return to Python code).

_GRACE = 5.0  # CPU seconds past the budget before the kernel ends the process
_active = False


class OverBudget(BaseException):
    """A task in this worker used up its CPU time."""


def limit_memory(limit: int | None) -> None:
    """In a worker process: an address space of at most ``limit`` bytes (``None``: unbounded).
    Past it, allocations fail with MemoryError, in this process only."""
    if limit is None:
        return
    try:
        import resource
    except ImportError:  # not on this platform
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


@contextlib.contextmanager
def cpu_budget(seconds: float) -> Iterator[None]:
    """In a worker process's main thread: raise :class:`OverBudget` in the block once it has
    used ``seconds`` of CPU time (and again every quarter second, should code catch it), and
    end the process should the block still run ``_GRACE`` s of CPU time later."""
    global _active
    if not hasattr(signal, "setitimer"):  # not on this platform
        yield
        return
    previous = signal.signal(signal.SIGPROF, _over_budget)
    limits = _cpu_backstop(seconds + _GRACE)
    _active = True
    signal.setitimer(signal.ITIMER_PROF, seconds, 0.25)
    try:
        yield
    finally:
        _active = False
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
        _restore_cpu_limit(limits)


def _over_budget(signum: int, frame: object) -> None:
    if _active:
        raise OverBudget


def _cpu_backstop(seconds: float) -> tuple[int, int] | None:
    try:
        import resource
    except ImportError:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    stop = int(usage.ru_utime + usage.ru_stime + seconds) + 1
    if hard != resource.RLIM_INFINITY:
        stop = min(stop, hard)
    if soft == resource.RLIM_INFINITY or stop < soft:
        resource.setrlimit(resource.RLIMIT_CPU, (stop, hard))
    return soft, hard


def _restore_cpu_limit(limits: tuple[int, int] | None) -> None:
    if limits is not None:
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, limits)
