"""What runs in a worker process of :class:`.reader.FreeTimeReader`: one member's feed read
into a record (plain data: the free time, or the member's error), within :class:`ReadLimits`.

A calendar decides how much work reading it takes: one busy event repeating every second with no
end took 190 s and 3.7 GB; a VTIMEZONE whose parts repeat every minute grows without end. The
libraries that parse and expand cannot be told to stop, so the bounds are put on the worker from
the outside (:mod:`calroulette.workers`): its address space, set when it starts, and the CPU
time of each member's reading. Whatever goes wrong, a bound, a MemoryError or any exception, is
returned as that member's error record, naming them, never raised.
"""

from __future__ import annotations

import logging
import multiprocessing
from dataclasses import dataclass
from typing import Any

from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.timeutil import IsoWeek
from calroulette.workers import OverBudget, cpu_budget, exit_with_parent, limit_memory

from ._prune import prune_feed
from .parse import parse_calendar
from .rules import free_time

log = logging.getLogger(__name__.replace("._worker", ".reader"))

CPU_SECONDS = 20.0  # of CPU time to read one member's feed (a heavy one takes ~1 s)
WORKER_MEMORY = 2 * 1024**3  # bytes of address space for one worker process

# What a worker sends back, and what the cache holds: plain data (JSON, picklable).
Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """What reading one member's feed may cost: ``cpu_seconds`` of CPU time, in a worker of at
    most ``memory_bytes`` (``None``: unbounded). :meth:`of` gives a community's; the tests
    shrink them."""

    cpu_seconds: float = CPU_SECONDS
    memory_bytes: int | None = WORKER_MEMORY

    @classmethod
    def of(cls, community: Community) -> ReadLimits:
        """At most ``fetch_timeout`` CPU seconds too: the time one calendar may take."""
        return cls(cpu_seconds=min(CPU_SECONDS, float(community.fetch_timeout)))


def context() -> Any:
    """``forkserver`` where there is one: a worker is forked from a server that loaded the
    parsing libraries once (~10 ms), not started afresh (~0.5 s); else ``spawn``."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])  # icalendar and the rest, loaded once
        return context
    return multiprocessing.get_context("spawn")


_WORKER: dict[str, Any] = {}


def start_worker(
    community: Community,
    week: IsoWeek,
    ignore_uids: frozenset[str],
    limits: ReadLimits,
    parent: int,
) -> None:
    """A worker's set-up: leave with ``parent`` (the reading process's pid), bound memory."""
    exit_with_parent(parent)
    limit_memory(limits.memory_bytes)
    _WORKER["community"] = community
    _WORKER["week"] = week
    _WORKER["members"] = {m.email: m for m in community.members}
    _WORKER["ignore_uids"] = ignore_uids
    _WORKER["limits"] = limits


def work(body: bytes, email: str) -> Record:
    member = _WORKER["members"][email]
    limits: ReadLimits = _WORKER["limits"]
    return read(
        body,
        member,
        _WORKER["community"],
        _WORKER["week"],
        _WORKER["ignore_uids"],
        limits,
    )


def read(
    body: bytes,
    member: Member,
    community: Community,
    week: IsoWeek,
    ignore_uids: frozenset[str],
    limits: ReadLimits,
) -> Record:
    """:func:`.rules.free_time` on the pruned body, within ``limits``, as a record that also
    says whether an error came from parsing (what ``validate`` rejects) or after. Whatever
    goes wrong is the member's error."""
    notes: list[str] = []
    phase = ["parse"]  # the last is where it stopped: _free appends as it goes
    try:
        with cpu_budget(limits.cpu_seconds):
            return _free(body, member, community, week, ignore_uids, notes, phase)
    except OverBudget:
        return record(
            FeedError(
                member.email,
                "calendar",
                f"reading it took more than {limits.cpu_seconds:g} s of computing, so it was "
                "stopped (an event that repeats every second or minute, or a time zone that "
                "changes that often, takes too long to read: make it repeat less often, or "
                "end it)",
            ),
            phase[-1],
        )
    except MemoryError:
        return record(
            FeedError(
                member.email,
                "calendar",
                f"reading it needed more than {_size(limits.memory_bytes)} of memory, so it was "
                "stopped (an event that repeats every second or minute fills memory: make it "
                "repeat less often, or end it)",
            ),
            phase[-1],
        )
    except Exception as error:  # noqa: BLE001 - the member's error, whatever it was
        return failed(member.email, error, phase[-1])


def _free(
    body: bytes,
    member: Member,
    community: Community,
    week: IsoWeek,
    ignore_uids: frozenset[str],
    notes: list[str],
    phase: list[str],
) -> Record:
    start, end = week.bounds(community.timezone)
    body = prune_feed(body, start.date(), end.date())
    try:
        calendar = parse_calendar(body, member.email, notes)
        phase.append("free time")
        result = free_time(
            calendar,
            member,
            week,
            keyword=community.keyword_for(member),
            week_zone=community.timezone,
            ignore_uids=ignore_uids,
        )
    except FeedError as error:
        return record(error, phase[-1])
    return {
        "free": [[span.start.isoformat(), span.end.isoformat()] for span in result.free],
        "availability_events": result.availability_events,
        "busy_events": result.busy_events,
        "warnings": list(dict.fromkeys([*notes, *result.warnings])),
    }


def record(error: FeedError, phase: str) -> Record:
    return {"error": [error.member, error.stage, error.message], "phase": phase}


def failed(email: str, error: BaseException, phase: str = "parse") -> Record:
    """Any other exception, as the member's error: its type only (its text may quote the
    feed), logged with its traceback for a bug report."""
    log.debug("%s: free time: %s", email, type(error).__name__, exc_info=error)
    return record(
        FeedError(
            email,
            "calendar",
            f"reading it failed ({type(error).__name__}): a calroulette bug (please report it; "
            "the other members are read as usual)",
        ),
        phase,
    )


def _size(limit: int | None) -> str:
    return "?" if limit is None else f"{limit / 1024**2:.0f} MB"
