"""What runs in a worker process of :class:`.reader.FreeTimeReader`: one member's feed read
into a record (plain data: the free time, or the member's error), within :class:`ReadLimits`.

A calendar decides how much work reading it takes: one busy event repeating every second with no
end took 190 s and 3.7 GB; a VTIMEZONE whose parts repeat every minute grows without end. The
libraries that parse and expand cannot be told to stop, so the bounds are put on the worker from
the outside (:mod:`calroulette.workers`): its address space, set when it starts, and the CPU
time of each member's reading. Whatever goes wrong, a bound, a MemoryError or any exception, is
returned as that member's error record, naming them, never raised.

**The horizon.** A weekly job asks for next week's free time next week, mostly from the same
bodies; so a worker also computes the weeks after the one asked (``horizon`` weeks in all), for
the reader to cache. The asked week comes first, exactly as it is read alone (the same pruned
body, parse and expansion) under the member's whole CPU budget; the other weeks only then,
from one expansion across them (:func:`.horizon.free_times`), under what is left of that budget.
Whatever goes wrong with them (the budget, memory, an error, a week the member cannot be read
in) only leaves those weeks out: never the asked week's answer, and never more than the budget.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from dataclasses import dataclass
from typing import Any

from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.timeutil import IsoWeek
from calroulette.workers import OverBudget, cpu_budget, exit_with_parent, limit_memory

from ._prune import prune_feeds
from .horizon import free_times
from .parse import parse_calendar
from .rules import FreeTime, free_time

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
    horizon: int = 1,
) -> None:
    """A worker's set-up: leave with ``parent`` (the reading process's pid), bound memory."""
    exit_with_parent(parent)
    limit_memory(limits.memory_bytes)
    _WORKER["community"] = community
    _WORKER["week"] = week
    _WORKER["members"] = {m.email: m for m in community.members}
    _WORKER["ignore_uids"] = ignore_uids
    _WORKER["limits"] = limits
    _WORKER["horizon"] = horizon


def work(body: bytes, email: str, horizon: int | None = None) -> Record:
    """``email``'s free time from ``body``, in this worker's week and ``horizon`` weeks from it
    (default: the worker's)."""
    member = _WORKER["members"][email]
    limits: ReadLimits = _WORKER["limits"]
    return read(
        body,
        member,
        _WORKER["community"],
        _WORKER["week"],
        _WORKER["ignore_uids"],
        limits,
        _WORKER["horizon"] if horizon is None else horizon,
    )


def read(
    body: bytes,
    member: Member,
    community: Community,
    week: IsoWeek,
    ignore_uids: frozenset[str],
    limits: ReadLimits,
    horizon: int = 1,
) -> Record:
    """:func:`.rules.free_time` on the pruned body, within ``limits``, as a record that also
    says whether an error came from parsing (what ``validate`` rejects) or after. Whatever
    goes wrong is the member's error.

    With a ``horizon`` above 1, a good answer also carries ``"weeks"``: the records of as many
    of the ``horizon - 1`` weeks after ``week`` as could be read in what is left of the CPU
    budget (see the module's docstring), by week (``"2026-W50"``)."""
    notes: list[str] = []
    phase = ["parse"]  # the last is where it stopped: _free appends as it goes
    started = time.process_time()
    later = [week.shifted(k) for k in range(1, horizon)]
    reading = _Reading(body, later, community)
    try:
        with cpu_budget(limits.cpu_seconds):
            answer = _free(reading, member, community, week, ignore_uids, notes, phase)
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
    if "error" in answer or not later:
        return answer
    left = limits.cpu_seconds - (time.process_time() - started)
    weeks = _later(reading, member, community, ignore_uids, left)
    if weeks:
        answer["weeks"] = weeks
    return answer


class _Reading:
    """One member's body, pruned in one pass for the asked week and for the weeks after it;
    what the later weeks read: the asked week's calendar when both prunings kept the same
    events, else the body pruned for them (parsed only then)."""

    def __init__(self, body: bytes, later: list[IsoWeek], community: Community) -> None:
        self.body = body
        self.later = later
        self.zone = community.timezone
        self.wider: bytes | None = None  # pruned for the later weeks, when it differs
        self.calendar: Any = None  # icalendar.Calendar: the asked week's, when the same
        self.notes: list[str] = []  # what parsing that calendar noted

    def pruned(self, week: IsoWeek) -> bytes:
        """The body pruned for ``week`` (and, in the same pass, for the later weeks)."""
        start, end = week.bounds(self.zone)
        if not self.later:
            return prune_feeds(self.body, [(start.date(), end.date())])[0]
        last = self.later[-1].bounds(self.zone)[1]
        body, wider = prune_feeds(
            self.body, [(start.date(), end.date()), (start.date(), last.date())]
        )
        self.wider = None if wider == body else wider
        return body

    def parsed(self, calendar: Any, notes: list[str]) -> None:
        """The asked week's calendar, kept for the later weeks when it has their events."""
        if self.later and self.wider is None:
            self.calendar, self.notes = calendar, list(notes)


def _free(
    reading: _Reading,
    member: Member,
    community: Community,
    week: IsoWeek,
    ignore_uids: frozenset[str],
    notes: list[str],
    phase: list[str],
) -> Record:
    body = reading.pruned(week)
    try:
        calendar = parse_calendar(body, member.email, notes)
        reading.parsed(calendar, notes)
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
    return _record(result, notes)


def _later(
    reading: _Reading,
    member: Member,
    community: Community,
    ignore_uids: frozenset[str],
    seconds: float,
) -> dict[str, Record]:
    """The records of the weeks after the asked one, read in at most ``seconds`` of CPU time;
    those that could not be (over the budget or memory, an error of any kind) are left out."""
    if seconds <= 0:
        return {}
    out: dict[str, Record] = {}
    try:
        with cpu_budget(seconds):
            notes = reading.notes
            calendar = reading.calendar
            if calendar is None:
                notes = []
                body = reading.wider if reading.wider is not None else reading.body
                calendar = parse_calendar(body, member.email, notes)
            found = free_times(
                calendar,
                member,
                reading.later,
                keyword=community.keyword_for(member),
                week_zone=community.timezone,
                ignore_uids=ignore_uids,
            )
            for week, result in found.items():
                if isinstance(result, FreeTime):  # an error is found again when asked for
                    out[str(week)] = _record(result, notes)
    except OverBudget:
        log.debug("%s: free time of later weeks: over the CPU budget", member.email)
        return {}
    except Exception as error:  # noqa: BLE001 - MemoryError too: only these weeks are lost
        log.debug("%s: free time of later weeks: %s", member.email, type(error).__name__)
        return {}
    return out


def _record(result: FreeTime, notes: list[str]) -> Record:
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
